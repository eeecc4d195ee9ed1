#pragma once
// The flows whose fate differs between two rulesets: for every address family and IPsec path,
// the common refinement of both sides' source and destination classes, each cell partitioned
// by both rulesets (partition.h), and the intersections of pieces whose outcomes differ
// (accepted or not, or DNATed elsewhere). Exact: a flow is in a change iff evaluating it
// against the two rulesets gives different fates.
#include <vector>

#include "bulwark/firewall/ruleset.h"
#include "bulwark/policies/model.h"
#include "bulwark/review/partition.h"

namespace bulwark::review {

// One side of a comparison: a ruleset, and the policy that places its flows (routes, pools,
// segments, VIPs). Both must outlive the comparison.
struct FlowSide {
  const firewall::Ruleset* ruleset = nullptr;
  const policies::Policy* placement = nullptr;
};

struct FlowChange {
  Family family = Family::V4;
  IpsecPath path = IpsecPath::Kernel;
  FlowCube cube;
  Outcome before, after;
};

struct FlowDiffOptions {
  std::string libipsecInterface = "ipsec0";
  // Only flows whose source lies here (per family); unset = all.
  std::optional<IntervalSet> sources4, sources6;
};

[[nodiscard]] std::vector<FlowChange> flowChanges(const FlowSide& before, const FlowSide& after,
                                                  const FlowDiffOptions& options = {});

}  // namespace bulwark::review
