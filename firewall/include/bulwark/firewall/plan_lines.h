#pragma once
// A firewall plan as nft commands: what `nft` would have to run to get from the kernel's
// table to the policy's (`bulwarkctl plan --direct` and bulwarkd's plan/apply print it).
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

// `desired` null: Bulwark owns no table (the plan deletes it).
[[nodiscard]] std::vector<std::string> planLines(const Ruleset* desired, const std::optional<ObservedTable>& observed,
                                                 const Diff& d);

}  // namespace bulwark::firewall
