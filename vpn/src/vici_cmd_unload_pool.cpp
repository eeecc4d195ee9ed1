// unload-pool: remove a pool (charon refuses while leases are online).
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus unloadPool(ViciClient& c, std::string_view name) { return unloadNamed(c, "unload-pool", name); }

}  // namespace bulwark::vpn::vici
