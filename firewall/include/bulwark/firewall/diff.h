#pragma once
// The desired IR against the observed table: what apply would have to change (pure). Element
// additions/removals alone are applied as set element updates; anything else replaces the
// table (programmer.h).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

// One element of one named set (definition looked up in the Ruleset passed alongside).
struct ElementChange {
  std::string set;
  SetElement element;
};

enum class ChangeKind : std::uint8_t {
  TableAbsent,
  TableRemoved,  // Bulwark owns no table any more (reconcile.h: a plan for no desired table)
  SetAdded,
  SetRemoved,
  SetChanged,  // definition differs (key, flags, timeout, ...): needs a table replacement
  ElementAdded,
  ElementRemoved,
  ChainAdded,
  ChainRemoved,
  ChainChanged,  // hook/type/priority/policy differs
  RuleAdded,
  RuleRemoved,
  RuleChanged,
};

struct Change {
  ChangeKind kind = ChangeKind::TableAbsent;
  std::string set;            // set/element changes
  std::string chain;          // chain/rule changes
  std::size_t ruleIndex = 0;  // rule changes: position in the chain (desired side for added/changed)
  std::optional<SetElement> element;  // element changes
  std::string description;    // human readable, one line
};

struct Diff {
  std::vector<Change> changes;
  [[nodiscard]] bool empty() const { return changes.empty(); }
  // Only element additions/removals: applyElementChanges() suffices.
  [[nodiscard]] bool elementsOnly() const;
  [[nodiscard]] std::vector<ElementChange> elementAdditions() const;
  [[nodiscard]] std::vector<ElementChange> elementRemovals() const;
  // Rules of existing chains differ (and maybe elements), nothing else: rewriting those
  // chains (applyChainRewrites()) suffices, the table need not be replaced.
  [[nodiscard]] bool rulesOnly() const;
  // The chains whose rules differ, each once, in the order of the changes.
  [[nodiscard]] std::vector<std::string> changedChains() const;
};

// observed == nullopt means the table is absent. Elements of dynamic sets (filled by the
// packet path) are ignored. Rules are compared by expressions, verdict and comment, after
// bringing the desired rule to the form the kernel stores (canonicalRule).
[[nodiscard]] Diff diff(const Ruleset& desired, const std::optional<ObservedTable>& observed);

// True when `d` (made for `desired`) cannot make the ruleset refuse a connection it accepted:
// only set elements change, each added to a set that only accept rules look up or removed from a
// set that only drop/reject rules look up (positive lookups in rules that only read the packet,
// in chains no NAT hook reaches). The revocation after such a change has nothing to judge.
[[nodiscard]] bool onlyWidens(const Diff& d, const Ruleset& desired);

// The address parts of the elements `d` adds or removes, when it changes set elements only and
// every such element has one: a flow none of whose addresses lies in one of them meets the same
// lookups before and after, so its verdict cannot change. nullopt otherwise (a rule, chain or
// set change, or an element keyed by interface, protocol, port or DNAT slot alone).
[[nodiscard]] std::optional<std::vector<Prefix>> changedAddresses(const Diff& d);

// The IR the kernel will report back for `r`: implicit protocol dependencies the
// programmer emits (meta nfproto before ip/ip6 loads, meta l4proto tcp before tcp flags)
// are folded the way observe() folds them. Idempotent; most rules are unchanged by it.
[[nodiscard]] Rule canonicalRule(const Rule& r);

// Structural equality of IR pieces (the IR has no operator==).
[[nodiscard]] bool sameExprs(const std::vector<Expr>& a, const std::vector<Expr>& b);
[[nodiscard]] bool sameElement(const SetElement& a, const SetElement& b);
[[nodiscard]] std::string describeExpr(const Expr& e);

}  // namespace bulwark::firewall
