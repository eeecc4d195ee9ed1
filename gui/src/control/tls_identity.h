#pragma once
// The console's side of remote access over TLS: the admin's client certificate and key
// from the PKCS#12 bundle that `bulwarkctl pki issue` writes, the daemon verified against
// Bulwark's CA certificate only (not the system trust store), TLS 1.3 only.
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QString>

#include <optional>

namespace bulwark::console {

struct TlsIdentity {
  QSslConfiguration config;
  QString subject;  // the client certificate's CN, shown in the state bar
};

struct TlsIdentityResult {
  std::optional<TlsIdentity> identity;
  QString error;  // why not, when identity is empty
};

// p12Path: the admin's bundle; password: its password; caPath: Bulwark's CA (PEM).
[[nodiscard]] TlsIdentityResult loadTlsIdentity(const QString& p12Path, const QString& password,
                                                const QString& caPath);

}  // namespace bulwark::console
