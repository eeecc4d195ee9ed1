#pragma once
// Internals of the PKI: RAII owners for every OpenSSL object, file helpers, the index, the
// CRL. Writing goes through FileTransaction (file_transaction.h), certificates through
// mint() (issuance.h).
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "bulwark/base/openssl.h"
#include "bulwark/pki/pki.h"
#include "file_transaction.h"

namespace bulwark::pki::detail {

namespace fs = std::filesystem;

// ---- RAII ----
// The OpenSSL owners are bulwark/base/openssl.h's (one set for the whole tree).
using ossl::Asn1IntPtr;
using ossl::Asn1TimePtr;
using ossl::BioPtr;
using ossl::BnPtr;
using ossl::CrlPtr;
using ossl::ExtPtr;
using ossl::NamePtr;
using ossl::P12Ptr;
using ossl::PkeyPtr;
using ossl::RevokedPtr;
using ossl::X509Ptr;
using ossl::X509StackOwnPtr;
using ossl::X509StackPtr;
using OsslStringPtr = ossl::StringPtr;

// A file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Error helpers.
PkiError cryptoError(std::string_view what);  // drains OpenSSL's error queue into the message
PkiError ioError(std::string_view what, const fs::path& path, int err);
PkiError makeError(PkiErrorKind kind, std::string message);

// ---- files ----
// mkdir with mode: true when it made the directory. An existing directory is accepted when
// `mustBePrivate` is false or it is the current user's with mode 0700, or 0710: its group may
// then open a file it knows the name of (bulwarkd's group: the gateway key) but list nothing.
PkiResult<bool> makeDir(const fs::path& path, mode_t mode, bool mustBePrivate);
// The group that may read the gateway key: private/'s group when private/ is 0710 (bulwarkd's
// group may open the key by name but not list the directory or read ca.key), else none.
std::optional<gid_t> gatewayKeyReaders(const fs::path& dir);
PkiResult<std::string> readFile(const fs::path& path);
bool pathExists(const fs::path& path);  // lstat: a dangling symlink counts

// Exclusive flock on <dir>/.lock for the lifetime of the object.
class DirLock {
 public:
  static PkiResult<DirLock> acquire(const fs::path& dir);
  DirLock(DirLock&&) = default;
  DirLock& operator=(DirLock&&) = default;
  ~DirLock() = default;  // closing the fd drops the lock

 private:
  explicit DirLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// ---- OpenSSL building blocks ----
PkiResult<PkeyPtr> generateKey();  // ECDSA P-256
PkiResult<PkeyPtr> loadKey(const fs::path& path);
PkiResult<X509Ptr> loadCert(const fs::path& path);
PkiResult<std::string> certPem(X509* cert);
PkiResult<std::string> crlPem(X509_CRL* crl);
PkiResult<std::string> keyPem(EVP_PKEY* key);  // PKCS#8 PEM, unencrypted (a secret: wiped by the transaction)
PkiResult<std::string> p12Der(PKCS12* p12);
std::string serialHex(const ASN1_INTEGER* serial);
PkiResult<Asn1IntPtr> serialFromHex(const std::string& hex);
PkiResult<Asn1IntPtr> randomSerial();  // 128 random bits, positive, nonzero
std::int64_t asn1ToUnix(const ASN1_TIME* t);
std::string nameText(const X509_NAME* name);  // "CN=alice, OU=netops" (encoding order)

// ---- the index ----
struct IndexEntry {
  std::string name;
  std::string group;
  std::string kind;  // "admin" | "gateway" | "ca"
  std::string serial;
  std::int64_t notBefore = 0;
  std::int64_t notAfter = 0;
  bool revoked = false;
  std::int64_t revokedAt = 0;
};
struct Index {
  std::string caName;
  std::uint64_t crlNumber = 0;  // number of the CRL currently in crl.pem
  std::vector<IndexEntry> entries;

  [[nodiscard]] IndexEntry* active(std::string_view name, std::string_view kind);
  [[nodiscard]] bool hasSerial(std::string_view serial) const;
};
PkiResult<Index> loadIndex(const fs::path& dir);
void stageIndex(FileTransaction& tx, const fs::path& dir, const Index& index);

// Signs crl.pem from the index's revoked entries with number index.crlNumber; staged in tx.
PkiResult<CrlInfo> stageCrl(FileTransaction& tx, const fs::path& dir, const Index& index, X509* ca,
                            EVP_PKEY* caKey);

// A password for the PKCS#12 bundle: 100 random bits in 4 groups of 5 unambiguous chars.
PkiResult<std::string> generatePassword();

}  // namespace bulwark::pki::detail
