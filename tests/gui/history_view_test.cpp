// The History view against the stand-in daemon: revisions with local times, the Git commit
// where bulwarkd recorded one ("—" and why where not), and origins in words.
#include <QJsonArray>
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
    QCOMPARE(HistoryView::readableOrigin(QStringLiteral("payload (pair apply with edge1-b)")),
             QStringLiteral("sent by a client (console or bulwarkctl) (pair apply with edge1-b)"));
  }
};

QTEST_MAIN(HistoryViewTest)
#include "history_view_test.moc"
