#pragma once
// Removes table inet bulwark in one batch (for a rollback to "Bulwark owned nothing").
// The firewall module's programmer only replaces the table; this is the one write it lacks.
#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

// Not an error when the table is already absent.
[[nodiscard]] gateway::Status deleteBulwarkTable();

}  // namespace bulwark::daemon
