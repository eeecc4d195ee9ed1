// load-cert: a certificate (optionally flagged CA) or a CRL.
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus loadCert(ViciClient& c, CertType type, CertFlag flag, std::string_view data) {
  Message req;
  req.add("type", type == CertType::X509Crl ? "X509_CRL" : "X509");
  req.add("flag", flag == CertFlag::Ca ? "CA" : "NONE");
  req.add("data", std::string(data));
  return callForSuccess(c, "load-cert", req, type == CertType::X509Crl ? "load-cert (CRL)" : "load-cert");
}

}  // namespace bulwark::vpn::vici
