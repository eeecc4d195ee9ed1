#pragma once
// Cross-reference and consistency checks over a loaded Policy: names, addresses, VLANs,
// ports, NAT targets, VPN pools, and rule order (contradicted and shadowed rules).
#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/model.h"

namespace bulwark::policies {

void validatePolicy(const Policy& policy, Diagnostics& out);

}  // namespace bulwark::policies
