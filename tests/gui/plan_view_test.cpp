// The Plan view in policy terms: what changes (the reply's review: the change and its effect
// on flows) above the kernel's nft commands, long lines wrapped, an unknown applied policy
// said as such; against the stand-in daemon (tests/gui/stand_in_daemon.h) answering `plan`
// with the shape bulwarkd sends (gateway/include/bulwark/gateway/protocol.h).
#include <QJsonArray>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSplitter>
#include <QTemporaryDir>
#include <QtTest>

#include "app/main_window.h"
#include "control/session.h"
#include "stand_in_daemon.h"
#include "views/plan_view.h"

using namespace bulwark::console;
using testing::StandInDaemon;

namespace {

const char* kReviewText =
    "Policy change revision 3 (running) → proposed\n\n"
    "In policy terms (1):\n"
    "  changed rule web-to-db at campus.yaml:109\n"
    "      services: +ssh (now [mysql, ssh])\n\n"
    "Effect:\n"
    "  newly allowed by web-to-db at campus.yaml:109 (was: no rule (default drop of app → db)):\n"
    "    web1, web2 → mysql1, mysql2 ssh (tcp/22)\n";

QJsonObject planReply(const QJsonObject& review) {
  const QString longRule = QStringLiteral(
      "replace rule inet bulwark app__db handle <rule 1> meta nfproto ipv4 ip saddr @web-to-db_saddr4 ip daddr "
      "@web-to-db_daddr4 meta l4proto . th dport @web-to-db_svc jump rule_web-to-db comment \"campus.yaml:109 "
      "web-to-db\"");
  QJsonObject fw{{"kind", "firewall"},
                 {"in_sync", false},
                 {"incremental", false},
                 {"changes", QJsonArray{"set 'web-to-db_svc' added"}},
                 {"commands", QJsonArray{"add element inet bulwark web-to-db_svc { tcp . 22 }", longRule}}};
  QJsonObject r{{"ok", true}, {"in_sync", false}, {"policy_hash", "h4"}, {"kinds", QJsonArray{fw}}, {"warnings", QJsonArray{}}};
  if (!review.isEmpty()) r["review"] = review;
  return r;
}

QJsonObject revision3() {
  return {{"revision", 3}, {"policy_hash", "h3"}, {"kinds", QJsonArray{}}, {"pending", QJsonValue()}};
}

// The console at 1366x768, connected to the stand-in daemon at `socket` (its status read).
bool connectAtLaptopSize(MainWindow& w, const QString& socket) {
  w.resize(1366, 768);
  w.show();
  Endpoint e;
  e.socketPath = socket;
  w.connectTo(e);
  return QTest::qWaitFor([&] { return !w.session()->status().isEmpty(); }, 5000);
}

}  // namespace

class PlanViewTest : public QObject {
  Q_OBJECT
 private slots:
  void whatChangesFirstThenTheKernel() {
    QTemporaryDir dir;
    StandInDaemon daemon(dir.filePath(QStringLiteral("s")));
    daemon.setStatus(revision3());
    QJsonObject review{{"known", true}, {"text", kReviewText}, {"changed", true}};
    daemon.on(QStringLiteral("plan"), [&](const QJsonObject&) { return planReply(review); });
    MainWindow w;
    QVERIFY(connectAtLaptopSize(w, dir.filePath(QStringLiteral("s"))));

    auto* plan = w.planView();
    w.tabs()->setCurrentWidget(plan);
    QSignalSpy shown(plan, &PlanView::planShown);
    plan->requestPlan();
    QVERIFY(shown.wait(5000));
    // The request asks for the review (no nft_only).
    const auto& req = daemon.requests().constLast();
    QCOMPARE(req.value(QStringLiteral("op")).toString(), QStringLiteral("plan"));
    QVERIFY(!req.contains(QStringLiteral("nft_only")));

    const auto effect = plan->effectText()->toPlainText();
    QVERIFY2(effect.contains(QStringLiteral("newly allowed by web-to-db at campus.yaml:109")), qPrintable(effect));
    QVERIFY2(effect.contains(QStringLiteral("web1, web2 → mysql1, mysql2 ssh (tcp/22)")), qPrintable(effect));
    QVERIFY(!effect.contains(QStringLiteral("add element")));
    const auto kernel = plan->planText()->toPlainText();
    QVERIFY2(kernel.contains(QStringLiteral("add element inet bulwark web-to-db_svc { tcp . 22 }")), qPrintable(kernel));
    // What changes is above the kernel's commands, and both panes wrap long lines.
    auto* split = plan->findChild<QSplitter*>(QStringLiteral("planSplit"));
    QVERIFY(split);
    QCOMPARE(split->widget(0), static_cast<QWidget*>(plan->effectText()));
    QCOMPARE(split->widget(1), static_cast<QWidget*>(plan->planText()));
    QTRY_VERIFY(plan->effectText()->isVisible());
    QVERIFY(plan->effectText()->mapTo(plan, QPoint(0, 0)).y() < plan->planText()->mapTo(plan, QPoint(0, 0)).y());
    QCOMPARE(plan->planText()->lineWrapMode(), QPlainTextEdit::WidgetWidth);
    QCOMPARE(plan->planText()->horizontalScrollBar()->maximum(), 0);  // nothing cut off to the right

    // The applied policy unknown: said, with the reason; the kernel plan still shown.
    review = QJsonObject{{"known", false}, {"reason", "no revision applied yet"}};
    plan->requestPlan();
    QVERIFY(shown.wait(5000));
    QVERIFY2(plan->effectText()->toPlainText().contains(QStringLiteral("unknown: no revision applied yet")),
             qPrintable(plan->effectText()->toPlainText()));
    QVERIFY(plan->planText()->toPlainText().contains(QStringLiteral("add element")));

    // A daemon that sends no review (older bulwarkd): said too.
    review = QJsonObject{};
    plan->requestPlan();
    QVERIFY(shown.wait(5000));
    QVERIFY2(plan->effectText()->toPlainText().contains(QStringLiteral("the kernel plan only")),
             qPrintable(plan->effectText()->toPlainText()));
  }

  // Apply asks once, naming what it changes; no means nothing is sent; yes applies exactly
  // the text that was planned, and the review stays, headed by the revision it became.
  void applyAsksOnceNamingTheChange() {
    QTemporaryDir dir;
    StandInDaemon daemon(dir.filePath(QStringLiteral("s")));
    daemon.setStatus(revision3());
    const QJsonObject review{{"known", true}, {"text", kReviewText}, {"changed", true}};
    bool inSync = false;
    daemon.on(QStringLiteral("plan"), [&](const QJsonObject&) {
      if (!inSync) return planReply(review);
      return QJsonObject{
          {"ok", true}, {"in_sync", true}, {"kinds", QJsonArray{QJsonObject{{"kind", "firewall"}, {"in_sync", true}}}}};
    });
    daemon.on(QStringLiteral("apply"), [&](const QJsonObject&) {
      return QJsonObject{{"ok", true}, {"changed", true}, {"revision", 4}, {"summary", "applied"}};
    });
    MainWindow w;
    QVERIFY(connectAtLaptopSize(w, dir.filePath(QStringLiteral("s"))));
    auto* plan = w.planView();
    w.tabs()->setCurrentWidget(plan);

    QStringList asked;
    bool answer = false;
    plan->setApplyPrompt([&](const QString&, const QString& text) {
      asked << text;
      return answer;
    });
    auto ops = [&] {
      QStringList out;
      for (const auto& r : daemon.requests()) out << r.value(QStringLiteral("op")).toString();
      return out;
    };
    QSignalSpy shown(plan, &PlanView::planShown);

    // No: planned and asked, nothing applied.
    plan->applyAsking();
    QVERIFY(shown.wait(5000));
    QTRY_COMPARE(asked.size(), 1);
    QVERIFY2(asked[0].contains(QStringLiteral("firewall: 1 change(s) as one atomic replacement")), qPrintable(asked[0]));
    QVERIFY2(asked[0].contains(QStringLiteral("web1, web2 → mysql1, mysql2 ssh (tcp/22)")), qPrintable(asked[0]));
    QVERIFY2(asked[0].contains(QStringLiteral("within 120 s")), qPrintable(asked[0]));
    QVERIFY2(!asked[0].contains(QStringLiteral("Policy change revision 3")), qPrintable(asked[0]));  // no title line
    QVERIFY(!ops().contains(QStringLiteral("apply")));

    // Yes: the planned sources are applied with the confirm, once.
    answer = true;
    QSignalSpy applied(plan, &PlanView::applied);
    plan->applyAsking();
    QVERIFY(applied.wait(5000));
    QCOMPARE(asked.size(), 2);
    QCOMPARE(ops().count(QStringLiteral("apply")), 1);
    QJsonObject planReq, applyReq;
    for (const auto& r : daemon.requests()) {
      if (r.value(QStringLiteral("op")) == QStringLiteral("plan")) planReq = r;
      if (r.value(QStringLiteral("op")) == QStringLiteral("apply")) applyReq = r;
    }
    QVERIFY(applyReq.value(QStringLiteral("sources")).isArray());
    QCOMPARE(applyReq.value(QStringLiteral("sources")), planReq.value(QStringLiteral("sources")));
    QCOMPARE(applyReq.value(QStringLiteral("confirm")).toInt(), 120);
    const auto effect = plan->effectText()->toPlainText();
    QVERIFY2(effect.startsWith(QStringLiteral("Applied as revision 4")), qPrintable(effect));
    QVERIFY2(effect.contains(QStringLiteral("web1, web2 → mysql1, mysql2 ssh (tcp/22)")), qPrintable(effect));

    // In sync: nothing to ask, nothing applied.
    inSync = true;
    plan->applyAsking();
    QVERIFY(shown.wait(5000));
    QTest::qWait(100);
    QCOMPARE(asked.size(), 2);
    QCOMPARE(ops().count(QStringLiteral("apply")), 1);
    QCOMPARE(plan->stateText(), QStringLiteral("in sync: nothing to apply"));
  }

  void applyQuestionIsCapped() {
    QStringList many{QStringLiteral("Policy change A → B"), QString()};
    for (int i = 0; i < 40; ++i) many << QStringLiteral("line %1").arg(i);
    QJsonObject r{{"kinds", QJsonArray{QJsonObject{{"kind", "links"}, {"in_sync", true}}}},
                  {"review", QJsonObject{{"known", true}, {"text", many.join(QLatin1Char('\n'))}}}};
    const QString q = applyQuestion(r, QStringLiteral("firewall"), 30, 10);
    QVERIFY2(q.contains(QStringLiteral("firewall part alone")), qPrintable(q));
    QVERIFY2(q.contains(QStringLiteral("links: in sync")), qPrintable(q));
    QVERIFY2(q.contains(QStringLiteral("line 9\n… 30 more line(s)")), qPrintable(q));
    QVERIFY(!q.contains(QStringLiteral("line 10")));
  }
};

QTEST_MAIN(PlanViewTest)
#include "plan_view_test.moc"
