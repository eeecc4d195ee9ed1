// terminate: close an IKE_SA or CHILD_SA (by name or unique id).
#include "bulwark/vpn/vici_commands.h"

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
  req.add("timeout", std::to_string(t.timeoutMs));
  req.add("loglevel", "-1");
  // Wait a little longer than charon does, so its own timeout answer reaches us.
  const int wait = t.timeoutMs > 0 ? t.timeoutMs + 5000 : 0;
  auto r = c.call("terminate", req, wait);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, "terminate");
}

}  // namespace bulwark::vpn::vici
