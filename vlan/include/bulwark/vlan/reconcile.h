#pragma once
// The link reconciler's entry points for bulwarkctl and bulwarkd: observe the kernel (in the
// calling thread's network namespace), plan, apply.
//
//   auto plan = bulwark::vlan::planLinks(policy);         // reads only
//   if (!plan) { print(plan.error().message); }
//   for (const auto& op : plan->ops) print(op.description());
//   auto done = bulwark::vlan::applyLinks(*plan);          // writes; all or nothing
//
// applyLinks re-observes first and refuses (Error::Code::Stale) when the kernel no longer
// matches what the plan was made against. Each op is one netlink message with NLM_F_ACK (or
// one /proc/sys write), checked before the next; on the first failure the ops already done
// are undone in reverse and the error names the segment's policy file:line:col:
//   "campus.yaml:18:5: cannot create VLAN 20 on eth1: Operation not supported".
#include <cstddef>
#include <string>
#include <vector>

#include "bulwark/policies/model.h"
#include "bulwark/vlan/links.h"
#include "bulwark/vlan/result.h"

namespace bulwark::vlan {

// Links (RTM_GETLINK), addresses (RTM_GETADDR) and per-link forwarding/rp_filter
// (RTM_GETNETCONF, IPv4 and IPv6): one dump round trip each.
[[nodiscard]] Result<ObservedState> observe();

struct Plan {
  LinkSet desired;
  ObservedState observed;  // what the ops were computed against
  std::vector<Op> ops;     // empty: nothing to do
  [[nodiscard]] bool empty() const { return ops.empty(); }
};

// desiredLinks + observe + diff. Errors: policy problems, conflicts, missing interfaces.
[[nodiscard]] Result<Plan> planLinks(const policies::Policy& policy, std::string_view haNode = {});

struct ApplyReport {
  std::size_t ops = 0;       // operations applied
  std::size_t messages = 0;  // netlink requests sent (each acked)
  std::size_t sysctls = 0;   // /proc/sys writes
};

// Apply a plan made by planLinks. On failure nothing of this run is left behind (best effort:
// if an undo step itself fails, the error says so and lists what is left).
[[nodiscard]] Result<ApplyReport> applyLinks(const Plan& plan);

}  // namespace bulwark::vlan
