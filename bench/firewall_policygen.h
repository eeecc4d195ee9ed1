#pragma once
// Generated policies for the firewall benchmarks (bench/firewall_bench.cpp,
// bench/run-firewall-bench.sh): N allowed flows, where a flow is one allowed
// (src, dst, proto, port) tuple.
//
// Shape: two segments behind plain interfaces, "clients" (cli0, 10.64.0.0/16) and
// "servers" (srv0, 10.200.0.0/16), and an uplink wan0. Rule r allows kHostsPerRule client
// hosts (c<i>, each in exactly one rule) to server host s<r> on tcp/(10000+r) and
// udp/(10000+r): kHostsPerRule * 2 flows per rule. So the flows land in Bulwark's per-rule
// sets (saddr / daddr / proto . port) and the zone pair chain clients__servers holds one
// line per rule, N / 250 lines in all.
//
// flows() enumerates the same tuples in policy order (rule, host, tcp before udp): the
// LAST flow belongs to the last host of the last rule, the one the forwarding benchmark
// sends its iperf3 traffic on.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/policies/model.h"

namespace bulwark::bench {

inline constexpr std::size_t kHostsPerRule = 125;
inline constexpr std::size_t kFlowsPerHost = 2;  // tcp/P and udp/P

struct Flow {
  policies::IpAddress src;
  policies::IpAddress dst;
  std::uint8_t proto = 6;
  std::uint16_t port = 0;
};

struct GeneratedPolicy {
  policies::Policy policy;
  std::size_t rules = 0;
  std::size_t clientHosts = 0;
};

// `flows` is rounded up to a whole number of rules (multiples of 250).
[[nodiscard]] GeneratedPolicy generateFlowPolicy(std::size_t flows);

// Every allowed flow, in policy order.
[[nodiscard]] std::vector<Flow> flows(const GeneratedPolicy& g);

// Adds one more client host to the last rule ("one host added"): 2 more flows. Returns its
// address. Call at most a few thousand times per policy (the /16 runs out at 65,000 hosts).
policies::IpAddress addClientHost(GeneratedPolicy& g);

// The same flows as a linear rule list for `nft -f`: table inet linear, chain forward
// (policy drop), ct state established,related accept, ct state invalid drop, then one rule
// per flow "ip saddr S ip daddr D meta l4proto P th dport N counter accept".
[[nodiscard]] std::string renderLinearScript(const std::vector<Flow>& flows);

}  // namespace bulwark::bench
