// unload-conn: remove a connection loaded over VICI.
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus unloadConn(ViciClient& c, std::string_view name) { return unloadNamed(c, "unload-conn", name); }

}  // namespace bulwark::vpn::vici
