// The PKI operations: init, issueGateway, issue, revoke, renewCrl, list.
#include "bulwark/vpn/pki.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <ctime>
#include <functional>

#include "pki_internal.h"

namespace bulwark::vpn::pki {

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
constexpr int kSerialAttempts = 8;

bool isIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

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

using Extensions = std::vector<std::pair<int, std::string>>;

PkiResult<NamePtr> makeName(const std::vector<std::pair<const char*, std::string>>& rdns) {
  NamePtr name(X509_NAME_new());
  if (!name) {
    return cryptoError("X509_NAME_new");
  }
  for (const auto& [field, value] : rdns) {
    if (X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) != 1) {
      return cryptoError(std::string("subject ") + field);
    }
  }
  return name;
}

// A v3 certificate for `key`, signed by issuerKey (issuer == nullptr: self-signed).
PkiResult<X509Ptr> buildCert(EVP_PKEY* key, X509_NAME* subject, ASN1_INTEGER* serial, int days,
                             const Extensions& exts, X509* issuer, EVP_PKEY* issuerKey) {
  X509Ptr x(X509_new());
  if (!x) {
    return cryptoError("X509_new");
  }
  std::time_t now = std::time(nullptr);
  if (X509_set_version(x.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(x.get(), serial) != 1 ||
      X509_set_subject_name(x.get(), subject) != 1 ||
      X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(x.get(), key) != 1 ||
      // 5 minutes back for clients whose clocks run a little slow
      X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, -300, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(x.get()), days, 0, &now) == nullptr) {
    return cryptoError("building the certificate");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : exts) {
    ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) {
      return cryptoError(std::string("extension ") + OBJ_nid2sn(nid) + " = " + value);
    }
  }
  if (X509_sign(x.get(), issuerKey, EVP_sha256()) <= 0) {
    return cryptoError("signing the certificate");
  }
  return x;
}

struct Ca {
  X509Ptr cert;
  PkeyPtr key;
};

PkiResult<Ca> loadCa(const fs::path& dir) {
  if (!pathExists(caCertPath(dir)) || !pathExists(caKeyPath(dir))) {
    return makeError(PkiErrorKind::NotFound, "no CA in " + dir.string() + " (run `bulwarkctl pki init` first)");
  }
  auto cert = loadCert(caCertPath(dir));
  if (!cert) {
    return cert.error();
  }
  auto key = loadKey(caKeyPath(dir));
  if (!key) {
    return key.error();
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return cryptoError("the CA key does not belong to " + caCertPath(dir).string());
  }
  return Ca{std::move(*cert), std::move(*key)};
}

PkiResult<Asn1IntPtr> uniqueSerial(const Index& index) {
  for (int i = 0; i < kSerialAttempts; ++i) {
    auto serial = randomSerial();
    if (!serial) {
      return serial.error();
    }
    if (!index.hasSerial(serialHex(serial->get()))) {
      return serial;
    }
  }
  return makeError(PkiErrorKind::Crypto, "could not draw an unused serial number");
}

IndexEntry entryFor(X509* cert, std::string name, std::string group, std::string kind) {
  IndexEntry e;
  e.name = std::move(name);
  e.group = std::move(group);
  e.kind = std::move(kind);
  e.serial = serialHex(X509_get0_serialNumber(cert));
  e.notBefore = asn1ToUnix(X509_get0_notBefore(cert));
  e.notAfter = asn1ToUnix(X509_get0_notAfter(cert));
  return e;
}

// certs/<SERIAL>.crt: the CA's record of what it signed.
Status archiveCert(const fs::path& dir, X509* cert, Rollback& rollback) {
  auto pem = certPem(cert);
  if (!pem) {
    return pem.error();
  }
  fs::path p = dir / "certs" / (serialHex(X509_get0_serialNumber(cert)) + ".crt");
  if (Status st = createExclusive(p, 0644, *pem); !st) {
    return st;
  }
  rollback.add(p);
  return Ok{};
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
  if (Status st = makeDir(dir, 0700, false); !st) {
    return st.error();
  }
  auto lock = DirLock::acquire(dir);
  if (!lock) {
    return lock.error();
  }
  if (pathExists(caKeyPath(dir)) || pathExists(caCertPath(dir)) || pathExists(indexPath(dir))) {
    return makeError(PkiErrorKind::Conflict,
                     "a CA already exists in " + dir.string() + "; refusing to overwrite it");
  }
  if (Status st = makeDir(dir / "private", 0700, true); !st) {
    return st.error();
  }
  if (Status st = makeDir(dir / "certs", 0755, false); !st) {
    return st.error();
  }
  auto key = generateKey();
  if (!key) {
    return key.error();
  }
  Index index;
  index.caName = caName;
  index.crlNumber = 1;
  auto serial = uniqueSerial(index);
  if (!serial) {
    return serial.error();
  }
  auto subject = makeName({{"CN", caName}});
  if (!subject) {
    return subject.error();
  }
  Extensions exts = {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}};
  auto cert = buildCert(key->get(), subject->get(), serial->get(), kCaValidityDays, exts, nullptr, key->get());
  if (!cert) {
    return cert.error();
  }
  auto pem = certPem(cert->get());
  if (!pem) {
    return pem.error();
  }

  Rollback rollback;
  if (Status st = writeKeyFile(caKeyPath(dir), key->get()); !st) {
    return st.error();
  }
  rollback.add(caKeyPath(dir));
  if (Status st = createExclusive(caCertPath(dir), 0644, *pem); !st) {
    return st.error();
  }
  rollback.add(caCertPath(dir));
  index.entries.push_back(entryFor(cert->get(), caName, "", "ca"));
  auto crl = writeCrl(dir, index, cert->get(), key->get());
  if (!crl) {
    return crl.error();
  }
  rollback.add(crlPath(dir));
  if (Status st = saveIndex(dir, index); !st) {
    return st.error();
  }
  rollback.commit();
  return CaInfo{"CN=" + caName, index.entries.back().serial, index.entries.back().notAfter, caCertPath(dir)};
}

PkiResult<GatewayCert> issueGateway(const fs::path& dir, const std::string& localId) {
  const bool ip = isIpAddress(localId);
  if (!ip && !isDnsName(localId)) {
    return makeError(PkiErrorKind::Invalid, "local id '" + localId +
                                                "' is neither an IP address nor a DNS name "
                                                "(DN identities are not supported for the gateway)");
  }
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
  for (const auto& e : index->entries) {
    if (e.kind == "gateway" && !e.revoked) {
      return makeError(PkiErrorKind::Conflict, "the gateway already has a certificate for '" + e.name +
                                                   "' (serial " + e.serial + "); revoke it first");
    }
  }
  // The files of a revoked gateway certificate are replaced.
  ::unlink(gatewayKeyPath(dir).c_str());
  ::unlink(gatewayCertPath(dir).c_str());

  auto key = generateKey();
  if (!key) {
    return key.error();
  }
  auto serial = uniqueSerial(*index);
  if (!serial) {
    return serial.error();
  }
  auto subject = makeName({{"CN", localId}});
  if (!subject) {
    return subject.error();
  }
  Extensions exts = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "serverAuth,1.3.6.1.5.5.7.3.17"},
                     {NID_subject_alt_name, (ip ? "IP:" : "DNS:") + localId},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}};
  auto cert = buildCert(key->get(), subject->get(), serial->get(), kGatewayValidityDays, exts, ca->cert.get(),
                        ca->key.get());
  if (!cert) {
    return cert.error();
  }
  auto pem = certPem(cert->get());
  if (!pem) {
    return pem.error();
  }
  Rollback rollback;
  // bulwarkd (its own user) reads the gateway key through private/'s group, when it has one.
  if (Status st = writeKeyFile(gatewayKeyPath(dir), key->get(), gatewayKeyReaders(dir)); !st) {
    return st.error();
  }
  rollback.add(gatewayKeyPath(dir));
  if (Status st = createExclusive(gatewayCertPath(dir), 0644, *pem); !st) {
    return st.error();
  }
  rollback.add(gatewayCertPath(dir));
  if (Status st = archiveCert(dir, cert->get(), rollback); !st) {
    return st.error();
  }
  index->entries.push_back(entryFor(cert->get(), localId, "", "gateway"));
  if (Status st = saveIndex(dir, *index); !st) {
    return st.error();
  }
  rollback.commit();
  const auto& e = index->entries.back();
  return GatewayCert{localId, e.serial, e.notAfter, gatewayCertPath(dir), gatewayKeyPath(dir), caCertPath(dir)};
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
  auto lock = DirLock::acquire(dir);
  if (!lock) {
    return lock.error();
  }
  auto index = loadIndex(dir);
  if (!index) {
    return index.error();
  }
  if (const IndexEntry* e = index->active(name, "admin")) {
    return makeError(PkiErrorKind::Conflict, "'" + name + "' already has an active certificate (serial " +
                                                 e->serial + ", group " + e->group + "); revoke it first");
  }
  ProfileParams profile;
  profile.name = name;
  profile.group = group;
  profile.identity = adminIdentity(name, group);
  profile.gatewayId = opts.gatewayId;
  if (profile.gatewayId.empty()) {
    for (const auto& e : index->entries) {
      if (e.kind == "gateway" && !e.revoked) {
        profile.gatewayId = e.name;
      }
    }
  }
  if (profile.gatewayId.empty()) {
    return makeError(PkiErrorKind::NotFound,
                     "no gateway identity for the client profile: issue the gateway certificate first "
                     "(`bulwarkctl pki gateway`) or give the policy");
  }
  profile.gatewayAddress = opts.gatewayAddress.empty() ? profile.gatewayId : opts.gatewayAddress;
  profile.ikeProposals = opts.ikeProposals.empty() ? std::vector<std::string>{kDefaultIkeProposal} : opts.ikeProposals;
  profile.espProposals = opts.espProposals.empty() ? std::vector<std::string>{kDefaultEspProposal} : opts.espProposals;

  auto ca = loadCa(dir);
  if (!ca) {
    return ca.error();
  }
  fs::path out = opts.outDir;
  if (out.empty()) {
    if (Status st = makeDir(dir / "issued", 0700, true); !st) {
      return st.error();
    }
    out = dir / "issued" / name;
  }
  if (Status st = makeDir(out, 0700, false); !st) {
    return st.error();
  }
  if (pathExists(out / (name + ".key"))) {
    return makeError(PkiErrorKind::Conflict, (out / (name + ".key")).string() +
                                                 " exists (an earlier bundle); remove that directory or choose "
                                                 "another output directory");
  }

  auto key = generateKey();
  if (!key) {
    return key.error();
  }
  auto serial = uniqueSerial(*index);
  if (!serial) {
    return serial.error();
  }
  auto subject = makeName({{"CN", name}, {"OU", group}});
  if (!subject) {
    return subject.error();
  }
  Extensions exts = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "clientAuth"},
                     {NID_subject_alt_name, "email:" + name + "@" + group},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}};
  auto cert = buildCert(key->get(), subject->get(), serial->get(), opts.validityDays, exts, ca->cert.get(),
                        ca->key.get());
  if (!cert) {
    return cert.error();
  }

  IssuedCert result;
  result.name = name;
  result.group = group;
  result.identity = profile.identity;
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
  P12Ptr p12(PKCS12_create(password.c_str(), name.c_str(), key->get(), cert->get(), chain.get(), NID_aes_256_cbc,
                           NID_aes_256_cbc, kP12Iterations, kP12Iterations, 0));
  OPENSSL_cleanse(password.data(), password.size());
  if (!p12) {
    return cryptoError("building the PKCS#12 bundle");
  }
  auto crtPem = certPem(cert->get());
  auto caPem = certPem(ca->cert.get());
  if (!crtPem || !caPem) {
    return crtPem ? caPem.error() : crtPem.error();
  }

  result.keyPath = out / (name + ".key");
  result.certPath = out / (name + ".crt");
  result.p12Path = out / (name + ".p12");
  result.caCertPath = out / "ca.crt";
  result.swanctlPath = out / (name + ".swanctl.conf");
  result.readmePath = out / (name + ".README.txt");
  const std::string swanctl = swanctlProfile(profile);
  const std::string readme = readmeText(profile);
  // In order; the first failure stops, and the rollback removes what was written.
  const std::vector<std::pair<fs::path, std::function<Status(const fs::path&)>>> files = {
      {result.keyPath, [&](const fs::path& p) { return writeKeyFile(p, key->get()); }},
      {result.certPath, [&](const fs::path& p) { return createExclusive(p, 0644, *crtPem); }},
      {result.p12Path, [&](const fs::path& p) { return writeP12File(p, p12.get()); }},
      {result.caCertPath, [&](const fs::path& p) { return createExclusive(p, 0644, *caPem); }},
      {result.swanctlPath, [&](const fs::path& p) { return createExclusive(p, 0644, swanctl); }},
      {result.readmePath, [&](const fs::path& p) { return createExclusive(p, 0644, readme); }},
  };
  Rollback rollback;
  for (const auto& [path, write] : files) {
    if (Status st = write(path); !st) {
      return st.error();
    }
    rollback.add(path);
  }
  if (Status st = archiveCert(dir, cert->get(), rollback); !st) {
    return st.error();
  }
  index->entries.push_back(entryFor(cert->get(), name, group, "admin"));
  if (Status st = saveIndex(dir, *index); !st) {
    return st.error();
  }
  rollback.commit();
  result.serial = index->entries.back().serial;
  result.notAfter = index->entries.back().notAfter;
  return result;
}

PkiResult<Revocation> revoke(const fs::path& dir, const std::string& name) {
  auto lock = DirLock::acquire(dir);
  if (!lock) {
    return lock.error();
  }
  auto index = loadIndex(dir);
  if (!index) {
    return index.error();
  }
  IndexEntry* admin = index->active(name, "admin");
  IndexEntry* gateway = index->active(name, "gateway");
  if (admin && gateway) {
    return makeError(PkiErrorKind::Conflict, "'" + name + "' names both an admin and the gateway");
  }
  IndexEntry* target = admin ? admin : gateway;
  if (!target) {
    return makeError(PkiErrorKind::NotFound, "no active certificate for '" + name + "'");
  }
  auto ca = loadCa(dir);
  if (!ca) {
    return ca.error();
  }
  target->revoked = true;
  target->revokedAt = static_cast<std::int64_t>(std::time(nullptr));
  index->crlNumber += 1;
  // CRL first: if the index write then fails, the certificate is revoked all the same.
  auto crl = writeCrl(dir, *index, ca->cert.get(), ca->key.get());
  if (!crl) {
    return crl.error();
  }
  if (Status st = saveIndex(dir, *index); !st) {
    PkiError err = st.error();
    err.message += " (the CRL already lists serial " + target->serial + ")";
    return err;
  }
  return Revocation{name, target->serial, *crl};
}

PkiResult<CrlInfo> renewCrl(const fs::path& dir) {
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
  index->crlNumber += 1;
  auto crl = writeCrl(dir, *index, ca->cert.get(), ca->key.get());
  if (!crl) {
    return crl.error();
  }
  if (Status st = saveIndex(dir, *index); !st) {
    return st.error();
  }
  return *crl;
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

}  // namespace bulwark::vpn::pki
