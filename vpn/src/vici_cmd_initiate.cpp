// initiate: start a CHILD_SA (and its IKE_SA); used by tests and the lab.
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus initiate(ViciClient& c, const InitiateRequest& i) {
  Message req;
  req.add("child", i.child);
  if (!i.ike.empty()) {
    req.add("ike", i.ike);
  }
  return controlSa(c, "initiate", std::move(req), i.timeoutMs, "initiate " + i.child);
}

}  // namespace bulwark::vpn::vici
