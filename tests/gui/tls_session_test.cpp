// The console's TLS path end to end on this side: the admin's PKCS#12 (client certificate +
// key), the server verified against Bulwark's CA only, TLS 1.3 only, then the JSON-line
// protocol over the encrypted socket. The server is a QSslServer standing in for bulwarkd's
// TLS listener (the daemon side is another change); certificates come from the openssl
// command, made per run in a temporary directory.
#include <QJsonDocument>
#include <QProcess>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QTemporaryDir>
#include <QtTest>

#include "control/session.h"
#include "control/tls_identity.h"

using namespace bulwark::console;

namespace {

bool openssl(const QString& dir, const QStringList& args) {
  QProcess p;
  p.setWorkingDirectory(dir);
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(QStringLiteral("openssl"), args);
  if (!p.waitForFinished(30000) || p.exitCode() != 0) {
    qWarning("openssl %s: %s", qPrintable(args.join(' ')), p.readAll().constData());
    return false;
  }
  return true;
}

// CA, a server certificate for "localhost" and a client certificate for "admin" signed by it,
// the client's PKCS#12 (password "secret"); and a second, unrelated CA with its own server.
bool makePki(const QString& d) {
  auto ext = d + "/ext.cnf";
  QFile f(ext);
  if (!f.open(QIODevice::WriteOnly)) return false;
  f.write("[srv]\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n[cli]\nextendedKeyUsage=clientAuth\n");
  f.close();
  for (const QString ca : {"ca", "other"}) {
    if (!openssl(d, {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca + ".key",
                     "-out", ca + ".pem", "-days", "2", "-subj", "/CN=Bulwark Test " + ca}))
      return false;
  }
  auto issue = [&](const QString& name, const QString& cn, const QString& ca, const QString& section) {
    return openssl(d, {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
                       "-out", name + ".csr", "-subj", "/CN=" + cn}) &&
           openssl(d, {"x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
                       "-out", name + ".pem", "-days", "2", "-extfile", "ext.cnf", "-extensions", section});
  };
  return issue("server", "localhost", "ca", "srv") && issue("client", "admin", "ca", "cli") &&
         issue("rogue", "localhost", "other", "srv") &&
         openssl(d, {"pkcs12", "-export", "-in", "client.pem", "-inkey", "client.key", "-certfile", "ca.pem", "-out",
                     "admin.p12", "-passout", "pass:secret"});
}

// A minimal bulwarkd over TLS: answers status and events like the daemon does.
class FakeTlsDaemon : public QObject {
 public:
  FakeTlsDaemon(const QString& dir, const QString& serverName, QSsl::SslProtocol protocol) {
    QFile cf(dir + "/" + serverName + ".pem"), kf(dir + "/" + serverName + ".key");
    cf.open(QIODevice::ReadOnly);
    kf.open(QIODevice::ReadOnly);
    auto c = QSslConfiguration::defaultConfiguration();
    c.setLocalCertificate(QSslCertificate(&cf, QSsl::Pem));
    c.setPrivateKey(QSslKey(&kf, QSsl::Ec, QSsl::Pem));
    c.setCaCertificates(QSslCertificate::fromPath(dir + "/ca.pem"));
    c.setPeerVerifyMode(QSslSocket::VerifyPeer);  // a client certificate from Bulwark's CA is required
    c.setProtocol(protocol);
    server.setSslConfiguration(c);
    // Qt 6.4: newConnection fires before the handshake; a connection is pending after it.
    QObject::connect(&server, &QTcpServer::pendingConnectionAvailable, this, [this] {
      while (auto* s = server.nextPendingConnection()) {
        auto* ssl = qobject_cast<QSslSocket*>(s);
        clientCn = ssl->peerCertificate().subjectInfo(QSslCertificate::CommonName).value(0);
        auto answer = [s] {
          while (s->canReadLine()) {
            auto req = QJsonDocument::fromJson(s->readLine()).object();
            QJsonObject reply{{"id", req.value("id")}, {"ok", true}};
            if (req.value("op").toString() == "status") {
              reply.insert("you", QJsonObject{{"user", "admin (certificate)"}, {"role", "change"}});
              reply.insert("revision", 7);
            }
            s->write(QJsonDocument(reply).toJson(QJsonDocument::Compact) + "\n");
          }
        };
        QObject::connect(s, &QIODevice::readyRead, s, answer);
        answer();  // what arrived while the connection was still pending
      }
    });
    // Why a handshake failed, in the test log.
    QObject::connect(&server, &QSslServer::errorOccurred, this, [](QSslSocket* s, QAbstractSocket::SocketError) {
      qInfo("fake daemon: %s", qPrintable(s->errorString()));
    });
    QObject::connect(&server, &QSslServer::sslErrors, this, [](QSslSocket*, const QList<QSslError>& errors) {
      for (const auto& e : errors) qInfo("fake daemon: %s", qPrintable(e.errorString()));
    });
    server.listen(QHostAddress::LocalHost, 0);
  }
  QSslServer server;
  QString clientCn;
};

Endpoint endpoint(const QString& dir, quint16 port, const QString& password = "secret") {
  Endpoint e;
  e.kind = Endpoint::Kind::Tls;
  e.host = "localhost";
  e.port = port;
  e.p12Path = dir + "/admin.p12";
  e.p12Password = password;
  e.caPath = dir + "/ca.pem";
  return e;
}

}  // namespace

class TlsSessionTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    if (!QSslSocket::supportsSsl()) QSKIP("no TLS backend in this Qt");
    QVERIFY(dir_.isValid());
    QVERIFY(makePki(dir_.path()));
  }

  void identityFromPkcs12() {
    auto ok = loadTlsIdentity(dir_.filePath("admin.p12"), "secret", dir_.filePath("ca.pem"));
    QVERIFY2(ok.identity, qPrintable(ok.error));
    QCOMPARE(ok.identity->subject, QString("admin"));
    QCOMPARE(ok.identity->config.protocol(), QSsl::TlsV1_3);
    QCOMPARE(ok.identity->config.caCertificates().size(), 1);  // Bulwark's CA only, no system store
    auto wrong = loadTlsIdentity(dir_.filePath("admin.p12"), "nope", dir_.filePath("ca.pem"));
    QVERIFY(!wrong.identity);
    QVERIFY(wrong.error.contains("password"));
    auto noCa = loadTlsIdentity(dir_.filePath("admin.p12"), "secret", dir_.filePath("missing.pem"));
    QVERIFY(!noCa.identity);
  }

  void connectsWithClientCertificate() {
    FakeTlsDaemon d(dir_.path(), "server", QSsl::TlsV1_3);
    QVERIFY(d.server.isListening());
    Session s;
    s.connectTo(endpoint(dir_.path(), d.server.serverPort()));
    QTRY_VERIFY2_WITH_TIMEOUT(s.state() == Session::State::Connected && !s.status().isEmpty(), 
                              qPrintable(QString("state %1, error %2").arg(int(s.state())).arg(s.lastError())), 10000);
    QCOMPARE(d.clientCn, QString("admin"));
    QCOMPARE(s.role(), QString("change"));
    QCOMPARE(s.user(), QString("admin (certificate)"));
    QCOMPARE(s.status().value("revision").toInt(), 7);
  }

  void refusesADaemonFromAnotherCa() {
    FakeTlsDaemon d(dir_.path(), "rogue", QSsl::TlsV1_3);
    Session s;
    s.connectTo(endpoint(dir_.path(), d.server.serverPort()));
    QTest::qWait(1500);
    QVERIFY(s.state() != Session::State::Connected);
    QVERIFY2(!s.lastError().isEmpty(), "no error shown");
    s.disconnectFromDaemon();
  }

  void refusesTls12() {
    FakeTlsDaemon d(dir_.path(), "server", QSsl::TlsV1_2);
    Session s;
    s.connectTo(endpoint(dir_.path(), d.server.serverPort()));
    QTest::qWait(1500);
    QVERIFY(s.state() != Session::State::Connected);
    s.disconnectFromDaemon();
  }

 private:
  QTemporaryDir dir_;
};

QTEST_GUILESS_MAIN(TlsSessionTest)
#include "tls_session_test.moc"
