#pragma once
// The policy's invariants (policies::Invariant: `never: {from, to, services}`, `only: {to, from,
// services}`) checked exactly against every flow the compiled policy allows: the partition
// (partition.h) of every flow of both families and both IPsec paths, and of every backend a
// DNAT pool may choose (a failover pool's standby, each slot of a balanced one), each accepted
// piece intersected with the invariant's sets. A flow counts where it is delivered: after DNAT
// (a flow to a VIP that DNAT sends into db reaches db), not when it ends at the gateway itself
// (its built-in input rules are not the policy's), and also when it never passes the gateway
// (two addresses of one segment: the rules cannot stop it). Nothing is sampled.
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/compiler.h"
#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/model.h"
#include "bulwark/policies/resolve.h"
#include "bulwark/review/partition.h"

namespace bulwark::review {

// The addresses of the family an endpoint (any, internet, zone, segment, host, VPN group,
// literal) stands for; empty when the name is unknown.
[[nodiscard]] IntervalSet endpointAddresses(const policies::PolicyIndex& index, const policies::Endpoint& e,
                                            Family f);

// Flows that break an invariant, as the partition found them.
struct BreachFlows {
  Family family = Family::V4;
  IpsecPath path = IpsecPath::Kernel;
  FlowCube cube;    // the flows as they reach the gateway (before DNAT)
  Outcome outcome;  // accepted; dnatTo/dnatPort when DNAT sends them on
};

// One flow of a breach, for people: addresses, service and where DNAT sends it.
struct ExampleFlow {
  Family family = Family::V4;
  IpsecPath path = IpsecPath::Kernel;
  IpAddress src, dst;
  std::uint8_t proto = 0;
  std::uint16_t port = 0;
  std::optional<IpAddress> dnatTo;
  std::optional<std::uint16_t> dnatPort;
  [[nodiscard]] std::string str() const;  // "198.51.100.7 → 203.0.113.10 tcp/3306 (DNAT to 10.30.0.11)"
};

// The flows one rule allows against an invariant.
struct Breach {
  firewall::Origin rule;   // the deciding rule, or "not via the gateway: ..."
  std::string backend;     // "" or the DNAT pool backend that must be chosen for these flows
  std::vector<BreachFlows> flows;
  ExampleFlow example;
  std::string summary;     // "internet → mysql1 mysql (tcp/3306)" in the policy's words
  // "mgmt-ops at campus.yaml:127 allows mgmt → db ssh (tcp/22), e.g. 10.99.0.10 → 10.30.0.11 tcp/22"
  [[nodiscard]] std::string str() const;
  [[nodiscard]] bool switched() const { return rule.what.rfind("not via the gateway", 0) == 0; }
};

struct InvariantResult {
  const policies::Invariant* invariant = nullptr;  // not owned
  std::vector<Breach> breaches;                     // one per rule; empty: it holds
  [[nodiscard]] bool holds() const { return breaches.empty(); }
};

struct InvariantOptions {
  std::string libipsecInterface = "ipsec0";
};

// `policy` must have passed validation, `compiled` be its compilation.
[[nodiscard]] std::vector<InvariantResult> checkInvariants(const policies::Policy& policy,
                                                           const firewall::CompileResult& compiled,
                                                           const InvariantOptions& options = {});

// Each breach as an error at the invariant's file:line:col, naming the rule and a flow.
void reportInvariants(const std::vector<InvariantResult>& results, policies::Diagnostics& out);

// For validate: compile `policy` (valid, with invariants) and report the breaches; nothing
// when it has no invariants.
void checkPolicyInvariants(const policies::Policy& policy, policies::Diagnostics& out);

}  // namespace bulwark::review
