// OpenSSL building blocks of the PKI (EVP only), the index file and the CRL.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include <ctime>

#include "pki_internal.h"

namespace bulwark::vpn::pki::detail {

PkiResult<PkeyPtr> generateKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return cryptoError("generating an ECDSA P-256 key");
  }
  return key;
}

PkiResult<PkeyPtr> loadKey(const fs::path& path) {
  auto text = readFile(path);
  if (!text) {
    return text.error();
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) {
    return cryptoError("reading private key " + path.string());
  }
  return key;
}

PkiResult<X509Ptr> loadCert(const fs::path& path) {
  auto text = readFile(path);
  if (!text) {
    return text.error();
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    return cryptoError("reading certificate " + path.string());
  }
  return cert;
}

namespace {

PkiResult<std::string> bioText(BIO* bio) {
  BUF_MEM* buf = nullptr;
  BIO_get_mem_ptr(bio, &buf);
  if (!buf) {
    return cryptoError("BIO_get_mem_ptr");
  }
  return std::string(buf->data, buf->length);
}

}  // namespace

PkiResult<std::string> certPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return cryptoError("encoding certificate");
  }
  return bioText(bio.get());
}

PkiResult<std::string> crlPem(X509_CRL* crl) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) {
    return cryptoError("encoding CRL");
  }
  return bioText(bio.get());
}

std::string serialHex(const ASN1_INTEGER* serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) {
    return {};
  }
  OsslStringPtr hex(BN_bn2hex(bn.get()));
  return hex ? std::string(hex.get()) : std::string();
}

PkiResult<Asn1IntPtr> serialFromHex(const std::string& hex) {
  BIGNUM* raw = nullptr;
  if (hex.empty() || BN_hex2bn(&raw, hex.c_str()) != static_cast<int>(hex.size())) {
    BN_free(raw);
    return makeError(PkiErrorKind::Invalid, "bad serial '" + hex + "' in the index");
  }
  BnPtr bn(raw);
  Asn1IntPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) {
    return cryptoError("serial");
  }
  return out;
}

PkiResult<Asn1IntPtr> randomSerial() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return cryptoError("RAND_bytes");
  }
  bytes[0] &= 0x7f;  // positive: 16 octets DER, within RFC 5280's 20
  bytes[0] |= 0x40;  // never shorter, never zero; 126 random bits remain
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  Asn1IntPtr out(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!out) {
    return cryptoError("serial");
  }
  return out;
}

std::int64_t asn1ToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string nameText(const X509_NAME* name) {
  std::string out;
  int n = X509_NAME_entry_count(name);
  for (int i = 0; i < n; ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(e);
    const char* sn = OBJ_nid2sn(OBJ_obj2nid(obj));
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(e);
    if (!out.empty()) {
      out += ", ";
    }
    out += sn ? sn : "?";
    out += '=';
    out.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
               static_cast<std::size_t>(ASN1_STRING_length(data)));
  }
  return out;
}

// ---- index ----

IndexEntry* Index::active(std::string_view name, std::string_view kind) {
  for (auto& e : entries) {
    if (!e.revoked && e.name == name && (kind.empty() || e.kind == kind)) {
      return &e;
    }
  }
  return nullptr;
}

bool Index::hasSerial(std::string_view serial) const {
  for (const auto& e : entries) {
    if (e.serial == serial) {
      return true;
    }
  }
  return false;
}

PkiResult<Index> loadIndex(const fs::path& dir) {
  auto text = readFile(indexPath(dir));
  if (!text) {
    if (text.error().kind == PkiErrorKind::NotFound) {
      return makeError(PkiErrorKind::NotFound,
                       "no PKI in " + dir.string() + " (run `bulwarkctl pki init` first)");
    }
    return text.error();
  }
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return makeError(PkiErrorKind::Io, indexPath(dir).string() + ": " + why);
  };
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1) {
    return bad("not a Bulwark PKI index (version 1)");
  }
  Index idx;
  if (!j.contains("caName") || !j["caName"].is_string() || !j.contains("crlNumber") ||
      !j["crlNumber"].is_number_unsigned() || !j.contains("certs") || !j["certs"].is_array()) {
    return bad("missing caName, crlNumber or certs");
  }
  idx.caName = j["caName"].get<std::string>();
  idx.crlNumber = j["crlNumber"].get<std::uint64_t>();
  for (const auto& c : j["certs"]) {
    if (!c.is_object()) {
      return bad("a certs entry is not an object");
    }
    IndexEntry e;
    try {
      e.name = c.at("name").get<std::string>();
      e.group = c.value("group", std::string());
      e.kind = c.at("kind").get<std::string>();
      e.serial = c.at("serial").get<std::string>();
      e.notBefore = c.at("notBefore").get<std::int64_t>();
      e.notAfter = c.at("notAfter").get<std::int64_t>();
      e.revoked = c.value("revoked", false);
      e.revokedAt = c.value("revokedAt", std::int64_t{0});
    } catch (const nlohmann::json::exception& ex) {
      return bad(std::string("bad certs entry: ") + ex.what());
    }
    idx.entries.push_back(std::move(e));
  }
  return idx;
}

Status saveIndex(const fs::path& dir, const Index& index) {
  nlohmann::json certs = nlohmann::json::array();
  for (const auto& e : index.entries) {
    nlohmann::json c = {{"name", e.name}, {"kind", e.kind}, {"serial", e.serial},
                        {"notBefore", e.notBefore}, {"notAfter", e.notAfter}, {"revoked", e.revoked}};
    if (!e.group.empty()) {
      c["group"] = e.group;
    }
    if (e.revoked) {
      c["revokedAt"] = e.revokedAt;
    }
    certs.push_back(std::move(c));
  }
  nlohmann::json j = {{"version", 1}, {"caName", index.caName}, {"crlNumber", index.crlNumber},
                      {"certs", std::move(certs)}};
  return writeAtomic(indexPath(dir), 0644, j.dump(2) + "\n");
}

// ---- CRL ----

PkiResult<CrlInfo> writeCrl(const fs::path& dir, const Index& index, X509* ca, EVP_PKEY* caKey) {
  CrlPtr crl(X509_CRL_new());
  if (!crl) {
    return cryptoError("X509_CRL_new");
  }
  std::time_t now = std::time(nullptr);
  Asn1TimePtr last(ASN1_TIME_set(nullptr, now));
  Asn1TimePtr next(X509_time_adj_ex(nullptr, kCrlValidityDays, 0, &now));
  if (!last || !next || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return cryptoError("building the CRL");
  }
  std::size_t count = 0;
  for (const auto& e : index.entries) {
    if (!e.revoked) {
      continue;
    }
    auto serial = serialFromHex(e.serial);
    if (!serial) {
      return serial.error();
    }
    RevokedPtr rev(X509_REVOKED_new());
    Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<std::time_t>(e.revokedAt)));
    if (!rev || !when || X509_REVOKED_set_serialNumber(rev.get(), serial->get()) != 1 ||
        X509_REVOKED_set_revocationDate(rev.get(), when.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), rev.get()) != 1) {
      return cryptoError("adding a revoked serial to the CRL");
    }
    rev.release();  // owned by the CRL now
    ++count;
  }
  Asn1IntPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_uint64(number.get(), index.crlNumber) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return cryptoError("CRL number");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca, nullptr, nullptr, crl.get(), 0);
  ExtPtr aki(X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1) {
    return cryptoError("CRL authorityKeyIdentifier");
  }
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), caKey, EVP_sha256()) <= 0) {
    return cryptoError("signing the CRL");
  }
  auto pem = crlPem(crl.get());
  if (!pem) {
    return pem.error();
  }
  if (Status st = writeAtomic(crlPath(dir), 0644, *pem); !st) {
    return st.error();
  }
  return CrlInfo{index.crlNumber, count, asn1ToUnix(next.get()), crlPath(dir)};
}

}  // namespace bulwark::vpn::pki::detail
