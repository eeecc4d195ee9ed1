// OpenSSL building blocks of the PKI (EVP only): keys, certificates, serials, PEM/DER texts.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <ctime>

#include "internal.h"

namespace bulwark::pki::detail {

namespace {

enum class Secrecy { Public, Secret };

// What `emit` writes into a memory BIO, as a string. A secret's BIO buffer is wiped after
// the copy (the copy is the caller's to wipe: the FileTransaction does).
template <typename Emit>
PkiResult<std::string> encode(const char* what, Secrecy secrecy, Emit emit) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !emit(bio.get())) {
    return cryptoError(what);
  }
  BUF_MEM* buf = nullptr;
  BIO_get_mem_ptr(bio.get(), &buf);
  if (!buf) {
    return cryptoError("BIO_get_mem_ptr");
  }
  std::string out(buf->data, buf->length);
  if (secrecy == Secrecy::Secret) {
    OPENSSL_cleanse(buf->data, buf->length);
  }
  return out;
}

// What `read` parses from the PEM file at `path` through a memory BIO, or an error naming
// `what` and the file. A secret's text is wiped once parsed.
template <typename Ptr, typename Read>
PkiResult<Ptr> decodeFile(const fs::path& path, const std::string& what, Secrecy secrecy, Read read) {
  auto text = readFile(path);
  if (!text) {
    return text.error();
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  Ptr out(bio ? read(bio.get()) : nullptr);
  if (secrecy == Secrecy::Secret) {
    OPENSSL_cleanse(text->data(), text->size());
  }
  if (!out) {
    return cryptoError(what + " " + path.string());
  }
  return out;
}

}  // namespace

PkiResult<PkeyPtr> generateKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return cryptoError("generating an ECDSA P-256 key");
  }
  return key;
}

PkiResult<PkeyPtr> loadKey(const fs::path& path) {
  return decodeFile<PkeyPtr>(path, "reading private key", Secrecy::Secret,
                             [](BIO* b) { return PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr); });
}

PkiResult<X509Ptr> loadCert(const fs::path& path) {
  return decodeFile<X509Ptr>(path, "reading certificate", Secrecy::Public,
                             [](BIO* b) { return PEM_read_bio_X509(b, nullptr, nullptr, nullptr); });
}

PkiResult<std::string> certPem(X509* cert) {
  return encode("encoding certificate", Secrecy::Public, [cert](BIO* b) { return PEM_write_bio_X509(b, cert) == 1; });
}

PkiResult<std::string> crlPem(X509_CRL* crl) {
  return encode("encoding CRL", Secrecy::Public, [crl](BIO* b) { return PEM_write_bio_X509_CRL(b, crl) == 1; });
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

PkiResult<std::string> keyPem(EVP_PKEY* key) {
  return encode("encoding the private key", Secrecy::Secret, [key](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
}

PkiResult<std::string> p12Der(PKCS12* p12) {
  return encode("encoding the PKCS#12 bundle", Secrecy::Secret, [p12](BIO* b) { return i2d_PKCS12_bio(b, p12) == 1; });
}

}  // namespace bulwark::pki::detail
