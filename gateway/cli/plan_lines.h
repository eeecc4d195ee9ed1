#pragma once
// A firewall plan as nft commands: what `nft` would have to run to get from the kernel's
// table to the policy's. Shared by `bulwarkctl plan --direct` and bulwarkd's plan/apply.
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::cli {

[[nodiscard]] std::vector<std::string> planLines(const firewall::Ruleset& desired,
                                                 const std::optional<firewall::ObservedTable>& observed,
                                                 const firewall::Diff& d);

}  // namespace bulwark::cli
