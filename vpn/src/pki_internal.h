#pragma once
// Internals of the PKI: RAII owners for every OpenSSL object, file helpers that create
// secrets with mode 0600 from the first syscall, the index and the profile texts.
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
#include "bulwark/vpn/pki.h"

namespace bulwark::vpn::pki::detail {

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

// Success of an operation without a value.
struct Ok {};
using Status = PkiResult<Ok>;

// ---- files ----
// mkdir with mode; an existing directory is accepted when `mustBePrivate` is false or its
// mode has no group/other bits.
Status makeDir(const fs::path& path, mode_t mode, bool mustBePrivate);
// O_CREAT|O_EXCL|O_NOFOLLOW with `mode`; `write` gets the fd. On failure the file is removed.
Status createExclusive(const fs::path& path, mode_t mode, const std::string& data);
// 0600, PKCS#8 PEM; with `readers`: 0640 and that group (the gateway key, for bulwarkd).
Status writeKeyFile(const fs::path& path, EVP_PKEY* key, std::optional<gid_t> readers = std::nullopt);
// The group that may read the gateway key: private/'s group when private/ is 0710 (bulwarkd's
// group may open the key by name but not list the directory or read ca.key), else none.
std::optional<gid_t> gatewayKeyReaders(const fs::path& dir);
Status writeP12File(const fs::path& path, PKCS12* p12);                      // 0600, DER
// Write to <path>.tmp (O_EXCL, mode), fsync, rename over `path`.
Status writeAtomic(const fs::path& path, mode_t mode, const std::string& data);
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

// Removes the listed files at scope exit unless commit() was called (undo partial writes).
class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback();
  void add(fs::path p) { paths_.push_back(std::move(p)); }
  void commit() { paths_.clear(); }

 private:
  std::vector<fs::path> paths_;
};

// ---- OpenSSL building blocks ----
PkiResult<PkeyPtr> generateKey();  // ECDSA P-256
PkiResult<PkeyPtr> loadKey(const fs::path& path);
PkiResult<X509Ptr> loadCert(const fs::path& path);
PkiResult<std::string> certPem(X509* cert);
PkiResult<std::string> crlPem(X509_CRL* crl);
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
Status saveIndex(const fs::path& dir, const Index& index);

// Signs and writes crl.pem from the index's revoked entries with number index.crlNumber.
PkiResult<CrlInfo> writeCrl(const fs::path& dir, const Index& index, X509* ca, EVP_PKEY* caKey);

// ---- profile texts ----
struct ProfileParams {
  std::string name, group, identity, gatewayId, gatewayAddress;
  std::vector<std::string> ikeProposals, espProposals;
};
std::string swanctlProfile(const ProfileParams& p);
std::string readmeText(const ProfileParams& p);
// A password for the PKCS#12 bundle: 100 random bits in 4 groups of 5 unambiguous chars.
PkiResult<std::string> generatePassword();

}  // namespace bulwark::vpn::pki::detail
