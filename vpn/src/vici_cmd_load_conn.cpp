// load-conn: load or replace one connection definition.
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus loadConn(ViciClient& c, std::string_view name, const Section& conn) {
  return loadNamed(c, "load-conn", name, conn);
}

}  // namespace bulwark::vpn::vici
