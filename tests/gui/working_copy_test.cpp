// Working-copy safety in the console window: the unsaved marker (title, Policy tab, file
// chooser), the folder shown, the prompt before "Open policy…", "Reload from disk" and closing
// replace unsaved edits (answered by the test through the window's prompt hook), line
// numbers and go-to-line, "git diff" of the editor's text against the saved file and HEAD,
// and the banner when the gateway rolled back to something the editor does not hold.
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QProcess>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QToolBar>
#include <QtTest>

#include "app/main_window.h"
#include "control/session.h"
#include "e2e_window.h"
#include "policy/policy_document.h"
#include "stand_in_daemon.h"
#include "views/code_editor.h"
#include "views/editor_view.h"
#include "views/plan_view.h"

using namespace bulwark::console;

namespace {

QString campus() {
  QFile f(QStringLiteral(BULWARK_EXAMPLES_DIR "/campus.yaml"));
  if (!f.open(QIODevice::ReadOnly)) qFatal("campus.yaml missing");
  return QString::fromUtf8(f.readAll());
}

bool writeFile(const QString& path, const QString& text) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(text.toUtf8()) >= 0;
}

QString readFile(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

bool git(const QString& dir, const QStringList& args) {
  QProcess p;
  p.setWorkingDirectory(dir);
  p.start(QStringLiteral("git"), QStringList{QStringLiteral("-c"), QStringLiteral("user.name=t"), QStringLiteral("-c"),
                                             QStringLiteral("user.email=t@example.invalid")} + args);
  return p.waitForFinished(10000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

// A Git working copy holding campus.yaml, committed.
bool makeWorkingCopy(const QString& dir) {
  return writeFile(dir + QStringLiteral("/campus.yaml"), campus()) && git(dir, {QStringLiteral("init"), QStringLiteral("-q")}) &&
         git(dir, {QStringLiteral("add"), QStringLiteral("campus.yaml")}) &&
         git(dir, {QStringLiteral("commit"), QStringLiteral("-q"), QStringLiteral("-m"), QStringLiteral("campus")});
}

QAction* toolbarAction(MainWindow& w, const QString& text) { return e2e::toolbarAction(&w, text); }

// Types `text` at the end of line `line` (1-based) of the editor.
void typeAtLineEnd(CodeEditor* edit, int line, const QString& text) {
  auto block = edit->document()->findBlockByNumber(line - 1);
  auto c = edit->textCursor();
  c.setPosition(block.position() + static_cast<int>(block.text().size()));
  edit->setTextCursor(c);
  QTest::keyClicks(edit, text);
}

}  // namespace

class WorkingCopyTest : public QObject {
  Q_OBJECT
 private slots:
  void markerAndFolder() {
    QTemporaryDir dir;
    QVERIFY(makeWorkingCopy(dir.path()));
    MainWindow w;
    QString err;
    QVERIFY2(w.openPolicy(dir.path(), &err), qPrintable(err));
    QVERIFY2(w.windowTitle().startsWith(QStringLiteral("campus.yaml — ")), qPrintable(w.windowTitle()));
    QVERIFY(w.windowTitle().contains(QDir::toNativeSeparators(dir.path())));
    QCOMPARE(w.folderText(), QStringLiteral("working copy: %1").arg(QDir::toNativeSeparators(dir.path())));
    QCOMPARE(w.tabs()->tabText(0), QStringLiteral("Policy"));

    auto* edit = w.editorView()->editor();
    typeAtLineEnd(edit, 1, QStringLiteral(" # edited"));
    QVERIFY2(w.windowTitle().startsWith(QStringLiteral("campus.yaml* — ")), qPrintable(w.windowTitle()));
    QCOMPARE(w.tabs()->tabText(0), QStringLiteral("Policy*"));
    QCOMPARE(w.editorView()->fileChooser()->itemText(0), QStringLiteral("campus.yaml*"));

    // Typed back to what is saved: nothing unsaved any more.
    for (int i = 0; i < 9; ++i) QTest::keyClick(edit, Qt::Key_Backspace);
    QVERIFY(!w.document()->modified());
    QVERIFY(w.windowTitle().startsWith(QStringLiteral("campus.yaml — ")));
    QCOMPARE(w.editorView()->fileChooser()->itemText(0), QStringLiteral("campus.yaml"));

    // Saved: the marker goes, the file has the edit.
    typeAtLineEnd(edit, 1, QStringLiteral(" # saved"));
    QVERIFY(w.windowTitle().startsWith(QStringLiteral("campus.yaml* — ")));
    QVERIFY(w.document()->save(&err));
    QVERIFY(w.windowTitle().startsWith(QStringLiteral("campus.yaml — ")));
    QCOMPARE(w.tabs()->tabText(0), QStringLiteral("Policy"));
    QVERIFY(readFile(dir.filePath(QStringLiteral("campus.yaml"))).section(QLatin1Char('\n'), 0, 0).endsWith(QStringLiteral(" # saved")));
  }

  void promptBeforeDiscarding() {
    QTemporaryDir dir, other;
    QVERIFY(makeWorkingCopy(dir.path()));
    QVERIFY(writeFile(other.filePath(QStringLiteral("edge.yaml")), campus()));
    MainWindow w;
    QString err;
    QVERIFY(w.openPolicy(dir.path(), &err));
    QStringList asked;
    auto answer = MainWindow::Unsaved::Cancel;
    w.setUnsavedPrompt([&](const QString& action) {
      asked << action;
      return answer;
    });
    int chooserCalls = 0;
    w.setFolderChooser([&] {
      ++chooserCalls;
      return other.path();
    });
    auto* open = toolbarAction(w, QStringLiteral("Open policy…"));
    auto* reload = toolbarAction(w, QStringLiteral("Reload from disk"));
    QVERIFY(open && reload);

    // Nothing unsaved: no question.
    open->trigger();
    QVERIFY(asked.isEmpty());
    QCOMPARE(chooserCalls, 1);
    QCOMPARE(w.document()->file(0).name, QStringLiteral("edge.yaml"));
    QVERIFY(w.openPolicy(dir.path(), &err));

    auto* edit = w.editorView()->editor();
    typeAtLineEnd(edit, 1, QStringLiteral(" # unsaved"));
    const auto edited = w.document()->file(0).text;

    // Cancel keeps the edit and opens nothing.
    open->trigger();
    QCOMPARE(asked, QStringList{QStringLiteral("Open policy…")});
    QCOMPARE(chooserCalls, 1);
    QCOMPARE(w.document()->file(0).text, edited);
    reload->trigger();
    QCOMPARE(asked.last(), QStringLiteral("Reload from disk"));
    QCOMPARE(w.document()->file(0).text, edited);
    w.show();
    QVERIFY(!w.close());  // the close event is refused
    QCOMPARE(asked.last(), QStringLiteral("Close"));
    QVERIFY(w.isVisible());
    QCOMPARE(edit->toPlainText(), edited);

    // Discard on reload: the editor holds the file on disk again.
    answer = MainWindow::Unsaved::Discard;
    reload->trigger();
    QCOMPARE(w.document()->file(0).text, readFile(dir.filePath(QStringLiteral("campus.yaml"))));
    QCOMPARE(edit->toPlainText(), w.document()->file(0).text);
    QVERIFY(!w.document()->modified());

    // Discard on open: the other folder's policy.
    typeAtLineEnd(edit, 1, QStringLiteral(" # unsaved"));
    const int before = static_cast<int>(asked.size());
    open->trigger();
    QCOMPARE(asked.size(), before + 1);
    QCOMPARE(w.document()->file(0).name, QStringLiteral("edge.yaml"));
    QVERIFY(w.folderText().contains(QDir::toNativeSeparators(other.path())));

    // Save on close: written, then closed.
    typeAtLineEnd(edit, 1, QStringLiteral(" # kept"));
    answer = MainWindow::Unsaved::Save;
    QVERIFY(w.close());
    QVERIFY(readFile(other.filePath(QStringLiteral("edge.yaml"))).section(QLatin1Char('\n'), 0, 0).endsWith(QStringLiteral(" # kept")));
  }

  void lineNumbersAndGoTo() {
    MainWindow w;
    w.document()->setSources({{QString(), QStringLiteral("campus.yaml"), campus(), false, {}}});
    w.resize(1000, 700);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* edit = w.editorView()->editor();
    QVERIFY(edit->blockCount() > 100);
    QVERIFY(edit->gutterWidth() >= edit->fontMetrics().horizontalAdvance(QStringLiteral("999")));
    QCOMPARE(edit->viewport()->geometry().left() - edit->contentsRect().left(), edit->gutterWidth());
    QCOMPARE(edit->firstVisibleLine(), 1);
    edit->goTo(150, 3);
    QCOMPARE(edit->textCursor().blockNumber() + 1, 150);
    QCOMPARE(edit->textCursor().positionInBlock(), std::min(2, static_cast<int>(edit->textCursor().block().text().size())));
    QVERIFY(edit->firstVisibleLine() > 100);  // scrolled there: the gutter numbers follow
    // Past the end: the last line.
    edit->goTo(1000000);
    QCOMPARE(edit->textCursor().blockNumber() + 1, edit->blockCount());
    // A diagnostic's file:line:col from elsewhere (Tables) lands there too.
    w.editorView()->showLocation(QStringLiteral("campus.yaml"), 12, 5);
    QCOMPARE(edit->textCursor().blockNumber() + 1, 12);
  }

  void diffOfTheEditorText() {
    QTemporaryDir dir;
    QVERIFY(makeWorkingCopy(dir.path()));
    MainWindow w;
    QString err;
    QVERIFY(w.openPolicy(dir.path(), &err));
    auto* edit = w.editorView()->editor();
    QSignalSpy diff(w.document(), &PolicyDocument::gitDiffReady);

    // Nothing edited: both parts say so.
    w.document()->requestGitDiff();
    QVERIFY(diff.wait(20000));
    auto text = diff.takeFirst().at(0).toString();
    QVERIFY2(text.contains(QStringLiteral("(no unsaved edits")) && text.contains(QStringLiteral("(no changes: the editor holds what HEAD has)")),
             qPrintable(text));

    // One edit saved (not committed), one only in the editor.
    typeAtLineEnd(edit, 1, QStringLiteral(" # saved edit"));
    QVERIFY(w.document()->save(&err));
    typeAtLineEnd(edit, 2, QStringLiteral(" # unsaved edit"));
    w.document()->requestGitDiff();
    QVERIFY(diff.wait(20000));
    const auto args = diff.takeFirst();
    text = args.at(0).toString();
    QVERIFY2(args.at(1).toString().isEmpty(), qPrintable(args.at(1).toString()));
    const auto lines = campus().split(QLatin1Char('\n'));
    const auto saved = text.section(QStringLiteral("== the editor against HEAD"), 0, 0);
    const auto head = text.section(QStringLiteral("== the editor against HEAD"), 1);
    QVERIFY2(saved.contains(QStringLiteral("\n+") + lines[1] + QStringLiteral(" # unsaved edit\n")), qPrintable(text));
    QVERIFY2(!saved.contains(QStringLiteral("\n+") + lines[0] + QStringLiteral(" # saved edit\n")), qPrintable(text));
    QVERIFY2(head.contains(QStringLiteral("\n+") + lines[0] + QStringLiteral(" # saved edit\n")) &&
                 head.contains(QStringLiteral("\n+") + lines[1] + QStringLiteral(" # unsaved edit\n")),
             qPrintable(text));
    QVERIFY(saved.contains(QStringLiteral("b/editor/campus.yaml")));
    // The working copy itself is untouched by the diff: the index and the file as saved.
    QCOMPARE(readFile(dir.filePath(QStringLiteral("campus.yaml"))).section(QLatin1Char('\n'), 1, 1), lines[1]);
  }

  // The third part: the editor against the revision the gateway runs (`revision N`).
  void diffAgainstTheRunningRevision() {
    QTemporaryDir dir;
    QVERIFY(makeWorkingCopy(dir.path()));
    testing::StandInDaemon daemon(dir.filePath(QStringLiteral("s")));
    daemon.setStatus({{"revision", 4}, {"policy_hash", "h4"}, {"kinds", QJsonArray{}}, {"pending", QJsonValue()}});
    const auto lines = campus().split(QLatin1Char('\n'));
    auto running = lines;
    running[0] += QStringLiteral(" # as applied");
    QList<int> asked;
    daemon.on(QStringLiteral("revision"), [&](const QJsonObject& req) {
      asked << req.value(QStringLiteral("revision")).toInt();
      return QJsonObject{{"ok", true},
                         {"revision", QJsonObject{{"revision", 4}, {"current", true}}},
                         {"sources", QJsonArray{QJsonObject{{"name", "/etc/bulwark/policy/campus.yaml"},
                                                            {"text", running.join(QLatin1Char('\n'))}}}}};
    });
    MainWindow w;
    QString err;
    QVERIFY(w.openPolicy(dir.path(), &err));
    QSignalSpy diff(w.document(), &PolicyDocument::gitDiffReady);
    w.document()->requestGitDiff();
    QVERIFY(diff.wait(20000));
    QVERIFY2(diff.takeFirst().at(0).toString().contains(QStringLiteral("(no running revision known: not connected")),
             "not connected: the third part says so");

    Endpoint e;
    e.socketPath = dir.filePath(QStringLiteral("s"));
    w.connectTo(e);
    QTRY_COMPARE_WITH_TIMEOUT(w.document()->appliedRevision(), 4, 5000);
    w.document()->requestGitDiff();
    QVERIFY(diff.wait(20000));
    const auto text = diff.takeFirst().at(0).toString();
    const auto third = text.section(QStringLiteral("== the editor against revision 4 (running on the gateway) =="), 1);
    QVERIFY2(!third.isEmpty(), qPrintable(text));
    QVERIFY2(third.contains(QStringLiteral("\n-") + running[0] + QStringLiteral("\n")) &&
                 third.contains(QStringLiteral("\n+") + lines[0] + QStringLiteral("\n")) &&
                 third.contains(QStringLiteral("a/revision-4/campus.yaml")),
             qPrintable(text));
    QCOMPARE(asked, QList<int>{4});  // once per revision, not per status
  }

  void policyHashIsTheDaemons() {
    PolicyDocument doc;
    doc.setSources({{QString(), QStringLiteral("a.yaml"), QStringLiteral("x: 1\n"), false, {}},
                    {QString(), QStringLiteral("b.yaml"), QStringLiteral("y: 2\n"), false, {}}});
    // printf 'a.yaml\0x: 1\n\0b.yaml\0y: 2\n\0' | sha256sum -- bulwarkd's sha256Hex of these
    // sources (gateway/daemon/policy_input.cpp).
    QCOMPARE(doc.policyHash(), QStringLiteral("2ba59ffe078b20da7e4345f9d9020beb21eea2174792ae06780c64ef4ee7036a"));
  }

  void bannerAfterRollback() {
    QTemporaryDir dir;
    testing::StandInDaemon daemon(dir.filePath(QStringLiteral("s")));
    daemon.setStatus({{"revision", 3}, {"policy_hash", "h3"}, {"kinds", QJsonArray{}}, {"pending", QJsonValue()}});
    MainWindow w;
    w.document()->setSources({{QString(), QStringLiteral("campus.yaml"), campus(), false, {}}});
    Endpoint e;
    e.socketPath = dir.filePath(QStringLiteral("s"));
    w.connectTo(e);
    QTRY_VERIFY_WITH_TIMEOUT(daemon.subscribers() == 1 && !w.session()->status().isEmpty(), 5000);
    QVERIFY(w.editorView()->gatewayNotice().isEmpty());

    // Revision 3 (what the editor holds) was rolled back to revision 2.
    daemon.setStatus({{"revision", 2}, {"policy_hash", "h2"}, {"kinds", QJsonArray{}}, {"pending", QJsonValue()}});
    daemon.pushEvent({{"event", "rollback"}, {"who", "bulwarkd (confirm timeout)"}, {"revision", 2}, {"policy_hash", "h2"}, {"ok", true}});
    QTRY_VERIFY_WITH_TIMEOUT(w.editorView()->gatewayNotice().contains(QStringLiteral("runs revision 2")), 5000);
    QVERIFY(w.editorView()->gatewayNotice().contains(QStringLiteral("the editor holds something else")));

    // A later apply moves the gateway on: the banner goes.
    daemon.pushEvent({{"event", "apply"}, {"who", "root"}, {"revision", 4}, {"policy_hash", "h4"}, {"ok", true}});
    QTRY_VERIFY_WITH_TIMEOUT(w.editorView()->gatewayNotice().isEmpty(), 5000);

    // A rollback to exactly what the editor holds: no banner.
    const auto mine = w.document()->policyHash();
    daemon.pushEvent({{"event", "rollback"}, {"who", "root"}, {"revision", 5}, {"policy_hash", "h5"}, {"ok", true}});
    QTRY_VERIFY_WITH_TIMEOUT(!w.editorView()->gatewayNotice().isEmpty(), 5000);
    daemon.pushEvent({{"event", "rollback"}, {"who", "root"}, {"revision", 6}, {"policy_hash", mine}, {"ok", true}});
    QTRY_VERIFY_WITH_TIMEOUT(w.editorView()->gatewayNotice().isEmpty(), 5000);
  }

  // An apply of a working copy's text names the commit it comes from: HEAD, "-dirty" once the
  // editor holds something else (saved or not), so History shows where a revision came from.
  void applyCarriesTheCommit() {
    QTemporaryDir dir;
    QVERIFY(makeWorkingCopy(dir.path()));
    QProcess head;
    head.setWorkingDirectory(dir.path());
    head.start(QStringLiteral("git"), {QStringLiteral("rev-parse"), QStringLiteral("HEAD")});
    QVERIFY(head.waitForFinished(10000));
    const auto sha = QString::fromLatin1(head.readAllStandardOutput()).trimmed();
    QCOMPARE(sha.size(), 40);

    testing::StandInDaemon daemon(dir.filePath(QStringLiteral("s")));
    daemon.setStatus({{"revision", 1}, {"policy_hash", "h1"}, {"kinds", QJsonArray{}}, {"pending", QJsonValue()}});
    QList<QJsonObject> applies;
    daemon.on(QStringLiteral("apply"), [&](const QJsonObject& req) {
      applies << req;
      return QJsonObject{{"ok", true}, {"changed", false}, {"summary", "in sync"}};
    });
    MainWindow w;
    QString err;
    QVERIFY(w.openPolicy(dir.path(), &err));
    Endpoint e;
    e.socketPath = dir.filePath(QStringLiteral("s"));
    w.connectTo(e);
    QTRY_VERIFY_WITH_TIMEOUT(!w.session()->status().isEmpty(), 5000);
    QCOMPARE(commitClaim(dir.path(), w.document()->workingFiles()), sha);

    w.planView()->applyWithConfirm(30);
    QTRY_COMPARE_WITH_TIMEOUT(applies.size(), 1, 10000);
    QCOMPARE(applies[0].value(QStringLiteral("git_commit")).toString(), sha);
    QCOMPARE(applies[0].value(QStringLiteral("confirm")).toInt(), 30);

    typeAtLineEnd(w.editorView()->editor(), 1, QStringLiteral(" # not committed"));
    QTRY_VERIFY_WITH_TIMEOUT(!w.planView()->busy(), 5000);
    w.planView()->applyWithConfirm(30);
    QTRY_COMPARE_WITH_TIMEOUT(applies.size(), 2, 10000);
    QCOMPARE(applies[1].value(QStringLiteral("git_commit")).toString(), sha + QStringLiteral("-dirty"));

    // Outside a repository: no claim at all.
    QTemporaryDir plain;
    QVERIFY(writeFile(plain.filePath(QStringLiteral("campus.yaml")), campus()));
    QVERIFY(commitClaim(plain.path(), {{plain.filePath(QStringLiteral("campus.yaml")), QStringLiteral("campus.yaml"), campus()}})
                .isEmpty());
  }
};

QTEST_MAIN(WorkingCopyTest)
#include "working_copy_test.moc"
