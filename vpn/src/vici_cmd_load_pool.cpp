// load-pool: load or update a virtual IP pool.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciStatus loadPool(ViciClient& c, std::string_view name, const Section& pool) {
  Message req;
  req.addSection(std::string(name)) = pool;
  auto r = c.call("load-pool", req);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, "load-pool " + std::string(name));
}

}  // namespace bulwark::vpn::vici
