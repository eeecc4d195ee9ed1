#include "control/transport.h"

#include <QUrl>

namespace bulwark::console {

QString Endpoint::describe() const {
  if (kind == Kind::Local) return QStringLiteral("unix:") + socketPath;
  return QStringLiteral("tls://%1:%2").arg(host).arg(port);
}

EndpointParse parseEndpoint(const QString& text) {
  EndpointParse r;
  if (text.startsWith(QStringLiteral("tls://"))) {
    QUrl url(text);
    if (!url.isValid() || url.host().isEmpty() || url.port() <= 0) {
      r.error = QStringLiteral("expected tls://HOST:PORT, got %1").arg(text);
      return r;
    }
    r.endpoint.kind = Endpoint::Kind::Tls;
    r.endpoint.host = url.host();
    r.endpoint.port = static_cast<quint16>(url.port());
    return r;
  }
  QString path = text.startsWith(QStringLiteral("unix:")) ? text.mid(5) : text;
  if (path.isEmpty()) {
    r.error = QStringLiteral("empty socket path");
    return r;
  }
  r.endpoint.socketPath = path;
  return r;
}

}  // namespace bulwark::console
