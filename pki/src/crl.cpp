// crl.pem: the CA's signed list of revoked serials (v2, crlNumber, AKI).
#include <ctime>

#include "internal.h"

namespace bulwark::pki::detail {

PkiResult<CrlInfo> stageCrl(FileTransaction& tx, const fs::path& dir, const Index& index, X509* ca, EVP_PKEY* caKey) {
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
  tx.replace(crlPath(dir), 0644, std::move(*pem));
  return CrlInfo{index.crlNumber, count, asn1ToUnix(next.get()), crlPath(dir)};
}

}  // namespace bulwark::pki::detail
