// unload-conn: remove a connection loaded over VICI.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciStatus unloadConn(ViciClient& c, std::string_view name) {
  Message req;
  req.add("name", std::string(name));
  auto r = c.call("unload-conn", req);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, "unload-conn " + std::string(name));
}

}  // namespace bulwark::vpn::vici
