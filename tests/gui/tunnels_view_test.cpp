// The tunnels view against a daemon stand-in (QLocalServer) that knows `tunnels`, and one
// that answers "unknown op" like a bulwarkd without the VPN kind.
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "control/session.h"
#include "views/tunnels_view.h"

using namespace bulwark::console;

namespace {

class StandIn : public QObject {
 public:
  StandIn(const QString& path, bool knowsTunnels) : knows_(knowsTunnels) {
    server_.listen(path);
    connect(&server_, &QLocalServer::newConnection, this, [this] {
      while (auto* s = server_.nextPendingConnection()) {
        connect(s, &QLocalSocket::readyRead, s, [this, s] {
          while (s->canReadLine()) {
            auto req = QJsonDocument::fromJson(s->readLine()).object();
            auto op = req.value("op").toString();
            QJsonObject r{{"id", req.value("id")}, {"ok", true}};
            if (op == "status") r.insert("you", QJsonObject{{"user", "root"}, {"role", "change"}});
            if (op == "tunnels") {
              if (knows_) {
                r.insert("tunnels", QJsonArray{QJsonObject{{"user", "alice"}, {"group", "netops"}, {"virtual_ip", "10.250.0.2"},
                                                           {"outer", "198.51.100.7"}, {"since", "2026-11-26T17:00:00Z"},
                                                           {"bytes_in", 123456}, {"bytes_out", 654321}}});
              } else {
                r = {{"id", req.value("id")}, {"ok", false},
                     {"error", QJsonObject{{"code", "bad_request"}, {"message", "unknown op 'tunnels'"}}}};
              }
            }
            s->write(QJsonDocument(r).toJson(QJsonDocument::Compact) + "\n");
          }
        });
      }
    });
  }

 private:
  QLocalServer server_;
  bool knows_;
};

}  // namespace

class TunnelsViewTest : public QObject {
  Q_OBJECT
 private slots:
  void listsTunnels() {
    QTemporaryDir dir;
    StandIn d(dir.filePath("s"), true);
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
    QVERIFY(v.supported());
    QCOMPARE(v.stateLabel()->text(), QString("1 tunnel(s)"));
  }

  void unknownOpIsNotAnError() {
    QTemporaryDir dir;
    StandIn d(dir.filePath("s"), false);
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
