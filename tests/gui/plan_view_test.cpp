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

}  // namespace

class PlanViewTest : public QObject {
  Q_OBJECT
 private slots:
  void whatChangesFirstThenTheKernel() {
    QTemporaryDir dir;
    StandInDaemon daemon(dir.filePath(QStringLiteral("s")));
    daemon.setStatus({{"revision", 3}, {"policy_hash", "h3"}, {"kinds", QJsonArray{}}, {"pending", QJsonValue()}});
    QJsonObject review{{"known", true}, {"text", kReviewText}, {"changed", true}};
    daemon.on(QStringLiteral("plan"), [&](const QJsonObject&) { return planReply(review); });
    MainWindow w;
    w.resize(1366, 768);
    w.show();
    Endpoint e;
    e.socketPath = dir.filePath(QStringLiteral("s"));
    w.connectTo(e);
    QTRY_VERIFY_WITH_TIMEOUT(!w.session()->status().isEmpty(), 5000);

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
};

QTEST_MAIN(PlanViewTest)
#include "plan_view_test.moc"
