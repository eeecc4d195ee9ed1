#pragma once
// What the console's window tests under Xvfb share (gui_e2e_test, gui_lab_e2e_test,
// gui_tls_e2e_test): their settings from the environment their driver script sets, the window
// opened on a policy working copy and connected to bulwarkd's socket, and a PNG of it.
#include <QAction>
#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QToolBar>
#include <QtTest>

#include <memory>

#include "app/main_window.h"
#include "control/session.h"
#include "policy/policy_document.h"
#include "views/editor_view.h"
#include "views/plan_view.h"

namespace bulwark::console::e2e {

inline QString env(const char* name) {
  auto v = qEnvironmentVariable(name);
  if (v.isEmpty()) qFatal("%s is not set (run the test through its driver script, tests/gui/console_*e2e.py)", name);
  return v;
}

// A window of 1360x860 (fits the screenshots), shown, the working copy `policyDir` open and
// connected to the daemon on `socket`. False when that failed (the failure is recorded).
inline bool openWindow(std::unique_ptr<MainWindow>& w, const QString& policyDir, const QString& socket) {
  [&] {  // QVERIFY returns from here
    w = std::make_unique<MainWindow>();
    w->resize(1360, 860);
    w->show();
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    QString err;
    QVERIFY2(w->openPolicy(policyDir, &err), qPrintable(err));
    Endpoint e;
    e.socketPath = socket;
    w->connectTo(e);
    QTRY_VERIFY_WITH_TIMEOUT(w->session()->state() == Session::State::Connected && !w->session()->status().isEmpty(),
                             10000);
  }();
  return !QTest::currentTestFailed();
}

// Types ", SERVICE" into the YAML editor at the end of `rule` (a rule's text ending in its
// services' closing ']'), as an admin would, and waits until the edit validated clean.
inline void addServiceInEditor(MainWindow* w, const QString& rule, const QString& service) {
  w->tabs()->setCurrentWidget(w->editorView());
  auto* edit = w->editorView()->editor();
  const auto at = edit->toPlainText().indexOf(rule);
  QVERIFY2(at >= 0, qPrintable(QStringLiteral("campus.yaml changed: not found as expected: ") + rule));
  auto cursor = edit->textCursor();
  cursor.setPosition(static_cast<int>(at + rule.size() - 1));  // before the closing ']'
  edit->setTextCursor(cursor);
  QTest::keyClicks(edit, QStringLiteral(", ") + service);
  QTRY_VERIFY_WITH_TIMEOUT(!w->document()->validating() && w->document()->analysis() &&
                               w->document()->analysis()->diagnostics.errorCount() == 0 &&
                               w->document()->file(0).text == edit->toPlainText(),
                           20000);
}

// The Plan view shown, the daemon's plan of the editor's sources requested; false when it did
// not come within 30 s.
inline bool showPlan(MainWindow* w) {
  w->tabs()->setCurrentWidget(w->planView());
  QSignalSpy planned(w->planView(), &PlanView::planShown);
  w->planView()->requestPlan();
  return planned.wait(30000);
}

// Runs a shell command in the background (the window keeps painting); true when it exits 0
// within 10 s.
inline bool run(const QString& command) {
  QProcess p;
  p.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
  QElapsedTimer t;
  t.start();
  while (p.state() != QProcess::NotRunning && t.elapsed() < 10000) QTest::qWait(20);
  if (p.state() != QProcess::NotRunning) {
    p.kill();
    p.waitForFinished(2000);
    return false;
  }
  return p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

// The toolbar action named `text` ("Open policy…"), or nullptr.
inline QAction* toolbarAction(MainWindow* w, const QString& text) {
  for (auto* tb : w->findChildren<QToolBar*>()) {
    for (auto* a : tb->actions()) {
      if (a->text() == text) return a;
    }
  }
  return nullptr;
}

// BULWARK_E2E_SCREENSHOTS, made if missing: where grab() saves.
inline QString screenshotsDir() {
  auto dir = env("BULWARK_E2E_SCREENSHOTS");
  QDir().mkpath(dir);
  return dir;
}

// The whole window as DIR/NAME.png.
inline void grab(MainWindow* w, const QString& dir, const QString& name) {
  QTest::qWait(150);  // let the view lay out and paint
  auto pix = w->grab();
  QVERIFY(!pix.isNull());
  QVERIFY(pix.save(dir + QLatin1Char('/') + name + QStringLiteral(".png")));
}

}  // namespace bulwark::console::e2e
