#pragma once
// The compiled ruleset run over sets of flows instead of single packets: the evaluator's
// semantics (firewall/evaluator.h: prerouting, DNAT, routing, input or forward, first match
// per chain, jumps, gotos and verdict maps, meters never over) applied to cubes of flows, so
// every flow of a source and destination class ends in exactly one piece with exactly the
// outcome `firewall::evaluate` gives each of its packets. Nothing is sampled; a set lookup is
// one interval-set intersection.
#include <memory>
#include <optional>
#include <vector>

#include "bulwark/firewall/ruleset.h"
#include "bulwark/review/flow_space.h"
#include "bulwark/review/placement.h"

namespace bulwark::review {

struct Outcome {
  bool accepted = false;
  bool switched = false;  // two addresses of one segment: never reaches the gateway (accepted)
  bool local = false;     // for the gateway itself (input chain)
  std::optional<U128> dnatTo;
  std::optional<std::uint16_t> dnatPort;
  firewall::Origin decidedBy;  // the rule whose verdict decided; "" what when none did

  // Same fate for the packets: passes or not, and where DNAT sends those that pass (a dropped
  // packet goes nowhere, whatever a DNAT before the drop chose).
  [[nodiscard]] bool sameFate(const Outcome& o) const {
    if (!accepted && !o.accepted) return true;
    return accepted == o.accepted && dnatTo == o.dnatTo && dnatPort == o.dnatPort;
  }
};

struct Piece {
  FlowCube cube;
  Outcome outcome;
};

struct PartitionOptions {
  // Skip, without walking the flows through them, the rules whose first test matches none of
  // them and the verdict-map elements whose interfaces a cell never has. The same pieces in
  // the same order either way (the tests hold the shortcuts to the full walk).
  bool shortcuts = true;
};

class Partitioner {
 public:
  // Both must outlive the partitioner.
  Partitioner(const firewall::Ruleset& ruleset, const FlowSetup& setup, PartitionOptions options = {});
  ~Partitioner();
  Partitioner(const Partitioner&) = delete;
  Partitioner& operator=(const Partitioner&) = delete;

  // The flows of `cube` -- its sources all of `src`'s class, its destinations all of `dst`'s --
  // as disjoint pieces covering it, appended to `out`.
  void run(const FlowCube& cube, const SourceClass& src, const DestClass& dst, std::vector<Piece>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every flow of the setup's family and IPsec path.
[[nodiscard]] std::vector<Piece> partitionAll(const firewall::Ruleset& ruleset, const FlowSetup& setup,
                                              PartitionOptions options = {});

// Only the flows whose source lies in `sources` (e.g. an invariant's `from`).
[[nodiscard]] std::vector<Piece> partitionFrom(const firewall::Ruleset& ruleset, const FlowSetup& setup,
                                               const IntervalSet& sources);

}  // namespace bulwark::review
