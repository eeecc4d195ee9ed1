#pragma once
// The firewall's whole cycle for bulwarkctl and bulwarkd (vlan/reconcile.h is the links'):
//
//   auto plan = firewall::planTable(&desired);          // observe + diff: reads only
//   for (const auto& c : plan->diff.changes) print(c.description);
//   auto done = firewall::applyTable(&desired, *plan);  // write, then read back
//
// applyTable writes under the ruleset generation the plan was read at (NFNL_BATCH_GENID): a
// foreign change in between makes the kernel refuse the whole batch ("re-plan"). Set element
// additions/removals alone become element updates, changed rules of existing chains a rewrite
// of those chains, anything else one atomic replacement of the table (programmer.h). Then the
// table is read back and compared again: it must now be exactly `desired` (after element
// updates or chain rewrites, the written chains and sets only, when the generation says
// nothing else committed: observeWritten()). A null `desired` means Bulwark owns no table: the plan removes it.
//
// A failure before the kernel committed leaves the table as it was (the kernel applies a
// batch whole or not at all); one after it (the read-back) says so in KernelError::written,
// and the caller restores what it had (the apply engine does).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/kernel_error.h"
#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

// What the kernel holds: the table (nullopt: absent) at ruleset generation genId.
struct TableState {
  std::optional<ObservedTable> table;
  std::uint32_t genId = 0;
};
using TableStatePtr = std::shared_ptr<const TableState>;

[[nodiscard]] KernelResult<TableStatePtr> observeTable();

// The read-back after a write of the rules of `chains` and the elements of `sets` of the table
// `before` holds, made under before's generation: when the generation is exactly one past it
// (the write's own commit, nothing else committed since `before` was read), only those chains
// and sets are read from the kernel and the rest is `before`'s reading of the kernel; else,
// and when a chain or set was not in `before`, the whole table is read (observeTable()).
[[nodiscard]] KernelResult<TableStatePtr> observeWritten(const TableStatePtr& before,
                                                         const std::vector<std::string>& chains,
                                                         const std::vector<std::string>& sets);

// A reading of the kernel at generation `genId` made of `before` (a reading at an earlier
// generation) with the rules of `chains` and the elements of `sets` read again, for a caller
// that knows nothing else of the table changed since `before` (the nftables events said so:
// table_journal.h). When the kernel is at another generation, or a chain or set was not in
// `before`, the whole table is read. `partial` (may be null): whether only those were read.
[[nodiscard]] KernelResult<TableStatePtr> observeSince(const TableStatePtr& before, std::uint32_t genId,
                                                       const std::vector<std::string>& chains,
                                                       const std::vector<std::string>& sets, bool* partial = nullptr);

struct TablePlan {
  TableStatePtr observed;  // what the diff was made against (never null)
  Diff diff;               // empty: in sync
  [[nodiscard]] bool inSync() const { return diff.empty(); }
  // Set element updates only (no replacement of the table).
  [[nodiscard]] bool incremental() const { return !diff.empty() && diff.elementsOnly(); }
  // Rules of existing chains (and maybe elements): those chains are rewritten, not the table.
  [[nodiscard]] bool rewritesChains() const { return diff.rulesOnly(); }
};

// Pure: `desired` (nullptr: no table wanted) against an observation.
[[nodiscard]] TablePlan planFor(const Ruleset* desired, TableStatePtr observed);

// observeTable() + planFor().
[[nodiscard]] KernelResult<TablePlan> planTable(const Ruleset* desired);

struct TableApplied {
  bool incremental = false;  // element updates instead of a replacement
  std::size_t changes = 0;   // plan.diff.changes.size()
  ApplyReport batch;         // the write: netlink messages and bytes
  double millis = 0;         // the write alone (not the read-back)
  std::uint32_t genId = 0;   // the generation at which the read-back found `desired`
  TableStatePtr observed;    // that read-back (a reading of the kernel); null when in sync
};

// Write `plan` (made for the same `desired`), then read back. A plan in sync writes nothing.
[[nodiscard]] KernelResult<TableApplied> applyTable(const Ruleset* desired, const TablePlan& plan);

}  // namespace bulwark::firewall
