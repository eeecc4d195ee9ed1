#pragma once
// Where the console connects: the local Unix control socket, or a remote bulwarkd over TLS.
#include <QString>

namespace bulwark::console {

struct Endpoint {
  enum class Kind { Local, Tls };
  Kind kind = Kind::Local;
  QString socketPath;  // Local
  QString host;        // Tls: the name the daemon's certificate carries
  quint16 port = 0;
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
