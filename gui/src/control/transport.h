#pragma once
// Where the console connects: the local Unix control socket, or a remote bulwarkd over TLS.
#include <QString>

namespace bulwark::console {

struct Endpoint {
  enum class Kind { Local, Tls };
  Kind kind = Kind::Local;
  QString socketPath;  // Local
  QString host;        // Tls: address or name to connect to
  quint16 port = 0;
  QString serverName;  // Tls: the name the daemon's certificate must carry (its vpn.local_id); "" = host
  QString p12Path, p12Password, caPath;

  [[nodiscard]] QString describe() const;
};

// "unix:/path", "/path" (local) or "tls://host:port"; nullopt-like empty host/path on error.
struct EndpointParse {
  Endpoint endpoint;
  QString error;
};
[[nodiscard]] EndpointParse parseEndpoint(const QString& text);

}  // namespace bulwark::console
