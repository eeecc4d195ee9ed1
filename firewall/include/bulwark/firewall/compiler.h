#pragma once
// Policy → Ruleset IR. Pure: no sockets, no files.
//
// Shape of the table (inet bulwark):
//   prerouting  (filter, raw-ish priority -150): anti-spoofing (fib), the per-source SYN limit
//               on the uplink (gateway.syn_limit), each VIP port's SYN limit for all sources
//               together (nat.dnat[].syn_limit), invalid dropped
//   prerouting_nat (nat, dstnat): DNAT of VIPs (several backends: through a map per pool,
//               see dnat_pools.h)
//   forward     (filter, policy drop): established/related accepted first, invalid dropped,
//               VPN sources dispatched only when they arrived through IPsec, then
//               `iifname . oifname vmap @zone_dispatch` → one chain per zone pair
//   zone pair chains "<from>__<to>": the policy rules for that pair in order (each a few
//               set lookups, jumping to the rule's own chain: counter, limits, log, verdict),
//               then a rate-limited log naming the pair and drop
//   input       (filter, policy drop): the gateway itself (IKE/ESP, SSH from mgmt/VPN; with
//               ha: VRRP and conntrackd's sync between the two nodes on the sync link)
//   output      (filter, policy accept)
//   postrouting_nat (nat, srcnat): SNAT / masquerade out of the uplink (with ha: SNAT to the
//               floating uplink address instead of masquerade)
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/ruleset.h"
#include "bulwark/policies/model.h"
#include "bulwark/policies/resolve.h"

namespace bulwark::firewall {

struct CompileOptions {
  // Userspace ESP (charon's kernel-libipsec) delivers decapsulated packets on this TUN
  // interface instead of through XFRM; both paths count as "arrived through IPsec".
  std::string libipsecInterface = "ipsec0";
  // Drop log lines per second, per zone pair.
  std::uint32_t dropLogRate = 5;
  // For an offline analysis of some flows only (review/invariants.h), never for the kernel:
  // when set, only these zone pairs' chains (from, to) get the policy's rules, and a rule in
  // none of them is left out with its chain and sets. Those pairs decide exactly as in the
  // whole ruleset (a rule kept has all its sets' prefixes, its lines in the same order); the
  // others only drop. A flat policy of 10,000 rules compiled for three invariants keeps a few.
  std::optional<std::set<std::pair<std::string, std::string>>> zonePairs;
};

struct CompileResult {
  Ruleset ruleset;               // DNAT maps as with every backend up
  std::vector<DnatPool> pools;   // the DNAT maps whose elements follow the backends' health
  policies::Diagnostics diagnostics;  // e.g. interface names too long
  [[nodiscard]] bool ok() const { return !diagnostics.hasErrors(); }
};

// The policy must have passed validation.
[[nodiscard]] CompileResult compile(const policies::Policy& policy, const CompileOptions& options = {});

using policies::segmentInterface;

}  // namespace bulwark::firewall
