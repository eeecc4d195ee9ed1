// Minting a certificate from a profile row (issuance.h).
#include "issuance.h"

#include <arpa/inet.h>

#include <ctime>
#include <utility>
#include <vector>

namespace bulwark::pki::detail {

namespace {

constexpr int kSerialAttempts = 8;

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

using Extensions = std::vector<std::pair<int, std::string>>;

Extensions extensionsOf(const CertProfile& p, const Subject& s, bool selfSigned) {
  Extensions exts = {{NID_basic_constraints, p.ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
                     {NID_key_usage, "critical," + std::string(p.keyUsage)}};
  if (!p.extKeyUsage.empty()) {
    exts.emplace_back(NID_ext_key_usage, std::string(p.extKeyUsage));
  }
  switch (p.san) {
    case SanShape::None:
      break;
    case SanShape::DnsOrIp:
      exts.emplace_back(NID_subject_alt_name, (isIpAddress(s.name) ? "IP:" : "DNS:") + s.name);
      break;
    case SanShape::EmailNameAtGroup:
      exts.emplace_back(NID_subject_alt_name, "email:" + s.name + "@" + s.group);
      break;
  }
  exts.emplace_back(NID_subject_key_identifier, "hash");
  if (!selfSigned) {
    exts.emplace_back(NID_authority_key_identifier, "keyid:always");
  }
  return exts;
}

// A v3 certificate for `key`, signed by the issuer (issuer == nullptr: self-signed).
PkiResult<X509Ptr> buildCert(EVP_PKEY* key, X509_NAME* subject, ASN1_INTEGER* serial, int days,
                             const Extensions& exts, const Issuer* issuer) {
  X509Ptr x(X509_new());
  if (!x) {
    return cryptoError("X509_new");
  }
  std::time_t now = std::time(nullptr);
  if (X509_set_version(x.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(x.get(), serial) != 1 ||
      X509_set_subject_name(x.get(), subject) != 1 ||
      X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer->cert) : subject) != 1 ||
      X509_set_pubkey(x.get(), key) != 1 ||
      // 5 minutes back for clients whose clocks run a little slow
      X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, -300, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(x.get()), days, 0, &now) == nullptr) {
    return cryptoError("building the certificate");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->cert : x.get(), x.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : exts) {
    ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) {
      return cryptoError(std::string("extension ") + OBJ_nid2sn(nid) + " = " + value);
    }
  }
  if (X509_sign(x.get(), issuer ? issuer->key : key, EVP_sha256()) <= 0) {
    return cryptoError("signing the certificate");
  }
  return x;
}

}  // namespace

bool isIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

PkiResult<Minted> mint(const CertProfile& profile, const Subject& subject, int validityDays, const Index& index,
                       const Issuer* issuer) {
  auto key = generateKey();
  if (!key) {
    return key.error();
  }
  auto serial = uniqueSerial(index);
  if (!serial) {
    return serial.error();
  }
  std::vector<std::pair<const char*, std::string>> rdns = {{"CN", subject.name}};
  if (profile.subject == SubjectShape::NameAndGroup) {
    rdns.emplace_back("OU", subject.group);
  }
  auto name = makeName(rdns);
  if (!name) {
    return name.error();
  }
  auto cert = buildCert(key->get(), name->get(), serial->get(), validityDays,
                        extensionsOf(profile, subject, issuer == nullptr), issuer);
  if (!cert) {
    return cert.error();
  }
  auto pem = certPem(cert->get());
  if (!pem) {
    return pem.error();
  }
  IndexEntry e;
  e.name = subject.name;
  e.group = profile.subject == SubjectShape::NameAndGroup ? subject.group : std::string();
  e.kind = std::string(profile.kind);
  e.serial = serialHex(X509_get0_serialNumber(cert->get()));
  e.notBefore = asn1ToUnix(X509_get0_notBefore(cert->get()));
  e.notAfter = asn1ToUnix(X509_get0_notAfter(cert->get()));
  return Minted{std::move(*key), std::move(*cert), std::move(*pem), std::move(e)};
}

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

}  // namespace bulwark::pki::detail
