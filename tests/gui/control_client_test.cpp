// ControlClient: JSON-line framing (split and coalesced reads), request ids → callbacks,
// events, failure of pending requests; over a real QLocalServer/QLocalSocket pair.
#include <QBuffer>
#include <QJsonArray>
#include <QLocalServer>
#include <QLocalSocket>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "control/control_client.h"

using bulwark::console::ControlClient;

class ControlClientTest : public QObject {
  Q_OBJECT
 private slots:
  void frameIsOneLine() {
    auto f = ControlClient::frame(QJsonObject{{"op", "plan"}, {"text", "a\nb"}});
    QCOMPARE(f.count('\n'), 1);
    QVERIFY(f.endsWith('\n'));
  }

  void splitAndCoalescedLines() {
    ControlClient c;
    QSignalSpy events(&c, &ControlClient::eventReceived);
    QSignalSpy errors(&c, &ControlClient::protocolError);
    // Two events in one chunk, the third split over three chunks.
    c.feed("{\"event\":\"apply\",\"revision\":1}\n{\"event\":\"confirm\"}\n{\"ev");
    QCOMPARE(events.size(), 2);
    c.feed("ent\":\"rollb");
    QCOMPARE(events.size(), 2);
    c.feed("ack\"}\n");
    QCOMPARE(events.size(), 3);
    QCOMPARE(events.at(2).at(0).toJsonObject().value("event").toString(), QString("rollback"));
    QCOMPARE(errors.size(), 0);
    c.feed("not json\n");
    QCOMPARE(errors.size(), 1);
  }

  void largeRepliesParsedOffTheUiThread() {
    ControlClient c;
    QSignalSpy events(&c, &ControlClient::eventReceived);
    QJsonArray rows;
    for (int i = 0; i < 5000; ++i) rows.append(QJsonObject{{"rule", QString("rule-%1").arg(i)}, {"bytes", i}});
    auto big = ControlClient::frame({{"event", "big"}, {"rows", rows}});
    QVERIFY(big.size() > ControlClient::kParseOffThreadBytes);
    c.feed(big + "{\"event\":\"small\"}\n");
    QCOMPARE(events.size(), 1);  // the small one at once; the big one from the worker
    QTRY_COMPARE_WITH_TIMEOUT(events.size(), 2, 5000);
    QCOMPARE(events.at(1).at(0).toJsonObject().value("rows").toArray().size(), 5000);
  }

  void repliesReachTheirCallbacks() {
    QTemporaryDir dir;
    QLocalServer server;
    QVERIFY(server.listen(dir.filePath("s.sock")));
    QLocalSocket sock;
    sock.connectToServer(dir.filePath("s.sock"));
    QVERIFY(sock.waitForConnected(2000));
    QVERIFY(server.waitForNewConnection(2000));
    QLocalSocket* peer = server.nextPendingConnection();

    ControlClient c;
    c.setDevice(&sock);
    QJsonObject gotStatus, gotCounters;
    auto idStatus = c.request("status", {}, [&](const QJsonObject& r) { gotStatus = r; });
    auto idCounters = c.request("counters", {{"x", 1}}, [&](const QJsonObject& r) { gotCounters = r; });
    QCOMPARE(c.pending(), std::size_t{2});

    // The "daemon": read both requests, answer in reverse order, the second reply split.
    QByteArray in;
    QTRY_VERIFY_WITH_TIMEOUT((in += peer->readAll(), in.count('\n') == 2), 3000);
    auto lines = in.split('\n');
    QCOMPARE(QJsonDocument::fromJson(lines[0]).object().value("op").toString(), QString("status"));
    QCOMPARE(QJsonDocument::fromJson(lines[1]).object().value("x").toInt(), 1);
    peer->write(ControlClient::frame({{"id", idCounters}, {"ok", true}, {"counters", QJsonArray{}}}));
    auto second = ControlClient::frame({{"id", idStatus}, {"ok", true}, {"revision", 4}});
    peer->write(second.left(5));
    peer->flush();
    QTRY_VERIFY_WITH_TIMEOUT(!gotCounters.isEmpty(), 3000);
    QVERIFY(gotStatus.isEmpty());
    peer->write(second.mid(5));
    peer->flush();
    QTRY_COMPARE_WITH_TIMEOUT(gotStatus.value("revision").toInt(), 4, 3000);
    QCOMPARE(c.pending(), std::size_t{0});

    // A request that never gets its reply fails when the connection goes.
    QString failed;
    c.request("history", {}, [&](const QJsonObject& r) { failed = r.value("error").toObject().value("code").toString(); });
    c.failPending("gone");
    QCOMPARE(failed, QString("disconnected"));
  }

  void callbackSkippedWhenItsContextIsGone() {
    ControlClient c;
    QBuffer sink;
    QVERIFY(sink.open(QIODevice::ReadWrite));
    c.setDevice(&sink);
    bool called = false;
    auto* view = new QObject;
    c.request("history", {}, view, [&](const QJsonObject&) { called = true; });
    delete view;  // e.g. a view closed while its request was out
    c.failPending("gone");
    QVERIFY(!called);
  }

  void requestWithoutDeviceFailsAsynchronously() {
    ControlClient c;
    bool called = false;
    c.request("status", {}, [&](const QJsonObject& r) {
      called = true;
      QVERIFY(!r.value("ok").toBool());
    });
    QVERIFY(!called);  // never re-entrant
    QTRY_VERIFY_WITH_TIMEOUT(called, 1000);
  }
};

QTEST_GUILESS_MAIN(ControlClientTest)
#include "control_client_test.moc"
