#pragma once
// Cross-checks of the `ha:` section (an active/standby pair): the two nodes, their own
// addresses against the segments, what floats, the sync link, VRRP and failback.
#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/model.h"

namespace bulwark::policies::detail {

void validateHa(const Policy& policy, Diagnostics& out);

}  // namespace bulwark::policies::detail
