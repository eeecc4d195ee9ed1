// load-conn: load or replace one connection definition.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciStatus loadConn(ViciClient& c, std::string_view name, const Section& conn) {
  Message req;
  req.addSection(std::string(name)) = conn;
  auto r = c.call("load-conn", req);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, "load-conn " + std::string(name));
}

}  // namespace bulwark::vpn::vici
