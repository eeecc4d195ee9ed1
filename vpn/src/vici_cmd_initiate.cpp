// initiate: start a CHILD_SA (and its IKE_SA); used by tests and the lab.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciStatus initiate(ViciClient& c, const InitiateRequest& i) {
  Message req;
  req.add("child", i.child);
  if (!i.ike.empty()) {
    req.add("ike", i.ike);
  }
  req.add("timeout", std::to_string(i.timeoutMs));
  req.add("loglevel", "-1");
  const int wait = i.timeoutMs > 0 ? i.timeoutMs + 5000 : 0;
  auto r = c.call("initiate", req, wait);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, "initiate " + i.child);
}

}  // namespace bulwark::vpn::vici
