// The Traffic view against the stand-in daemon: a zone pair carrying 2 MB/s reads as
// ~16 Mbit/s in the table, the charts' value axes name the unit they moved to (Mbit/s), and
// the time axis is the wall clock.
#include <QDateTime>
#include <QDateTimeAxis>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "control/session.h"
#include "policy/policy_document.h"
#include "stand_in_daemon.h"
#include "views/traffic_view.h"

using namespace bulwark::console;
using testing::StandInDaemon;

class TrafficViewTest : public QObject {
  Q_OBJECT
 private slots:
  void bitsPerSecondOnAWallClock() {
    QTemporaryDir dir;
    StandInDaemon d(dir.filePath("s"));
    QElapsedTimer since;
    since.start();
    // 2,000 bytes per millisecond (2 MB/s = 16 Mbit/s) from dmz to app; no drops.
    d.on(QStringLiteral("counters"), [&](const QJsonObject&) {
      const double bytes = 2000.0 * static_cast<double>(since.elapsed());
      return QJsonObject{{"ok", true},
                         {"zone_pairs", QJsonArray{QJsonObject{{"from", "app"}, {"to", "db"}, {"bytes", 0}},
                                                   QJsonObject{{"from", "dmz"}, {"to", "app"}, {"bytes", bytes},
                                                               {"packets", bytes / 1000}, {"drop_packets", 0}}}}};
    });
    Session s;
    PolicyDocument doc;
    TrafficView v(&s, &doc);
    v.setPollInterval(200);
    Endpoint e;
    e.socketPath = dir.filePath("s");
    s.connectTo(e);
    QTRY_VERIFY_WITH_TIMEOUT(v.polls() >= 4, 10000);
    const QString pair = CounterRates::pairName(QStringLiteral("dmz"), QStringLiteral("app"));
    QVERIFY(v.plottedPairs().contains(pair));
    const double bits = 8 * v.latestBytesPerSecond(pair);
    QVERIFY2(bits > 12e6 && bits < 20e6, qPrintable(QString::number(bits)));  // timing slack: one poll's jitter
    QCOMPARE(v.pairAxisUnit(), QStringLiteral("Mbit/s"));
    QCOMPARE(v.segmentAxisUnit(), QStringLiteral("Mbit/s"));
    QVERIFY2(v.table()->item(0, 1)->text().endsWith(QStringLiteral(" Mbit/s")), qPrintable(v.table()->item(0, 1)->text()));
    QCOMPARE(v.table()->horizontalHeaderItem(1)->text(), QStringLiteral("traffic"));
    QVERIFY(v.table()->item(0, 0)->text().startsWith(pair));  // the busiest pair first
    // The time axis ends now (wall clock) and spans the window.
    const auto now = QDateTime::currentDateTime();
    QVERIFY(std::abs(v.timeAxis()->max().secsTo(now)) <= 5);
    QCOMPARE(v.timeAxis()->min().secsTo(v.timeAxis()->max()), static_cast<qint64>(TrafficView::kWindowSeconds));
  }
};

QTEST_MAIN(TrafficViewTest)
#include "traffic_view_test.moc"
