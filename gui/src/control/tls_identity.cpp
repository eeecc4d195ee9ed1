#include "control/tls_identity.h"

#include <QFile>
#include <QSslSocket>

namespace bulwark::console {

TlsIdentityResult loadTlsIdentity(const QString& p12Path, const QString& password, const QString& caPath) {
  if (!QSslSocket::supportsSsl()) return {std::nullopt, QStringLiteral("this Qt has no TLS backend")};
  QFile p12(p12Path);
  if (!p12.open(QIODevice::ReadOnly)) return {std::nullopt, QStringLiteral("cannot read %1: %2").arg(p12Path, p12.errorString())};
  QSslKey key;
  QSslCertificate cert;
  QList<QSslCertificate> chain;
  if (!QSslCertificate::importPkcs12(&p12, &key, &cert, &chain, password.toUtf8())) {
    return {std::nullopt, QStringLiteral("%1: not a PKCS#12 bundle, or the password is wrong").arg(p12Path)};
  }
  if (key.isNull() || cert.isNull()) return {std::nullopt, QStringLiteral("%1 holds no certificate and key").arg(p12Path)};
  auto cas = QSslCertificate::fromPath(caPath, QSsl::Pem);
  if (cas.isEmpty()) return {std::nullopt, QStringLiteral("%1: no PEM CA certificate").arg(caPath)};

  QSslConfiguration c = QSslConfiguration::defaultConfiguration();
  c.setProtocol(QSsl::TlsV1_3);  // 1.3 only: the daemon's listener offers nothing older
  c.setLocalCertificate(cert);
  c.setLocalCertificateChain(QList<QSslCertificate>{cert} + chain);
  c.setPrivateKey(key);
  c.setCaCertificates(cas);  // replaces the system store: only Bulwark's CA vouches for the daemon
  c.setPeerVerifyMode(QSslSocket::VerifyPeer);
  auto cn = cert.subjectInfo(QSslCertificate::CommonName);
  return {TlsIdentity{c, cn.isEmpty() ? cert.subjectDisplayName() : cn.first()}, {}};
}

}  // namespace bulwark::console
