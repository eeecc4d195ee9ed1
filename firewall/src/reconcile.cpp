// plan / apply of table inet bulwark: observe → diff → write (element updates, one
// replacement, or the table's removal, under the generation lock) → read back.
#include "bulwark/firewall/reconcile.h"

#include <algorithm>
#include <chrono>

namespace bulwark::firewall {

namespace {

std::vector<std::string> setsOf(const std::vector<ElementChange>& additions, const std::vector<ElementChange>& removals) {
  std::vector<std::string> out;
  for (const auto* changes : {&additions, &removals}) {
    for (const auto& c : *changes) {
      if (std::find(out.begin(), out.end(), c.set) == out.end()) out.push_back(c.set);
    }
  }
  return out;
}

}  // namespace

TablePlan planFor(const Ruleset* desired, TableStatePtr observed) {
  TablePlan p;
  p.observed = std::move(observed);
  if (desired != nullptr) {
    p.diff = diff(*desired, p.observed->table);
  } else if (p.observed->table) {
    Change c;
    c.kind = ChangeKind::TableRemoved;
    c.description = std::string("table inet ") + kTableName + " removed";
    p.diff.changes.push_back(std::move(c));
  }
  return p;
}

KernelResult<TablePlan> planTable(const Ruleset* desired) {
  auto observed = observeTable();
  if (!observed) {
    return observed.error();
  }
  return planFor(desired, std::move(observed.value()));
}

KernelResult<TableApplied> applyTable(const Ruleset* desired, const TablePlan& plan) {
  TableApplied out;
  out.genId = plan.observed->genId;
  if (plan.inSync()) {
    return out;
  }
  out.incremental = plan.incremental();
  out.changes = plan.diff.changes.size();
  // The write is guarded by the generation the diff was made against: a foreign change in
  // between makes the kernel refuse the whole batch.
  ApplyOptions ao;
  ao.expectedGenId = plan.observed->genId;
  const auto start = std::chrono::steady_clock::now();
  const bool rewrite = desired != nullptr && plan.rewritesChains();
  const auto additions = plan.diff.elementAdditions();
  const auto removals = plan.diff.elementRemovals();
  const auto chains = rewrite ? plan.diff.changedChains() : std::vector<std::string>{};
  auto written = desired == nullptr ? deleteTable(ao)
                 : out.incremental  ? applyElementChanges(*desired, additions, removals, ao)
                 : rewrite          ? applyChainRewrites(*desired, chains, additions, removals, ao)
                                    : apply(*desired, ao);
  if (!written) {
    return written.error();
  }
  out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  out.batch = *written;

  // Read back: the kernel must now hold exactly `desired`. After a write of some chains and
  // sets, when the generation says that write was the only commit since the plan's reading,
  // only what it wrote is read again (observeWritten()); a replacement is read whole.
  auto after = out.incremental || rewrite ? observeWritten(plan.observed, chains, setsOf(additions, removals))
                                          : observeTable();
  if (!after) {
    KernelError e = after.error();
    e.message = "applied, but reading the table back failed: " + e.message;
    e.written = true;
    return e;
  }
  auto remaining = planFor(desired, std::move(after.value()));
  if (!remaining.inSync()) {
    KernelError e;
    e.message = "applied, but the kernel's table still differs from the policy";
    for (const auto& c : remaining.diff.changes) e.items.push_back(c.description);
    e.written = true;
    return e;
  }
  out.genId = remaining.observed->genId;
  out.observed = remaining.observed;
  return out;
}

}  // namespace bulwark::firewall
