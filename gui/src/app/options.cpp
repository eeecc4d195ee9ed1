#include "app/options.h"

#include <QCommandLineParser>
#include <QFile>

#include "bulwark/gateway/protocol.h"

namespace bulwark::console {

Options parseOptions(const QStringList& args) {
  QCommandLineParser p;
  p.setApplicationDescription(QStringLiteral("Bulwark console: edit policies, plan, apply, watch the gateway"));
  p.addHelpOption();
  p.addOption({QStringLiteral("socket"), QStringLiteral("bulwarkd's local control socket"), QStringLiteral("PATH")});
  p.addOption({QStringLiteral("connect"), QStringLiteral("remote bulwarkd over TLS"), QStringLiteral("tls://HOST:PORT")});
  p.addOption({QStringLiteral("p12"), QStringLiteral("admin PKCS#12 from `bulwarkctl pki issue`"), QStringLiteral("FILE")});
  p.addOption({QStringLiteral("p12-password-file"), QStringLiteral("file holding the PKCS#12 password"), QStringLiteral("FILE")});
  p.addOption({QStringLiteral("ca"), QStringLiteral("Bulwark's CA certificate (PEM) that signed the daemon's"), QStringLiteral("FILE")});
  p.addOption({QStringLiteral("server-name"), QStringLiteral("name in the daemon's certificate (default: HOST)"), QStringLiteral("NAME")});
  p.addOption({QStringLiteral("policy"), QStringLiteral("policy file or directory of the working copy"), QStringLiteral("PATH")});
  Options o;
  if (!p.parse(args)) {
    o.error = p.errorText();
    return o;
  }
  if (p.isSet(QStringLiteral("help"))) {
    o.error = p.helpText();
    return o;
  }
  o.policyPath = p.value(QStringLiteral("policy"));
  if (p.isSet(QStringLiteral("connect"))) {
    auto e = parseEndpoint(p.value(QStringLiteral("connect")));
    if (!e.error.isEmpty() || e.endpoint.kind != Endpoint::Kind::Tls) {
      o.error = e.error.isEmpty() ? QStringLiteral("--connect wants tls://HOST:PORT") : e.error;
      return o;
    }
    e.endpoint.p12Path = p.value(QStringLiteral("p12"));
    e.endpoint.caPath = p.value(QStringLiteral("ca"));
    e.endpoint.serverName = p.value(QStringLiteral("server-name"));
    if (e.endpoint.p12Path.isEmpty() || e.endpoint.caPath.isEmpty()) {
      o.error = QStringLiteral("--connect needs --p12 and --ca");
      return o;
    }
    if (p.isSet(QStringLiteral("p12-password-file"))) {
      QFile f(p.value(QStringLiteral("p12-password-file")));
      if (!f.open(QIODevice::ReadOnly)) {
        o.error = QStringLiteral("cannot read %1").arg(f.fileName());
        return o;
      }
      e.endpoint.p12Password = QString::fromUtf8(f.readAll()).trimmed();
    }
    o.endpoint = e.endpoint;
  } else {
    Endpoint e;
    e.socketPath = p.isSet(QStringLiteral("socket")) ? p.value(QStringLiteral("socket"))
                                                     : QString::fromLatin1(gateway::kDefaultSocketPath);
    o.endpoint = e;
  }
  return o;
}

}  // namespace bulwark::console
