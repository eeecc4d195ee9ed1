#pragma once
// The health checks as a ResourceKind (after the firewall): desired(policy) = the targets the
// policy's checks name; apply = DnatHealth::configure (the engine probes them from then on).
// A rollback or a policy without checks reconfigures the engine like any other kind.
#include "dnat_health.h"
#include "resource_kind.h"

namespace bulwark::daemon {

[[nodiscard]] ResourceKindPtr makeHealthKind(DnatHealth& health);

}  // namespace bulwark::daemon
