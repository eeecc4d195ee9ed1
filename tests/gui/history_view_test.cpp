// The History view against the stand-in daemon: revisions with local times, the Git commit
// where bulwarkd recorded one ("—" and why where not), and origins in words.
#include <QJsonArray>
#include <QPlainTextEdit>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "control/session.h"
#include "stand_in_daemon.h"
#include "views/history_view.h"
#include "views/local_time.h"

using namespace bulwark::console;
using testing::StandInDaemon;

class HistoryViewTest : public QObject {
  Q_OBJECT
 private slots:
  void revisionsReadably() {
    QTemporaryDir dir;
    StandInDaemon d(dir.filePath("s"));
    const QString commit = QStringLiteral("0123456789abcdef0123456789abcdef01234567");
    d.on(QStringLiteral("history"), [&](const QJsonObject&) {
      return QJsonObject{
          {"ok", true},
          {"revisions",
           QJsonArray{QJsonObject{{"revision", 3}, {"time", "2026-12-06T18:00:05Z"}, {"who", "root (uid 0)"}, {"hash", "ab"},
                                  {"git_commit", ""}, {"origin", "payload"}, {"status", "confirmed"}, {"current", true}},
                      QJsonObject{{"revision", 2}, {"time", "2026-12-06T17:00:00Z"}, {"who", "root"}, {"hash", "cd"},
                                  {"git_commit", commit}, {"origin", "revision 1"}, {"status", "applied"}},
                      QJsonObject{{"revision", 1}, {"time", "2026-12-06T16:00:00Z"}, {"who", "bulwarkd (startup)"},
                                  {"hash", "ef"}, {"git_commit", commit}, {"origin", "/etc/bulwark/policy"}, {"status", "applied"}}}}};
    });
    Session s;
    HistoryView v(&s);
    Endpoint e;
    e.socketPath = dir.filePath("s");
    s.connectTo(e);
    auto* t = v.table();
    QTRY_COMPARE_WITH_TIMEOUT(t->rowCount(), 3, 5000);
    QCOMPARE(t->item(0, 0)->text(), QStringLiteral("3 ●"));
    QCOMPARE(t->item(0, 1)->text(), localDateTime(QDateTime::fromString("2026-12-06T18:00:05Z", Qt::ISODate)));
    QCOMPARE(t->item(0, 4)->text(), QStringLiteral("—"));
    QVERIFY(t->item(0, 4)->toolTip().contains(QStringLiteral("no Git commit recorded")));
    QCOMPARE(t->item(0, 5)->text(), QStringLiteral("sent by a client (console or bulwarkctl)"));
    QCOMPARE(t->item(1, 4)->text(), commit.left(10));
    QCOMPARE(t->item(1, 4)->toolTip(), commit);
    QCOMPARE(t->item(1, 5)->text(), QStringLiteral("rollback: re-applied revision 1"));
    QCOMPARE(t->item(2, 5)->text(), QStringLiteral("policy dir /etc/bulwark/policy"));
    QCOMPARE(HistoryView::shortCommit(commit + QStringLiteral("-dirty")), commit.left(10) + QStringLiteral("-dirty"));
    QCOMPARE(HistoryView::shortCommit(QStringLiteral("0123abc-dirty")), QStringLiteral("0123abc-dirty"));
    QCOMPARE(HistoryView::readableOrigin(QStringLiteral("payload (pair apply with edge1-b)")),
             QStringLiteral("sent by a client (console or bulwarkctl) (pair apply with edge1-b)"));

    // Selecting a revision shows its change against the revision listed before it.
    QList<int> asked;
    d.on(QStringLiteral("revision"), [&](const QJsonObject& req) {
      const int n = req.value(QStringLiteral("revision")).toInt();
      asked << n;
      const QString text = n == 3 ? QStringLiteral("rules:\n  - name: web\n    services: [https]\n")
                                  : QStringLiteral("rules:\n  - name: web\n    services: [http]\n");
      return QJsonObject{{"ok", true},
                         {"revision", QJsonObject{{"revision", n}}},
                         {"sources", QJsonArray{QJsonObject{{"name", "/etc/bulwark/policy/campus.yaml"}, {"text", text}}}}};
    });
    t->selectRow(0);
    QTRY_VERIFY_WITH_TIMEOUT(v.revisionDiff()->toPlainText().contains(QStringLiteral("+    services: [https]")), 10000);
    const auto diff = v.revisionDiff()->toPlainText();
    QVERIFY2(diff.startsWith(QStringLiteral("== revision 3 against revision 2 (the one before it) ==")), qPrintable(diff));
    QVERIFY2(diff.contains(QStringLiteral("-    services: [http]")) && diff.contains(QStringLiteral("a/revision-2/campus.yaml")),
             qPrintable(diff));
    QCOMPARE(asked.size(), 2);
    // The oldest listed: all of it is new; the same text twice: no change.
    t->selectRow(2);
    QTRY_VERIFY_WITH_TIMEOUT(v.revisionDiff()->toPlainText().contains(QStringLiteral("the oldest listed")), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(v.revisionDiff()->toPlainText().contains(QStringLiteral("+    services: [http]")), 10000);
    t->selectRow(1);
    QTRY_VERIFY_WITH_TIMEOUT(v.revisionDiff()->toPlainText().contains(QStringLiteral("(no change in the policy files)")), 10000);
    // A refusal is shown as such.
    d.on(QStringLiteral("revision"), [](const QJsonObject&) {
      return QJsonObject{{"ok", false}, {"error", QJsonObject{{"code", "not_found"}, {"message", "no revision 3"}}}};
    });
    t->selectRow(0);
    QTRY_VERIFY_WITH_TIMEOUT(v.revisionDiff()->toPlainText().contains(QStringLiteral("no revision 3")), 10000);
  }
};

QTEST_MAIN(HistoryViewTest)
#include "history_view_test.moc"
