#pragma once
// The firewall as a ResourceKind: the compiled Ruleset of table inet bulwark.
#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/ruleset.h"
#include "resource_kind.h"

namespace bulwark::daemon {

class FirewallState : public KindState {
 public:
  explicit FirewallState(firewall::Ruleset rs) : ruleset(std::move(rs)) {}
  firewall::Ruleset ruleset;
};

[[nodiscard]] ResourceKindPtr makeFirewallKind(firewall::CompileOptions options = {});

// The ruleset a state holds, or nullptr (no state / another kind's state).
[[nodiscard]] const firewall::Ruleset* firewallRuleset(const KindStatePtr& state);

}  // namespace bulwark::daemon
