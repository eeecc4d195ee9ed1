// The console's window against a real bulwarkd (started by console_e2e.py in a network
// namespace with campus.yaml): edit rule lb-to-web in the YAML editor (add http) → the plan
// shows it → apply with confirm → Confirm → probe lb1 → web1 (tcp/80 now passes, tcp/8080 as
// before) → the dmz → app traffic series moves → a foreign nft rule shows up as a drift repair
// in the state bar and History. Saves a PNG of every view.
// Environment: BULWARK_E2E_SOCKET, BULWARK_E2E_POLICY (a Git working copy),
// BULWARK_E2E_PROBE (shell command with {port}), BULWARK_E2E_FOREIGN_NFT (shell command adding
// a rule to bulwarkd's table behind its back), BULWARK_E2E_BREAK_LINK (deletes segment
// interface eth1.10 in the gateway), BULWARK_E2E_SCREENSHOTS (a directory).
#include <QPlainTextEdit>
#include <QProcess>
#include <QTabWidget>
#include <QTableWidget>
#include <QLabel>
#include <QtTest>

#include "app/main_window.h"
#include "control/session.h"
#include "e2e_window.h"
#include "policy/policy_document.h"
#include "views/editor_view.h"
#include "views/history_view.h"
#include "views/plan_view.h"
#include "views/state_bar.h"
#include "views/traffic_view.h"
#include "views/tunnels_view.h"

using namespace bulwark::console;

namespace {

using e2e::env;
using e2e::run;

// The probe: true when it connected.
bool probe(int port) { return run(env("BULWARK_E2E_PROBE").replace(QStringLiteral("{port}"), QString::number(port))); }

}  // namespace

class GuiE2eTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    shots_ = e2e::screenshotsDir();
    if (!e2e::openWindow(w_, env("BULWARK_E2E_POLICY"), env("BULWARK_E2E_SOCKET"))) return;
    QVERIFY(w_->stateBar()->text().contains(QStringLiteral("as root")));
    QVERIFY(w_->stateBar()->text().contains(QStringLiteral("role: change")));
    QTRY_VERIFY_WITH_TIMEOUT(w_->document()->analysis() != nullptr, 20000);
  }

  void editPlanApplyConfirmTraffic() {
    // Before: lb1 reaches web1's backend port, not its port 80.
    QVERIFY(probe(8080));
    QVERIFY(!probe(80));

    // Type the change into the editor, as an admin would.
    const QString rule = QStringLiteral("  - name: lb-to-web\n    from: [lb1, lb2]\n    to: [web1, web2]\n    services: [web-backend]");
    e2e::addServiceInEditor(w_.get(), rule, QStringLiteral("http"));
    if (QTest::currentTestFailed()) return;
    QVERIFY(w_->document()->file(0).text.contains(QStringLiteral("services: [web-backend, http]")));
    // Save to the working copy: git diff shows the edit.
    QString err;
    QVERIFY2(w_->document()->save(&err), qPrintable(err));
    QSignalSpy diff(w_->document(), &PolicyDocument::gitDiffReady);
    w_->document()->requestGitDiff();
    QVERIFY(diff.wait(15000));
    QVERIFY2(diff.at(0).at(0).toString().contains(QStringLiteral("+    services: [web-backend, http]")),
             qPrintable(diff.at(0).at(1).toString()));
    grab("policy-editor");

    w_->tabs()->setCurrentIndex(1);
    grab("tables");
    w_->tabs()->setCurrentIndex(2);
    grab("matrix");

    // Plan: the daemon compiles the edited sources; the change to lb-to-web's services shows.
    QVERIFY(e2e::showPlan(w_.get()));
    auto* plan = w_->planView();
    const auto planText = plan->planText()->toPlainText();
    QVERIFY2(planText.contains(QStringLiteral("lb-to-web")) && !planText.contains(QStringLiteral("refused")), qPrintable(planText.left(2000)));
    QVERIFY2(planText.contains(QStringLiteral("tcp . 80")) || planText.contains(QStringLiteral("tcp . http")),
             qPrintable(planText.left(2000)));
    // Above the commands, in policy terms: the rule changed and the flows it newly allows,
    // against the running revision bulwarkd recorded.
    const auto effect = plan->effectText()->toPlainText();
    QVERIFY2(effect.contains(QStringLiteral("(running) → proposed")) && effect.contains(QStringLiteral("changed rule lb-to-web")),
             qPrintable(effect.left(2000)));
    QVERIFY2(effect.contains(QStringLiteral("newly allowed by lb-to-web")) && effect.contains(QStringLiteral("http (tcp/80)")),
             qPrintable(effect.left(2000)));
    grab("plan");

    // Apply with a confirm window, then confirm.
    QSignalSpy applied(plan, &PlanView::applied);
    plan->applyWithConfirm(120);
    QVERIFY(applied.wait(30000));
    QVERIFY2(applied.at(0).at(0).toJsonObject().value(QStringLiteral("ok")).toBool(),
             qPrintable(plan->planText()->toPlainText().left(1500)));
    QVERIFY(plan->pendingRevision() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(w_->stateBar()->text().contains(QStringLiteral("pending confirm")), 10000);
    grab("apply-pending");
    QSignalSpy confirmed(plan, &PlanView::confirmed);
    plan->confirmPending();
    QVERIFY(confirmed.wait(15000));
    QTRY_VERIFY_WITH_TIMEOUT(w_->session()->status().value(QStringLiteral("pending")).isNull(), 10000);
    // The one countdown ended in words, in both places; every part the daemon reports is fine.
    const auto confirmedWords = QStringLiteral("revision %1 confirmed").arg(w_->session()->status().value(QStringLiteral("revision")).toInt());
    QTRY_VERIFY_WITH_TIMEOUT(w_->stateBar()->text().contains(confirmedWords), 10000);
    QVERIFY2(plan->stateText().startsWith(confirmedWords), qPrintable(plan->stateText()));
    QCOMPARE(w_->stateBar()->health(), StateBar::Health::Green);
    QVERIFY2(w_->stateBar()->partsText().contains(QStringLiteral("firewall ok")) &&
                 w_->stateBar()->partsText().contains(QStringLiteral("links ok")),
             qPrintable(w_->stateBar()->partsText()));

    // The change is live: http from lb1 to web1 passes now. Probe while the chart polls.
    w_->tabs()->setCurrentWidget(w_->trafficView());
    auto* traffic = w_->trafficView();
    const int pollsBefore = traffic->polls();
    QTRY_VERIFY_WITH_TIMEOUT(traffic->polls() >= pollsBefore + 2, 10000);  // a baseline after the apply
    QVERIFY(probe(80));
    const QString pair = QStringLiteral("dmz → app");
    QElapsedTimer t;
    t.start();
    while (traffic->peakBytesPerSecond(pair) <= 0 && t.elapsed() < 20000) {
      QVERIFY(probe(8080));
      QVERIFY(probe(80));
      QTest::qWait(300);
    }
    QVERIFY2(traffic->peakBytesPerSecond(pair) > 0, qPrintable(traffic->plottedPairs().join(", ")));
    QVERIFY(traffic->plottedPairs().contains(pair));
    // The same packets on the per-segment chart: dmz sends them, app receives them.
    QVERIFY(traffic->peakSegmentBytesPerSecond(QStringLiteral("dmz")) > 0);
    QVERIFY(traffic->peakSegmentBytesPerSecond(QStringLiteral("app")) > 0);
    QTest::qWait(1200);  // one more point on the chart for the screenshot
    grab("traffic");

    // History: the confirmed revision is there.
    auto* history = w_->historyView();
    w_->tabs()->setCurrentWidget(history);
    history->refresh();
    QTRY_VERIFY_WITH_TIMEOUT(history->table()->rowCount() >= 2, 10000);
    // Origins in words: the console's apply, the daemon's start from its policy dir.
    QCOMPARE(history->table()->item(0, 5)->text(), QStringLiteral("sent by a client (console or bulwarkctl)"));
    QVERIFY(history->table()->item(history->table()->rowCount() - 1, 5)->text().startsWith(QStringLiteral("policy dir /")));
    grab("history");

    // Tunnels: this bulwarkd runs without --vici, so the view must say there is no VPN.
    w_->tabs()->setCurrentWidget(w_->tunnelsView());
    w_->tunnelsView()->refresh();
    QTRY_VERIFY_WITH_TIMEOUT(w_->tunnelsView()->stateLabel()->text().contains(QStringLiteral("no VPN")), 10000);
    grab("tunnels");
  }

  void driftRepairShowsAsItHappens() {
    // A foreign rule in the gateway's table: bulwarkd reverts it; the bar and History say so.
    QVERIFY(run(env("BULWARK_E2E_FOREIGN_NFT")));
    QTRY_VERIFY_WITH_TIMEOUT(w_->stateBar()->activityText().contains(QStringLiteral("drift repaired: firewall")), 10000);
    auto* events = w_->historyView()->eventsTable();
    bool listed = false;
    for (int r = 0; r < events->rowCount() && !listed; ++r) listed = events->item(r, 1)->text().startsWith(QStringLiteral("drift repaired: firewall"));
    QVERIFY(listed);
    QTRY_COMPARE_WITH_TIMEOUT(w_->stateBar()->health(), StateBar::Health::Green, 10000);
    w_->tabs()->setCurrentWidget(w_->historyView());
    grab("history");
  }

  void partErrorTurnsAmber() {
    // Last (it breaks the lab): a segment's interface disappears. The links kind cannot put it
    // back (a plain interface is adopted, never created): the daemon reports the error in
    // status, and the bar turns amber with that reason, without any event to prompt it.
    QVERIFY(run(env("BULWARK_E2E_BREAK_LINK")));
    QTRY_COMPARE_WITH_TIMEOUT(w_->stateBar()->health(), StateBar::Health::Amber, 15000);
    QVERIFY2(w_->stateBar()->partsText().contains(QStringLiteral("links error: ")) &&
                 w_->stateBar()->partsText().contains(QStringLiteral("eth1.10")),
             qPrintable(w_->stateBar()->partsText()));
    QVERIFY(w_->stateBar()->partsText().contains(QStringLiteral("firewall ok")));
    grab("state-bar-amber");
  }

 private:
  void grab(const QString& name) { e2e::grab(w_.get(), shots_, name); }

  std::unique_ptr<MainWindow> w_;
  QString shots_;
};

QTEST_MAIN(GuiE2eTest)
#include "gui_e2e_test.moc"
