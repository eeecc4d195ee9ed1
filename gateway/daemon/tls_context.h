#pragma once
// TLS for the remote control API (OpenSSL 3): the server context built from Bulwark's PKI
// directory, the identity a client certificate carries, and the role the policy gives it.
//
//  * TLS 1.3 only (min = max = TLS1_3_VERSION): a TLS 1.2 client fails at the handshake.
//  * The client must present a certificate (SSL_VERIFY_PEER | FAIL_IF_NO_PEER_CERT) that
//    chains to Bulwark's CA (ca.crt, the only trust anchor: no system store), carries EKU
//    clientAuth (purpose sslclient: the gateway's serverAuth certificate cannot log in), and
//    is not on the CRL (X509_V_FLAG_CRL_CHECK; crl.pem is mandatory, an expired CRL refuses
//    everyone: renew it, `bulwarkctl pki crl`-style, before nextUpdate).
//  * No session tickets and no session cache: every connection is a full handshake, so a
//    revoked certificate cannot ride on a resumed session.
//  * The server presents the PKI's gateway certificate (gateway.crt / private/gateway.key,
//    EKU serverAuth, SAN = vpn.local_id); clients verify it against the same CA and the
//    gateway's local id.
//  * TlsContextSource re-reads the four files when one of them changes (checked with stat()
//    before every accepted connection, and once a second while connections are open): a
//    `bulwarkctl pki revoke` takes effect for the next connection without a restart. If the
//    new files do not load, new connections are refused until they do (fail closed: an
//    unreadable CRL must not mean "nothing is revoked").
//  * After each successful reload the listener verifies every open connection's client
//    certificate again (verifyPeerAgain: chain to the new CA, the new CRL, validity, purpose)
//    and closes the connections whose certificate no longer verifies: a revocation also ends
//    the sessions opened before it (tls_listener.h).
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bulwark/base/openssl.h"
#include "bulwark/gateway/protocol.h"
#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

using SslCtxPtr = ossl::SslCtxPtr;
using SslPtr = ossl::SslPtr;

struct TlsFiles {
  std::filesystem::path caCert, serverCert, serverKey, crl;
};
// The files of a PKI directory laid out by pki (ca.crt, gateway.crt, private/gateway.key,
// crl.pem).
[[nodiscard]] TlsFiles tlsFilesOfPki(const std::filesystem::path& pkiDir);

[[nodiscard]] gateway::Result<SslCtxPtr> makeServerContext(const TlsFiles& files);

// Who a verified client certificate names. Bulwark's admin certificates have exactly
// CN=<name>, OU=<group> (pki::issue); anything else has no identity.
struct CertIdentity {
  std::string cn;
  std::string group;   // the OU
  std::string serial;  // upper-case hex
};
[[nodiscard]] std::optional<CertIdentity> certIdentity(X509* cert);

// The policy's gateway.control groups. Pure mapping: a group in `change` may change, one in
// `view` may read, any other group (or a certificate without exactly one CN and one OU) has
// no role and is refused.
// A certificate of group gateway::kPeerGroup is the HA peer's when its CN is `peerNode` (the
// other node in ha.nodes), and has no role otherwise, whatever change/view say.
struct CertRoles {
  std::set<std::string> change;
  std::set<std::string> view;
  std::string peerNode;  // empty: no HA peer
  bool operator==(const CertRoles&) const = default;
};
[[nodiscard]] gateway::Role roleForCertificate(const std::optional<CertIdentity>& id, const CertRoles& roles);

// Verifies the client certificate of an established connection again, against the trust
// store of `ctx` (its CA, its CRL, the flags and purpose makeServerContext set), as of now.
// The error is OpenSSL's reason ("certificate revoked", "certificate has expired", ...).
// `at`: verify as of that time instead (tests; the listener passes nothing).
[[nodiscard]] gateway::Status verifyPeerAgain(SSL_CTX* ctx, SSL* ssl, std::optional<std::time_t> at = std::nullopt);

// When the CRL of `files` stops being valid (its nextUpdate): from then on every client is
// refused, so the listener warns ahead of it. nullopt: unreadable or no nextUpdate.
[[nodiscard]] std::optional<std::time_t> crlNextUpdate(const TlsFiles& files);

// The current server context, rebuilt when the PKI files change.
class TlsContextSource {
 public:
  explicit TlsContextSource(TlsFiles files) : files_(std::move(files)) {}
  // The context for a new connection, or an error (files missing or not loadable). Reloads
  // first if any file's (inode, size, mtime) changed since the last load.
  [[nodiscard]] gateway::Result<SSL_CTX*> current();
  [[nodiscard]] unsigned loads() const { return loads_; }
  // The nextUpdate of the CRL the current context was built with (nullopt: none loaded).
  [[nodiscard]] std::optional<std::time_t> crlNextUpdate() const { return crlNextUpdate_; }

 private:
  struct Stamp {
    ino_t ino = 0;
    off_t size = -1;
    long long mtimeNs = 0;
    bool operator==(const Stamp&) const = default;
  };
  [[nodiscard]] std::vector<Stamp> stamps() const;

  TlsFiles files_;
  SslCtxPtr ctx_;
  std::vector<Stamp> loadedStamps_;
  std::optional<std::time_t> crlNextUpdate_;
  std::string lastError_;
  unsigned loads_ = 0;
};

}  // namespace bulwark::daemon
