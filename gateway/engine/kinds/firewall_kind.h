#pragma once
// The firewall as a resource kind: the compiled Ruleset of table inet bulwark, cycled by the
// firewall module (firewall/reconcile.h: planTable/applyTable).
#include <cstdint>
#include <functional>
#include <vector>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/ruleset.h"
#include "resource_kind.h"

namespace bulwark::engine {

class FirewallState : public KindState {
 public:
  explicit FirewallState(firewall::Ruleset rs, std::vector<firewall::DnatPool> p = {})
      : ruleset(std::move(rs)), pools(std::move(p)) {}
  firewall::Ruleset ruleset;              // DNAT maps as with every backend up
  std::vector<firewall::DnatPool> pools;  // the maps whose elements follow the backends' health
};

// The backends' health on top of a state (bulwarkd's dnat_health.h): the ruleset the kernel
// must hold right now, so applies, rollbacks and drift repair write the maps as health has
// them, never back to "every backend up". `version` changes whenever the result would.
struct FirewallOverlay {
  std::function<firewall::Ruleset(const FirewallState&)> effective;
  std::function<std::uint64_t()> version;
};

[[nodiscard]] ResourceKindPtr makeFirewallKind(firewall::CompileOptions options = {}, FirewallOverlay overlay = {});

// The ruleset a state holds, or nullptr (no state / another kind's state).
[[nodiscard]] const firewall::Ruleset* firewallRuleset(const KindStatePtr& state);

}  // namespace bulwark::engine
