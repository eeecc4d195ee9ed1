#pragma once
// Bulwark's admin PKI: one CA, the gateway's certificate, one certificate per admin. Used by
// the VPN (charon's credentials and group identities), bulwarkd's TLS listener (the same CA,
// gateway certificate and CRL) and `bulwarkctl pki`.
// OpenSSL 3 EVP APIs only; every key is ECDSA P-256 signed with SHA-256 (charon 5.9.8,
// NetworkManager-strongswan and the strongSwan Android app all accept it).
//
// Layout of a PKI directory (default /var/lib/bulwark/pki, created 0700):
//   ca.crt                 the CA certificate (CN = the policy's vpn.ca)
//   private/ (0700)        ca.key, gateway.key (0600, created O_EXCL with mode 0600)
//                          For bulwarkd, which runs as its own user (gateway/daemon/README.md):
//                          the PKI dir and private/ may be 0710 with the daemon's group; the
//                          group then traverses them (opens ca.crt, gateway.crt, crl.pem and
//                          gateway.key by name) but lists nothing, and issueGateway() writes
//                          gateway.key 0640 with private/'s group. ca.key stays 0600.
//   gateway.crt            the gateway certificate for the policy's vpn.local_id
//   crl.pem                the current CRL (v2, crlNumber, AKI; nextUpdate = now + 7 days)
//   certs/<SERIAL>.crt     a copy of every issued certificate
//   index.json             who has which serial, group, validity, revocation; crlNumber
//   issued/<name>/ (0700)  default output of issue(): <name>.key .crt .p12, ca.crt and the
//                          client profiles the caller adds (IssueOptions::bundle; bulwarkctl
//                          adds vpn::clientProfiles: swanctl, Apple, Android, NetworkManager,
//                          Windows, README): the admin's bundle; hand it over, then delete it
// Changes take an exclusive flock on <dir>/.lock, so concurrent bulwarkctl runs serialize.
// Every change is one transaction: all its files (key, certificate, bundle, archive copy, CRL,
// index) appear together or none does, also when a step fails half-way.
//
// How charon (VICI side) tells groups apart — identity matching, verified against the
// strongSwan 5.9.8 sources (src/swanctl/swanctl.opt, conf/options/charon.opt,
// src/libstrongswan/utils/identification.c compare_dn):
//  * An admin certificate's subject is exactly two RDNs, in this order: CN=<name>, OU=<group>
//    (adminIdentity() gives the string as charon prints/parses it: "CN=alice, OU=netops").
//    Clients send that DN as their IKE identity (it is the default for certificate auth,
//    and the generated swanctl profile sets local.id to it explicitly).
//  * Give each group its own connection and match it with a per-group DN wildcard:
//      remote { auth = pubkey; id = "CN=*, OU=netops"; cacerts = <Bulwark CA> }
//    (groupRemoteId()). With charon's default charon.rdn_matching = strict, number, type and
//    order of the RDNs must match and '*' stands for a whole RDN value, so "CN=*, OU=netops"
//    matches every admin of netops and nothing else. Pin cacerts to Bulwark's CA so that a
//    certificate from any other CA charon might trust cannot claim OU=netops.
//  * Not remote.groups: it needs group membership certified by attribute certificates or an
//    AAA backend; a plain X.509 OU is not a group for charon.
//  * The SAN rfc822Name <name>@<group> is informational (it is the certificate's only SAN);
//    do not match on it unless clients are configured to send it as their identity.
// Revocation: revoke() rewrites crl.pem; hand it to charon with load-cert {type = X509_CRL,
// data = <PEM>} after every revoke()/renewCrl() (renew before nextUpdate, e.g. daily).
// Keys are PKCS#8 PEM ("BEGIN PRIVATE KEY"): load-key with type = ecdsa (or any).
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/base/result.h"

namespace bulwark::pki {

inline constexpr const char* kDefaultDir = "/var/lib/bulwark/pki";
inline constexpr int kCaValidityDays = 3650;
inline constexpr int kGatewayValidityDays = 825;
inline constexpr int kAdminValidityDays = 365;
inline constexpr int kCrlValidityDays = 7;

enum class PkiErrorKind {
  Io,        // a file or directory operation failed (sysErrno set)
  Crypto,    // OpenSSL failed (message carries OpenSSL's error queue)
  Invalid,   // bad argument: name, group, local id, password
  Conflict,  // would overwrite: CA exists, name already has an active certificate, ...
  NotFound,  // no CA, no such name, no gateway certificate
};
[[nodiscard]] const char* pkiErrorKindName(PkiErrorKind k);

struct PkiError {
  PkiErrorKind kind = PkiErrorKind::Io;
  std::string message;
  int sysErrno = 0;
  [[nodiscard]] std::string str() const;
};

template <typename T>
using PkiResult = Result<T, PkiError>;

// ---- paths inside a PKI directory ----
[[nodiscard]] std::filesystem::path caCertPath(const std::filesystem::path& dir);
[[nodiscard]] std::filesystem::path caKeyPath(const std::filesystem::path& dir);
[[nodiscard]] std::filesystem::path gatewayCertPath(const std::filesystem::path& dir);
[[nodiscard]] std::filesystem::path gatewayKeyPath(const std::filesystem::path& dir);
[[nodiscard]] std::filesystem::path crlPath(const std::filesystem::path& dir);
[[nodiscard]] std::filesystem::path indexPath(const std::filesystem::path& dir);

// ---- identities (strings as charon parses and prints them) ----
// Admin and group names: 1-64 chars of [A-Za-z0-9._-], starting with a letter or digit
// (safe as file names, in DNs and in swanctl.conf without quoting surprises).
[[nodiscard]] bool validName(std::string_view name);
[[nodiscard]] std::string adminIdentity(std::string_view name, std::string_view group);  // "CN=alice, OU=netops"
[[nodiscard]] std::string groupRemoteId(std::string_view group);                          // "CN=*, OU=netops"

// ---- operations ----
struct CaInfo {
  std::string subject;  // "CN=Bulwark Campus Admin CA"
  std::string serial;   // upper-case hex
  std::int64_t notAfter = 0;  // Unix time
  std::filesystem::path certPath;
};
// Creates dir (0700) if missing, private/ (0700), the CA key (0600) and certificate
// (basicConstraints critical CA:TRUE, keyUsage critical keyCertSign+cRLSign, SKI, 10 years),
// an empty CRL and the index. Refuses (Conflict) if a CA key or certificate already exists.
[[nodiscard]] PkiResult<CaInfo> init(const std::filesystem::path& dir, const std::string& caName);

struct GatewayCert {
  std::string localId;
  std::string serial;
  std::int64_t notAfter = 0;
  std::filesystem::path certPath;
  std::filesystem::path keyPath;
  std::filesystem::path caCertPath;
};
// The gateway's certificate for vpn.local_id: subject CN=<localId>, SAN DNS:<localId> (or
// IP:<localId> for an address), EKU serverAuth + ipsecIKE (1.3.6.1.5.5.7.3.17), keyUsage
// digitalSignature. Conflict while an unrevoked gateway certificate exists (revoke it
// first: revoke(dir, <its local id>)); after that, the old gateway key and cert are replaced.
[[nodiscard]] PkiResult<GatewayCert> issueGateway(const std::filesystem::path& dir, const std::string& localId);

// The admin's material, handed to IssueOptions::bundle to build client profiles from.
struct BundleInput {
  std::string name, group, identity;  // identity = adminIdentity(name, group)
  std::string caName;                 // the CA's CN
  std::string certPem, caPem;         // the admin's and the CA's certificates
  std::string p12;                    // the PKCS#12 (DER, password-protected; no password here)
  std::string p12FileName, certFileName, keyFileName;  // their names in the bundle directory
  std::filesystem::path outDir;       // the bundle directory
};
// One more file of the admin's bundle: a plain file name in the bundle directory.
struct BundleFile {
  std::string label;     // what it is, e.g. "mobileconfig" (bulwarkctl's JSON key)
  std::string fileName;  // e.g. "alice.mobileconfig"
  std::string data;
  mode_t mode = 0644;
};

struct IssueOptions {
  std::filesystem::path outDir;           // default <dir>/issued/<name>
  std::optional<std::string> password;    // PKCS#12 password; generated when absent
  int validityDays = kAdminValidityDays;
  // Client profiles written next to the PKCS#12, in the same transaction.
  std::function<std::vector<BundleFile>(const BundleInput&)> bundle;
  // A node certificate of an HA pair: bulwarkd (its own user, private/'s group, see
  // issueGateway) reads its key from <dir>/issued/<name>/. With that group, issued/ and the
  // node's directory become 0710 and the key and PKCS#12 0640 with the group; without it, as
  // any bundle (0700/0600). Only where outDir is the default.
  bool daemonReads = false;
};

struct IssuedCert {
  std::string name;
  std::string group;
  std::string identity;  // adminIdentity(name, group)
  std::string serial;
  std::int64_t notAfter = 0;
  std::filesystem::path keyPath, certPath, p12Path, caCertPath;
  std::vector<std::pair<std::string, std::filesystem::path>> bundleFiles;  // label, path
  // The generated PKCS#12 password, to be shown to the user ONCE; empty when the caller
  // supplied the password. Never written to a file or a log by this module.
  std::string generatedPassword;
};
// Key (0600) and certificate for an admin: subject CN=<name>, OU=<group>, SAN
// email:<name>@<group>, EKU clientAuth, keyUsage digitalSignature, 1 year, 128-bit random
// serial (unique in the index). Writes the bundle listed above into opts.outDir.
// Conflict if <name> already holds an active certificate (revoke it first) or the output
// files exist. NotFound if there is no CA. Invalid if a bundle file name is not a plain name.
[[nodiscard]] PkiResult<IssuedCert> issue(const std::filesystem::path& dir, const std::string& name,
                                          const std::string& group, const IssueOptions& opts = {});

// The local id of the gateway's active certificate (what clients expect as remote id).
// NotFound when there is none.
[[nodiscard]] PkiResult<std::string> activeGatewayId(const std::filesystem::path& dir);

struct CrlInfo {
  std::uint64_t crlNumber = 0;
  std::size_t revokedCount = 0;
  std::int64_t nextUpdate = 0;
  std::filesystem::path path;
};
struct Revocation {
  std::string name;
  std::string serial;
  CrlInfo crl;
};
// Marks <name>'s active certificate revoked (an admin name, or the gateway's local id) and
// writes a fresh CRL (crlNumber + 1).
[[nodiscard]] PkiResult<Revocation> revoke(const std::filesystem::path& dir, const std::string& name);
// Re-signs the CRL with a new number and nextUpdate (nothing else changes).
[[nodiscard]] PkiResult<CrlInfo> renewCrl(const std::filesystem::path& dir);

struct Entry {
  std::string name;   // admin name, or the local id for the gateway
  std::string group;  // empty for the gateway
  std::string kind;   // "admin" | "gateway"
  std::string serial;
  std::int64_t notBefore = 0;
  std::int64_t notAfter = 0;
  bool revoked = false;
  std::int64_t revokedAt = 0;
};
// Every certificate the CA issued, in issue order.
[[nodiscard]] PkiResult<std::vector<Entry>> list(const std::filesystem::path& dir);

// "2026-05-12T14:02:00Z"
[[nodiscard]] std::string isoTime(std::int64_t unixTime);

}  // namespace bulwark::pki
