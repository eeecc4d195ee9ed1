// flush-certs: empty charon's volatile certificate cache (optionally one type). Needed after
// loading a newer CRL: charon 5.9.8 keeps answering revocation checks from a CRL it already
// verified and cached, so without the flush a freshly revoked certificate is still accepted.
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus flushCerts(ViciClient& c, std::string_view type) {
  Message req;
  if (!type.empty()) {
    req.add("type", std::string(type));
  }
  return callForSuccess(c, "flush-certs", req, "flush-certs");
}

}  // namespace bulwark::vpn::vici
