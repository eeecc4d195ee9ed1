// Health in the console: the state bar shows each part the daemon's `status` reports with its
// state and error, amber on any error; drift repairs and rollbacks show as they happen (bar,
// History's events); one countdown of a pending confirm ticks in the bar and the Plan view
// alike; the words after confirm, Roll back and the confirm timeout. Against the stand-in
// daemon (tests/gui/stand_in_daemon.h), which answers `status` from what the test sets and
// pushes events as bulwarkd does.
#include <QComboBox>
#include <QJsonArray>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "app/main_window.h"
#include "control/gateway_health.h"
#include "control/session.h"
#include "policy/policy_document.h"
#include "stand_in_daemon.h"
#include "views/history_view.h"
#include "views/plan_view.h"
#include "views/state_bar.h"

using namespace bulwark::console;
using testing::StandInDaemon;

namespace {

QJsonObject kind(const char* name, const char* state, const char* error = "") {
  return {{"kind", name}, {"state", state}, {"last_error", error}};
}

QJsonObject healthyStatus(int revision, QJsonValue pending = QJsonValue()) {
  return {{"revision", revision},
          {"policy_hash", QStringLiteral("h%1").arg(revision)},
          {"policy_error", ""},
          {"kinds", QJsonArray{kind("firewall", "ok"), kind("links", "ok"), kind("vpn", "ok")}},
          {"pending", pending}};
}

QJsonObject pending(int revision, int secondsLeft) { return {{"revision", revision}, {"by", "root"}, {"seconds_left", secondsLeft}}; }

int secondsIn(const QString& text) {
  auto m = QRegularExpression(QStringLiteral("(\\d+) s( left|\\b)")).match(text);
  return m.hasMatch() ? m.captured(1).toInt() : -1;
}

// A window connected to a stand-in; the daemon subscribed for events and status arrived.
struct Rig {
  QTemporaryDir dir;
  StandInDaemon daemon{dir.filePath(QStringLiteral("s"))};
  MainWindow w;
  bool connect(const QJsonObject& status) {
    daemon.setStatus(status);
    Endpoint e;
    e.socketPath = dir.filePath(QStringLiteral("s"));
    w.connectTo(e);
    return QTest::qWaitFor([&] { return daemon.subscribers() == 1 && !w.session()->status().isEmpty(); }, 5000);
  }
};

}  // namespace

class GatewayHealthTest : public QObject {
  Q_OBJECT
 private slots:
  void partsFromStatus() {
    auto st = healthyStatus(3);
    st["kinds"] = QJsonArray{kind("firewall", "ok"), kind("links", "error", "no link eth1"), kind("vpn", "error", "charon: connection refused")};
    st["ha"] = QJsonObject{{"role", "MASTER"}, {"sync_link", "down"}, {"split_brain", false}, {"running", true}};
    auto parts = gatewayParts(st);
    QCOMPARE(parts.size(), 4u);
    QCOMPARE(parts[0].name, QStringLiteral("firewall"));
    QVERIFY(!parts[0].bad());
    QCOMPARE(parts[1].error, QStringLiteral("no link eth1"));
    QCOMPARE(parts[2].state, QStringLiteral("error"));
    QCOMPARE(parts[3].name, QStringLiteral("HA"));
    QCOMPARE(parts[3].state, QStringLiteral("MASTER"));
    QCOMPARE(parts[3].error, QStringLiteral("sync link down"));
    st["policy_error"] = "campus.yaml:3:1: error: x";
    QCOMPARE(gatewayParts(st).front().name, QStringLiteral("policy"));
  }

  void amberWithTheReason() {
    Rig r;
    QVERIFY(r.connect(healthyStatus(3)));
    auto* bar = r.w.stateBar();
    QCOMPARE(bar->health(), StateBar::Health::Green);
    QCOMPARE(bar->partsText(), QStringLiteral("● firewall ok  ·  ● links ok  ·  ● vpn ok"));

    // The VPN's charon went away: the daemon reports it; the next event makes the console ask.
    auto st = healthyStatus(3);
    st["kinds"] = QJsonArray{kind("firewall", "ok"), kind("links", "error", "eth1: no such device"),
                             kind("vpn", "error", "vici: connect /run/charon.vici: Connection refused")};
    r.daemon.setStatus(st);
    QCOMPARE(r.daemon.pushEvent({{"event", "drift-repair-failed"}, {"who", "bulwarkd (drift)"}, {"ok", false},
                                 {"summary", "vpn: 1 foreign change(s), repair failed: vici: connect"}}),
             1);
    QTRY_COMPARE_WITH_TIMEOUT(bar->health(), StateBar::Health::Amber, 5000);
    QVERIFY2(bar->partsText().contains(QStringLiteral("links error: eth1: no such device")), qPrintable(bar->partsText()));
    QVERIFY2(bar->partsText().contains(QStringLiteral("vpn error: vici: connect /run/charon.vici: Connection refused")), qPrintable(bar->partsText()));
    QVERIFY(bar->activityText().contains(QStringLiteral("drift repair FAILED: vpn")));

    // Repaired: green again.
    r.daemon.setStatus(healthyStatus(3));
    r.daemon.pushEvent({{"event", "drift-repaired"}, {"who", "bulwarkd (drift)"}, {"ok", true},
                        {"summary", "firewall: 2 foreign change(s) reverted"}, {"time", "2026-12-06T18:00:00.000Z"}});
    QTRY_COMPARE_WITH_TIMEOUT(bar->health(), StateBar::Health::Green, 5000);
    QVERIFY2(bar->activityText().contains(QStringLiteral("drift repaired: firewall: 2 foreign change(s) reverted")), qPrintable(bar->activityText()));
    // History lists both, newest first.
    auto* events = r.w.historyView()->eventsTable();
    QCOMPARE(events->rowCount(), 2);
    QCOMPARE(events->item(0, 1)->text(), QStringLiteral("drift repaired: firewall: 2 foreign change(s) reverted"));
    QVERIFY(events->item(1, 1)->text().startsWith(QStringLiteral("drift repair FAILED")));
  }

  void oneCountdownTicksEverywhere() {
    Rig r;
    QVERIFY(r.connect(healthyStatus(4, pending(4, 30))));
    auto* bar = r.w.stateBar();
    auto* plan = r.w.planView();
    QTRY_VERIFY_WITH_TIMEOUT(secondsIn(bar->text()) > 0, 5000);
    const int first = secondsIn(bar->text());
    QCOMPARE(secondsIn(plan->stateText()), first);
    QVERIFY(bar->text().contains(QStringLiteral("revision 4 pending confirm")));
    // Both count down, together (one countdown: the Session's), with no status in between.
    QSignalSpy ticks(r.w.session(), &Session::pendingChanged);
    auto statusRequests = [&] {
      return std::count_if(r.daemon.requests().begin(), r.daemon.requests().end(),
                           [](const QJsonObject& q) { return q.value("op").toString() == QStringLiteral("status"); });
    };
    const auto requests = statusRequests();
    QTRY_VERIFY_WITH_TIMEOUT(secondsIn(bar->text()) <= first - 2, 5000);
    QCOMPARE(secondsIn(plan->stateText()), secondsIn(bar->text()));
    QVERIFY(ticks.size() >= 2);
    // The views counted; nobody asked the daemon per tick. Only the Session's own status poll
    // (every kStatusPollMs) may fall in the window, when a loaded machine stretches it past
    // that: fewer status requests than ticks, always (a request per tick would be as many).
    static_assert(Session::kStatusPollMs >= 2000);
    QVERIFY2(statusRequests() - requests < ticks.size(),
             qPrintable(QStringLiteral("%1 status requests for %2 ticks").arg(statusRequests() - requests).arg(ticks.size())));
  }

  void wordsAfterTimeout() {
    Rig r;
    QVERIFY(r.connect(healthyStatus(4, pending(4, 2))));
    QTRY_VERIFY_WITH_TIMEOUT(r.w.planView()->pendingRevision() == 4, 5000);
    r.daemon.setStatus(healthyStatus(3));
    r.daemon.pushEvent({{"event", "rollback"}, {"who", "bulwarkd (confirm timeout)"}, {"revision", 3}, {"ok", true},
                        {"summary", "revision 4 by root was not confirmed in time: restored the previous state"}});
    const QString words = QStringLiteral("revision 4 was not confirmed in time: rolled back to revision 3");
    QTRY_VERIFY_WITH_TIMEOUT(r.w.stateBar()->text().contains(words), 5000);
    QCOMPARE(r.w.planView()->stateText(), words);
    QCOMPARE(r.w.planView()->pendingRevision(), 0);
    // The status the event made the console ask for: the gateway runs revision 3.
    QTRY_VERIFY_WITH_TIMEOUT(r.w.stateBar()->text().contains(QStringLiteral(" · revision 3 · ") + words), 5000);
    QVERIFY(!r.w.stateBar()->text().contains(QStringLiteral("pending")));
    QVERIFY(r.w.historyView()->eventsTable()->item(0, 1)->text().startsWith(QStringLiteral("rolled back (not confirmed in time)")));
  }

  void wordsWhenNoEventSaidHow() {
    // The console missed the event (e.g. reconnected): the revision's record tells.
    Rig r;
    r.daemon.on(QStringLiteral("history"), [](const QJsonObject&) {
      return QJsonObject{{"ok", true}, {"revisions", QJsonArray{QJsonObject{{"revision", 4}, {"status", "rolled-back"}},
                                                                 QJsonObject{{"revision", 3}, {"status", "confirmed"}}}}};
    });
    QVERIFY(r.connect(healthyStatus(4, pending(4, 20))));
    QTRY_VERIFY_WITH_TIMEOUT(r.w.planView()->pendingRevision() == 4, 5000);
    r.daemon.setStatus(healthyStatus(3));
    r.w.session()->refreshStatus();
    QTRY_COMPARE_WITH_TIMEOUT(r.w.planView()->stateText(), QStringLiteral("revision 4 rolled back"), 5000);
  }

  void wordsAfterConfirmAndRollBack() {
    Rig r;
    r.daemon.on(QStringLiteral("apply"), [&](const QJsonObject& req) {
      r.daemon.setStatus(healthyStatus(4, pending(4, req.value("confirm").toInt())));
      return QJsonObject{{"ok", true}, {"changed", true}, {"revision", 4}, {"kinds", QJsonArray{}}};
    });
    r.daemon.on(QStringLiteral("confirm"), [&](const QJsonObject&) {
      r.daemon.setStatus(healthyStatus(4));
      return QJsonObject{{"ok", true}, {"revision", 4}};
    });
    r.daemon.on(QStringLiteral("rollback"), [&](const QJsonObject& req) {
      // bulwarkd re-applies the named revision's policy as a new revision.
      r.daemon.setStatus(healthyStatus(6));
      return QJsonObject{{"ok", true}, {"changed", true}, {"revision", 6}, {"rolled_back_to", req.value("revision")}};
    });
    QVERIFY(r.connect(healthyStatus(3)));
    r.w.document()->setSources({{QString(), QStringLiteral("a.yaml"), QStringLiteral("x: 1\n"), false, {}}});
    auto* plan = r.w.planView();
    auto* bar = r.w.stateBar();

    QSignalSpy applied(plan, &PlanView::applied);
    plan->applyWithConfirm(60);
    QVERIFY(applied.wait(5000));
    QCOMPARE(plan->pendingRevision(), 4);
    QTRY_VERIFY_WITH_TIMEOUT(bar->text().contains(QStringLiteral("revision 4 pending confirm")), 5000);
    QSignalSpy confirmed(plan, &PlanView::confirmed);
    plan->confirmPending();
    QVERIFY(confirmed.wait(5000));
    QCOMPARE(plan->stateText(), QStringLiteral("revision 4 confirmed"));
    QTRY_VERIFY_WITH_TIMEOUT(bar->text().contains(QStringLiteral("· revision 4 · revision 4 confirmed")), 5000);

    // Apply revision 5 and Roll back: back to revision 4's policy, as revision 6.
    r.daemon.on(QStringLiteral("apply"), [&](const QJsonObject& req) {
      r.daemon.setStatus(healthyStatus(5, pending(5, req.value("confirm").toInt())));
      return QJsonObject{{"ok", true}, {"changed", true}, {"revision", 5}, {"kinds", QJsonArray{}}};
    });
    applied.clear();
    plan->applyWithConfirm(60);
    QVERIFY(applied.wait(5000));
    QTRY_VERIFY_WITH_TIMEOUT(bar->text().contains(QStringLiteral("revision 5 pending confirm")), 5000);
    plan->rollBackPending();
    const QString words = QStringLiteral("revision 5 rolled back: the gateway runs revision 6 (the policy of revision 4)");
    QTRY_COMPARE_WITH_TIMEOUT(plan->stateText(), words, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(bar->text().contains(words) && !bar->text().contains(QStringLiteral("pending")), 5000);
    QCOMPARE(plan->pendingRevision(), 0);
  }

  // Issue 22: plan and apply per part. The part selector lists the kinds the daemon's status
  // names; a chosen part goes out as `parts`, "all parts" sends none.
  void chosenPartIsSentAsParts() {
    Rig r;
    QJsonValue planParts, applyParts;
    r.daemon.on(QStringLiteral("plan"), [&](const QJsonObject& req) {
      planParts = req.value(QStringLiteral("parts"));
      return QJsonObject{{"ok", true}, {"in_sync", false}, {"kinds", QJsonArray{}}};
    });
    r.daemon.on(QStringLiteral("apply"), [&](const QJsonObject& req) {
      applyParts = req.value(QStringLiteral("parts"));
      return QJsonObject{{"ok", true}, {"changed", false}, {"summary", "in sync"}, {"kinds", QJsonArray{}}};
    });
    QVERIFY(r.connect(healthyStatus(3)));
    r.w.document()->setSources({{QString(), QStringLiteral("a.yaml"), QStringLiteral("x: 1\n"), false, {}}});
    auto* plan = r.w.planView();
    auto* combo = plan->findChild<QComboBox*>(QStringLiteral("planParts"));
    QVERIFY(combo != nullptr);
    QTRY_COMPARE_WITH_TIMEOUT(combo->count(), 4, 5000);  // all parts, firewall, links, vpn
    QSignalSpy planned(plan, &PlanView::planShown);
    plan->requestPlan();
    QVERIFY(planned.wait(5000));
    QVERIFY(planParts.isUndefined());  // all parts: no `parts`
    plan->setPart(QStringLiteral("firewall"));
    QCOMPARE(plan->part(), QStringLiteral("firewall"));
    plan->requestPlan();
    QVERIFY(planned.wait(5000));
    QCOMPARE(planParts.toArray(), (QJsonArray{QStringLiteral("firewall")}));
    QSignalSpy applied(plan, &PlanView::applied);
    plan->applyWithConfirm(60);
    QVERIFY(applied.wait(5000));
    QCOMPARE(applyParts.toArray(), (QJsonArray{QStringLiteral("firewall")}));
  }
};

QTEST_MAIN(GatewayHealthTest)
#include "gateway_health_test.moc"
