// unload-pool: remove a pool (charon refuses while leases are online).
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciStatus unloadPool(ViciClient& c, std::string_view name) {
  Message req;
  req.add("name", std::string(name));
  auto r = c.call("unload-pool", req);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, "unload-pool " + std::string(name));
}

}  // namespace bulwark::vpn::vici
