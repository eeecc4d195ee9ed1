#pragma once
// The offline evaluator: runs one new connection's first packet through the Ruleset IR
// the way the kernel would (prerouting, DNAT, routing, forward or input) and says what
// happens and which rule decided. It reads the compiled IR, not the policy, so it checks
// the compiler too. Meters and limits are taken as not exceeded.
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/ruleset.h"
#include "bulwark/policies/model.h"

namespace bulwark::firewall {

// Where the gateway routes a destination: longest prefix wins.
struct Route {
  Prefix prefix;
  std::string iface;
};
struct RouteTable {
  std::vector<Route> routes;
  std::vector<IpAddress> local;  // the gateway's own addresses
  [[nodiscard]] std::optional<std::string> lookup(const IpAddress& dst) const;
};
// Segment subnets on their interfaces, everything else via the uplink. With userspace ESP
// (libipsec) charon routes the VPN pools into its TUN device, so they go there; with kernel
// XFRM the pools have no route of their own.
[[nodiscard]] RouteTable routesFromPolicy(const policies::Policy& policy, const std::string& libipsecInterface = "");

struct Packet {
  std::string iif;
  IpAddress src;
  IpAddress dst;
  std::uint8_t proto = 6;
  std::uint16_t dport = 0;
  bool viaIpsec = false;  // decapsulated by kernel XFRM (meta ipsec exists)
  // An existing flow's DNAT binding (conntrack's reply tuple): a DNAT statement that fires
  // sends the packet here instead of to its own or its map's choice, as the kernel keeps a
  // flow's binding. Unset (`why`, `test`): the statement's choice.
  std::optional<IpAddress> natTo = std::nullopt;
  std::uint16_t natPort = 0;
};

struct Evaluation {
  bool accepted = false;
  std::string oif;                  // egress interface ("" when delivered locally or dropped early)
  bool local = false;               // for the gateway itself (input chain)
  std::optional<IpAddress> dnatTo;  // destination after DNAT
  std::string dnatMap;              // the DNAT map that chose it ("": a fixed DNAT); a numgen map
                                    // is read at slot 0 (the next connection's slot may differ)
  std::optional<std::uint16_t> dnatPort;  // destination port after DNAT, when it changes it
  Origin decidedBy;                 // the rule whose verdict ended evaluation
  std::string decidingRule;         // that rule, rendered
  std::string decidingChain;
  std::vector<std::string> trace;   // "chain: rule" for every rule that matched
};

// explain = false: only the verdict (no trace, no rendered deciding rule), for callers that
// judge many flows (revocation).
[[nodiscard]] Evaluation evaluate(const Ruleset& rs, const RouteTable& routes, const Packet& packet,
                                  bool explain = true);

// A flow DNATed through a pool's map (`first.dnatMap`) depends on the backends' health: the
// same packet once per backend, as if that backend were the one the map names (every slot).
// Empty when `first` used no pool.
struct BackendEvaluation {
  const DnatPool* pool = nullptr;  // not owned: an element of the `pools` passed in
  std::size_t backend = 0;         // index into pool->backends
  Evaluation evaluation;
};
[[nodiscard]] std::vector<BackendEvaluation> evaluatePerBackend(const Ruleset& rs, const std::vector<DnatPool>& pools,
                                                                const RouteTable& routes, const Packet& packet,
                                                                const Evaluation& first);

}  // namespace bulwark::firewall
