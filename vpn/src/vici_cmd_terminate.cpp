// terminate: close an IKE_SA or CHILD_SA (by name or unique id).
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus terminate(ViciClient& c, const TerminateRequest& t) {
  Message req;
  if (!t.child.empty()) {
    req.add("child", t.child);
  }
  if (!t.ike.empty()) {
    req.add("ike", t.ike);
  }
  if (!t.childId.empty()) {
    req.add("child-id", t.childId);
  }
  if (!t.ikeId.empty()) {
    req.add("ike-id", t.ikeId);
  }
  return controlSa(c, "terminate", std::move(req), t.timeoutMs, "terminate");
}

}  // namespace bulwark::vpn::vici
