// The PKI operations: init, issueGateway, issue, revoke, renewCrl, list. Each mints with a
// profile row (cert_profiles.h) and writes through one FileTransaction.
#include "bulwark/pki/pki.h"

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <utility>

#include "cert_profiles.h"
#include "internal.h"
#include "issuance.h"

namespace bulwark::pki {

using namespace detail;

fs::path caCertPath(const fs::path& dir) { return dir / "ca.crt"; }
fs::path caKeyPath(const fs::path& dir) { return dir / "private" / "ca.key"; }
fs::path gatewayCertPath(const fs::path& dir) { return dir / "gateway.crt"; }
fs::path gatewayKeyPath(const fs::path& dir) { return dir / "private" / "gateway.key"; }
fs::path crlPath(const fs::path& dir) { return dir / "crl.pem"; }
fs::path indexPath(const fs::path& dir) { return dir / "index.json"; }

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) {
    return false;
  }
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string adminIdentity(std::string_view name, std::string_view group) {
  return "CN=" + std::string(name) + ", OU=" + std::string(group);
}

std::string groupRemoteId(std::string_view group) { return "CN=*, OU=" + std::string(group); }

std::string isoTime(std::int64_t unixTime) {
  std::time_t t = static_cast<std::time_t>(unixTime);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) {
    return {};
  }
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

namespace {

constexpr int kP12Iterations = 100000;

bool isDnsName(const std::string& s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  std::size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') {
        return false;
      }
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c == '-' && label > 0)) {
      if (++label > 63) {
        return false;
      }
    } else {
      return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

bool validCaName(const std::string& s) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
  }
  return true;
}

bool plainFileName(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos && s.find('\0') == std::string::npos;
}

// Makes a directory for this change; one it created is removed again if the change fails.
Status ownDir(FileTransaction& tx, const fs::path& path, mode_t mode, bool mustBePrivate) {
  auto made = makeDir(path, mode, mustBePrivate);
  if (!made) {
    return made.error();
  }
  if (*made) {
    tx.discardOnFailure(path);
  }
  return Ok{};
}

// A private directory the daemon's group may pass through (0710), as private/ is.
Status shareDir(const fs::path& path, gid_t group) {
  if (::chown(path.c_str(), static_cast<uid_t>(-1), group) != 0 || ::chmod(path.c_str(), 0710) != 0) {
    return ioError("cannot give the daemon's group passage through", path, errno);
  }
  return Ok{};
}

// What every change to an existing PKI starts from: the directory locked, its index, its CA.
struct OpenPki {
  DirLock lock;
  Index index;
  Ca ca;
};

PkiResult<OpenPki> openForChange(const fs::path& dir) {
  auto lock = DirLock::acquire(dir);
  if (!lock) {
    return lock.error();
  }
  auto index = loadIndex(dir);
  if (!index) {
    return index.error();
  }
  auto ca = loadCa(dir);
  if (!ca) {
    return ca.error();
  }
  return OpenPki{std::move(*lock), std::move(*index), std::move(*ca)};
}

// A CRL with the next number, and the index, in one transaction: the index never says
// revoked while the CRL does not, or the other way round.
PkiResult<CrlInfo> commitNewCrl(const fs::path& dir, OpenPki& pki) {
  pki.index.crlNumber += 1;
  FileTransaction tx;
  auto crl = stageCrl(tx, dir, pki.index, pki.ca.cert.get(), pki.ca.key.get());
  if (!crl) {
    return crl.error();
  }
  stageIndex(tx, dir, pki.index);
  if (Status st = tx.commit(); !st) {
    return st.error();
  }
  return crl;
}

// certs/<SERIAL>.crt: the CA's record of what it signed.
void stageArchive(FileTransaction& tx, const fs::path& dir, const Minted& m) {
  tx.create(dir / "certs" / (m.entry.serial + ".crt"), 0644, m.certPem);
}

}  // namespace

PkiResult<CaInfo> init(const fs::path& dir, const std::string& caName) {
  if (!validCaName(caName)) {
    return makeError(PkiErrorKind::Invalid, "CA name must be 1-64 printable characters");
  }
  if (dir.has_parent_path() && !dir.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);  // e.g. /var/lib/bulwark, mode 0755 (umask)
    if (ec) {
      return ioError("cannot create directory", dir.parent_path(), ec.value());
    }
  }
  FileTransaction tx;
  auto madeDir = makeDir(dir, 0700, false);
  if (!madeDir) {
    return madeDir.error();
  }
  auto lock = DirLock::acquire(dir);
  if (!lock) {
    return lock.error();
  }
  if (*madeDir) {
    tx.discardOnFailure(dir);
    tx.discardOnFailure(dir / ".lock");
  }
  if (pathExists(caKeyPath(dir)) || pathExists(caCertPath(dir)) || pathExists(indexPath(dir))) {
    return makeError(PkiErrorKind::Conflict,
                     "a CA already exists in " + dir.string() + "; refusing to overwrite it");
  }
  if (Status st = ownDir(tx, dir / "private", 0700, true); !st) {
    return st.error();
  }
  if (Status st = ownDir(tx, dir / "certs", 0755, false); !st) {
    return st.error();
  }
  Index index;
  index.caName = caName;
  index.crlNumber = 1;
  auto ca = mint(kCaProfile, Subject{caName, {}}, kCaProfile.validityDays, index, nullptr);
  if (!ca) {
    return ca.error();
  }
  auto key = keyPem(ca->key.get());
  if (!key) {
    return key.error();
  }
  tx.create(caKeyPath(dir), 0600, std::move(*key));
  tx.create(caCertPath(dir), 0644, ca->certPem);
  index.entries.push_back(ca->entry);
  auto crl = stageCrl(tx, dir, index, ca->cert.get(), ca->key.get());
  if (!crl) {
    return crl.error();
  }
  stageIndex(tx, dir, index);
  if (Status st = tx.commit(); !st) {
    return st.error();
  }
  return CaInfo{"CN=" + caName, ca->entry.serial, ca->entry.notAfter, caCertPath(dir)};
}

PkiResult<GatewayCert> issueGateway(const fs::path& dir, const std::string& localId) {
  const bool ip = isIpAddress(localId);
  if (!ip && !isDnsName(localId)) {
    return makeError(PkiErrorKind::Invalid, "local id '" + localId +
                                                "' is neither an IP address nor a DNS name "
                                                "(DN identities are not supported for the gateway)");
  }
  auto pki = openForChange(dir);
  if (!pki) {
    return pki.error();
  }
  Index* index = &pki->index;
  const Ca* ca = &pki->ca;
  for (const auto& e : index->entries) {
    if (e.kind == kGatewayProfile.kind && !e.revoked) {
      return makeError(PkiErrorKind::Conflict, "the gateway already has a certificate for '" + e.name +
                                                   "' (serial " + e.serial + "); revoke it first");
    }
  }
  const Issuer issuer = ca->issuer();
  auto gw = mint(kGatewayProfile, Subject{localId, {}}, kGatewayProfile.validityDays, *index, &issuer);
  if (!gw) {
    return gw.error();
  }
  auto key = keyPem(gw->key.get());
  if (!key) {
    return key.error();
  }
  FileTransaction tx;
  // The files of a revoked gateway certificate are replaced. bulwarkd (its own user) reads the
  // gateway key through private/'s group, when it has one (0710); ca.key stays 0600.
  const std::optional<gid_t> readers = gatewayKeyReaders(dir);
  tx.replace(gatewayKeyPath(dir), readers ? 0640 : 0600, std::move(*key), readers);
  tx.replace(gatewayCertPath(dir), 0644, gw->certPem);
  stageArchive(tx, dir, *gw);
  index->entries.push_back(gw->entry);
  stageIndex(tx, dir, *index);
  if (Status st = tx.commit(); !st) {
    return st.error();
  }
  return GatewayCert{localId, gw->entry.serial, gw->entry.notAfter, gatewayCertPath(dir), gatewayKeyPath(dir),
                     caCertPath(dir)};
}

PkiResult<IssuedCert> issue(const fs::path& dir, const std::string& name, const std::string& group,
                            const IssueOptions& opts) {
  if (!validName(name)) {
    return makeError(PkiErrorKind::Invalid, "name '" + name + "': use 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
  }
  if (!validName(group)) {
    return makeError(PkiErrorKind::Invalid, "group '" + group + "': use 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
  }
  if (opts.password && (opts.password->empty() || opts.password->size() > 1024)) {
    return makeError(PkiErrorKind::Invalid, "the PKCS#12 password must be 1-1024 bytes");
  }
  if (opts.validityDays < 1 || opts.validityDays > kCaValidityDays) {
    return makeError(PkiErrorKind::Invalid, "validity must be 1-3650 days");
  }
  auto pki = openForChange(dir);
  if (!pki) {
    return pki.error();
  }
  Index* index = &pki->index;
  const Ca* ca = &pki->ca;
  if (const IndexEntry* e = index->active(name, kAdminProfile.kind)) {
    return makeError(PkiErrorKind::Conflict, "'" + name + "' already has an active certificate (serial " +
                                                 e->serial + ", group " + e->group + "); revoke it first");
  }
  FileTransaction tx;
  fs::path out = opts.outDir;
  const std::optional<gid_t> readers = opts.daemonReads && out.empty() ? gatewayKeyReaders(dir) : std::nullopt;
  if (out.empty()) {
    if (Status st = ownDir(tx, dir / "issued", 0700, true); !st) {
      return st.error();
    }
    // issued/ lets the daemon's group through to the node's own directory, never list it.
    if (readers) {
      if (Status st = shareDir(dir / "issued", *readers); !st) {
        return st.error();
      }
    }
    out = dir / "issued" / name;
  }
  if (Status st = ownDir(tx, out, 0700, false); !st) {
    return st.error();
  }
  if (readers) {
    if (Status st = shareDir(out, *readers); !st) {
      return st.error();
    }
  }
  if (pathExists(out / (name + ".key"))) {
    return makeError(PkiErrorKind::Conflict, (out / (name + ".key")).string() +
                                                 " exists (an earlier bundle); remove that directory or choose "
                                                 "another output directory");
  }

  const Issuer issuer = ca->issuer();
  auto cert = mint(kAdminProfile, Subject{name, group}, opts.validityDays, *index, &issuer);
  if (!cert) {
    return cert.error();
  }

  IssuedCert result;
  result.name = name;
  result.group = group;
  result.identity = adminIdentity(name, group);
  std::string password;
  if (opts.password) {
    password = *opts.password;
  } else {
    auto generated = generatePassword();
    if (!generated) {
      return generated.error();
    }
    password = *generated;
    result.generatedPassword = *generated;
  }
  X509StackPtr chain(sk_X509_new_null());
  if (!chain || sk_X509_push(chain.get(), ca->cert.get()) <= 0) {
    return cryptoError("building the PKCS#12 chain");
  }
  // The stack does not own the CA certificate (freed with sk_X509_free, not pop_free).
  P12Ptr p12(PKCS12_create(password.c_str(), name.c_str(), cert->key.get(), cert->cert.get(), chain.get(),
                           NID_aes_256_cbc, NID_aes_256_cbc, kP12Iterations, kP12Iterations, 0));
  OPENSSL_cleanse(password.data(), password.size());
  if (!p12) {
    return cryptoError("building the PKCS#12 bundle");
  }
  auto keyText = keyPem(cert->key.get());
  auto p12Bytes = p12Der(p12.get());
  auto caPem = certPem(ca->cert.get());
  if (!keyText || !p12Bytes || !caPem) {
    return !keyText ? keyText.error() : !p12Bytes ? p12Bytes.error() : caPem.error();
  }

  result.keyPath = out / (name + ".key");
  result.certPath = out / (name + ".crt");
  result.p12Path = out / (name + ".p12");
  result.caCertPath = out / "ca.crt";
  std::vector<BundleFile> extra;
  if (opts.bundle) {
    BundleInput in{name,
                   group,
                   result.identity,
                   index->caName,
                   cert->certPem,
                   *caPem,
                   *p12Bytes,
                   result.p12Path.filename().string(),
                   result.certPath.filename().string(),
                   result.keyPath.filename().string(),
                   out};
    extra = opts.bundle(in);
    OPENSSL_cleanse(in.p12.data(), in.p12.size());
  }
  tx.create(result.keyPath, readers ? 0640 : 0600, std::move(*keyText), readers);
  tx.create(result.certPath, 0644, cert->certPem);
  tx.create(result.p12Path, readers ? 0640 : 0600, std::move(*p12Bytes), readers);
  tx.create(result.caCertPath, 0644, *caPem);
  for (auto& f : extra) {
    if (!plainFileName(f.fileName)) {
      return makeError(PkiErrorKind::Invalid, "bundle file name '" + f.fileName + "' is not a plain file name");
    }
    result.bundleFiles.emplace_back(f.label, out / f.fileName);
    tx.create(out / f.fileName, f.mode, std::move(f.data));
  }
  stageArchive(tx, dir, *cert);
  index->entries.push_back(cert->entry);
  stageIndex(tx, dir, *index);
  if (Status st = tx.commit(); !st) {
    return st.error();
  }
  result.serial = cert->entry.serial;
  result.notAfter = cert->entry.notAfter;
  return result;
}

PkiResult<std::string> activeGatewayId(const fs::path& dir) {
  auto index = loadIndex(dir);
  if (!index) {
    return index.error();
  }
  std::string id;
  for (const auto& e : index->entries) {
    if (e.kind == kGatewayProfile.kind && !e.revoked) {
      id = e.name;
    }
  }
  if (id.empty()) {
    return makeError(PkiErrorKind::NotFound,
                     "no gateway identity for the client profile: issue the gateway certificate first "
                     "(`bulwarkctl pki gateway`) or give the policy");
  }
  return id;
}

PkiResult<Revocation> revoke(const fs::path& dir, const std::string& name) {
  auto pki = openForChange(dir);
  if (!pki) {
    return pki.error();
  }
  Index* index = &pki->index;
  IndexEntry* admin = index->active(name, "admin");
  IndexEntry* gateway = index->active(name, "gateway");
  if (admin && gateway) {
    return makeError(PkiErrorKind::Conflict, "'" + name + "' names both an admin and the gateway");
  }
  IndexEntry* target = admin ? admin : gateway;
  if (!target) {
    return makeError(PkiErrorKind::NotFound, "no active certificate for '" + name + "'");
  }
  target->revoked = true;
  target->revokedAt = static_cast<std::int64_t>(std::time(nullptr));
  auto crl = commitNewCrl(dir, *pki);
  if (!crl) {
    return crl.error();
  }
  return Revocation{name, target->serial, *crl};
}

PkiResult<CrlInfo> renewCrl(const fs::path& dir) {
  auto pki = openForChange(dir);
  if (!pki) {
    return pki.error();
  }
  return commitNewCrl(dir, *pki);
}

PkiResult<std::vector<Entry>> list(const fs::path& dir) {
  auto index = loadIndex(dir);
  if (!index) {
    return index.error();
  }
  std::vector<Entry> out;
  for (const auto& e : index->entries) {
    if (e.kind == "ca") {
      continue;
    }
    out.push_back(Entry{e.name, e.group, e.kind, e.serial, e.notBefore, e.notAfter, e.revoked, e.revokedAt});
  }
  return out;
}

}  // namespace bulwark::pki
