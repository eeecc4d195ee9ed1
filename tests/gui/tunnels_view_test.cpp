// The tunnels view against the stand-in daemon (tests/gui/stand_in_daemon.h) that knows
// `tunnels` (as bulwarkd --vici answers it: since as Unix time, bytes as counters), and one
// that answers "unknown op" like a bulwarkd without the VPN kind.
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "control/session.h"
#include "stand_in_daemon.h"
#include "views/local_time.h"
#include "views/tunnels_view.h"

using namespace bulwark::console;
using testing::StandInDaemon;

class TunnelsViewTest : public QObject {
  Q_OBJECT
 private slots:
  void listsTunnelsReadably() {
    QTemporaryDir dir;
    StandInDaemon d(dir.filePath("s"));
    qint64 in = 123456, out = 654321;
    d.on(QStringLiteral("tunnels"), [&](const QJsonObject&) {
      return QJsonObject{{"ok", true},
                         {"tunnels", QJsonArray{QJsonObject{{"user", "alice"}, {"group", "netops"}, {"virtual_ip", "10.250.0.2"},
                                                            {"outer", "198.51.100.7"}, {"since", 1796576400}, {"ike_id", "3"},
                                                            {"bytes_in", in}, {"bytes_out", out}}}}};
    });
    Session s;
    TunnelsView v(&s);
    Endpoint e;
    e.socketPath = dir.filePath("s");
    s.connectTo(e);
    auto* table = v.findChild<QTableWidget*>();
    QVERIFY(table);
    QTRY_COMPARE_WITH_TIMEOUT(table->rowCount(), 1, 5000);
    QCOMPARE(table->item(0, 0)->text(), QString("alice"));
    QCOMPARE(table->item(0, 2)->text(), QString("10.250.0.2"));
    QCOMPARE(table->horizontalHeaderItem(3)->text(), QString("client's public address"));
    // A local date, not 1796576400.
    QCOMPARE(table->item(0, 4)->text(), localDateTime(QDateTime::fromSecsSinceEpoch(1796576400, Qt::UTC)));
    QVERIFY(table->item(0, 4)->text().startsWith(QStringLiteral("2026-")));
    // (A second refresh may have come already: the total, maybe with a rate of 0.)
    QVERIFY2(table->item(0, 5)->text().startsWith(QLocale().formattedDataSize(123456)), qPrintable(table->item(0, 5)->text()));
    QVERIFY(table->item(0, 5)->toolTip().contains(QLocale().toString(123456)));
    QVERIFY(v.supported());
    QCOMPARE(v.stateLabel()->text(), QString("1 tunnel(s)"));

    // Traffic flows: the next refresh shows a rate next to the total. (Connecting refreshes
    // more than once: let those answer first, and let the clock move past the last sample.)
    QTRY_VERIFY_WITH_TIMEOUT(!v.refreshing(), 5000);
    QElapsedTimer clock;
    clock.start();
    QTRY_VERIFY_WITH_TIMEOUT(clock.elapsed() >= 5, 1000);
    in += 5'000'000;
    out += 1'000'000;
    v.refresh();
    QVERIFY(v.refreshing());
    QTRY_VERIFY_WITH_TIMEOUT(!v.refreshing(), 5000);
    const auto text = table->item(0, 5)->text();
    QVERIFY2(text.startsWith(QLocale().formattedDataSize(in) + QStringLiteral(" (")) && text.endsWith(QStringLiteral("/s)")) &&
                 !text.contains(QStringLiteral("(0 bytes/s)")),
             qPrintable(text));
    QVERIFY(table->item(0, 6)->text().endsWith(QStringLiteral("/s)")) && !table->item(0, 6)->text().contains(QStringLiteral("(0 bytes/s)")));
    // Every header fits its column.
    for (int c = 0; c < table->columnCount() - 1; ++c) {
      const auto header = table->horizontalHeaderItem(c)->text();
      QVERIFY2(table->columnWidth(c) >= table->fontMetrics().horizontalAdvance(header), qPrintable(header));
    }

    // The daemon can no longer list them (charon died): no row stays as if live.
    d.on(QStringLiteral("tunnels"), [](const QJsonObject&) {
      return QJsonObject{{"ok", false},
                         {"error", QJsonObject{{"code", "unavailable"}, {"message", "charon: Connection refused"}}}};
    });
    v.refresh();
    QTRY_COMPARE_WITH_TIMEOUT(table->rowCount(), 0, 5000);
    QVERIFY2(v.stateLabel()->text().contains(QStringLiteral("charon: Connection refused (the last list, at ")) &&
                 v.stateLabel()->text().contains(QStringLiteral("had 1 tunnel(s))")),
             qPrintable(v.stateLabel()->text()));
  }

  void unknownOpIsNotAnError() {
    QTemporaryDir dir;
    StandInDaemon d(dir.filePath("s"));
    d.on(QStringLiteral("tunnels"), [](const QJsonObject&) {
      return QJsonObject{{"ok", false}, {"error", QJsonObject{{"code", "bad_request"}, {"message", "unknown op 'tunnels'"}}}};
    });
    Session s;
    TunnelsView v(&s);
    Endpoint e;
    e.socketPath = dir.filePath("s");
    s.connectTo(e);
    QTRY_VERIFY_WITH_TIMEOUT(!v.supported(), 5000);
    QCOMPARE(v.stateLabel()->text(), QString("tunnels: not supported by this daemon"));
  }
};

QTEST_MAIN(TunnelsViewTest)
#include "tunnels_view_test.moc"
