// load-pool: load or update a virtual IP pool.
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

ViciStatus loadPool(ViciClient& c, std::string_view name, const Section& pool) {
  return loadNamed(c, "load-pool", name, pool);
}

}  // namespace bulwark::vpn::vici
