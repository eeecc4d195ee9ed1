#pragma once
// The firewall as a resource kind: the compiled Ruleset of table inet bulwark, cycled by the
// firewall module (firewall/reconcile.h: planTable/applyTable).
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/reconcile.h"
#include "bulwark/firewall/ruleset.h"
#include "bulwark/firewall/table_journal.h"
#include "resource_kind.h"
#include "revocation.h"

namespace bulwark::engine {

class FirewallState : public KindState {
 public:
  explicit FirewallState(firewall::Ruleset rs, std::vector<firewall::DnatPool> p = {},
                         std::shared_ptr<const FlowContext> f = nullptr)
      : ruleset(std::move(rs)), pools(std::move(p)), flows(std::move(f)) {}
  firewall::Ruleset ruleset;              // DNAT maps as with every backend up
  std::vector<firewall::DnatPool> pools;  // the maps whose elements follow the backends' health
  std::shared_ptr<const FlowContext> flows;  // how flows reach the gateway (null: adopted from the kernel)
};

// The backends' health on top of a state (bulwarkd's dnat_health.h): the ruleset the kernel
// must hold right now, so applies, rollbacks and drift repair write the maps as health has
// them, never back to "every backend up". `version` changes whenever the result would.
// `found` (may be empty) sees each reading a plan makes (null: no table), before the plan asks
// `effective`: a restarted bulwarkd takes the health its predecessor left in the maps from it.
struct FirewallOverlay {
  std::function<firewall::Ruleset(const FirewallState&)> effective;
  std::function<std::uint64_t()> version;
  std::function<void(const FirewallState&, const firewall::ObservedTable*)> found;
};

// `journal` (bulwarkd's, fed by its nftables watch; may be null): observe() then reads only the
// chains and sets the events since the last verified reading named, when it can say so.
[[nodiscard]] ResourceKindPtr makeFirewallKind(firewall::CompileOptions options = {}, FirewallOverlay overlay = {},
                                               std::shared_ptr<firewall::TableJournal> journal = nullptr);

// One firewall change as revocation judges it: the table the kernel held before (its
// ruleset as read back), the ruleset written, and the policy's flow context. Holds what it
// points into.
struct FirewallChange {
  firewall::TableStatePtr before;
  const firewall::Ruleset* after = nullptr;
  std::shared_ptr<const FlowContext> flows;
  std::shared_ptr<const void> keep;  // the plan `after` may point into
  KindStatePtr state;                // or the state it points into
  const firewall::Diff* diff = nullptr;  // the plan's, in `keep`: onlyWidens() skips the judge
  // Something to judge: there was a table before, a table after, and the policy's context.
  [[nodiscard]] bool judgeable() const { return before && before->table && after && flows; }
};
// The change a firewall plan would make (plan: how many connections it would cut) or made
// (apply); nullopt when in sync or another kind's.
[[nodiscard]] std::optional<FirewallChange> firewallChange(const KindPlan& plan, const KindStatePtr& state);
[[nodiscard]] std::optional<FirewallChange> firewallChange(const KindApplied& applied, const KindStatePtr& state);

// Revocation (revocation.h) of one change: the connections the ruleset before admitted and
// the ruleset after refuses. nullopt when there is nothing to judge: no table before (no
// Bulwark policy admitted anything), no table after, or a state adopted from the kernel (no
// policy to say how flows arrive).
[[nodiscard]] std::optional<Result<RevocationReport, RevocationError>> revokeChange(const FirewallChange& change,
                                                                                   const RevocationOptions& options);

// The ruleset a state holds, or nullptr (no state / another kind's state).
[[nodiscard]] const firewall::Ruleset* firewallRuleset(const KindStatePtr& state);

}  // namespace bulwark::engine
