#pragma once
// Where flows enter and leave the gateway, for one policy, one address family and one IPsec
// path -- the same placement `bulwarkctl why` and `test` give a packet
// (firewall::placeEndpoint, firewall::routesFromPolicy), as sets of addresses:
//
//   sources, by how they arrive: an address of a VPN pool through IPsec (kernel XFRM: in on
//     the interface its route leaves by, `meta ipsec exists`; libipsec: in on charon's TUN),
//     any other address on the interface its route leaves by (a segment's, the uplink);
//   destinations, by where the gateway sends them: to itself (a segment's gateway address),
//     out of the interface of the longest matching route, or nowhere (no route);
//   switched pairs: a source and a destination of one segment (the destination neither the
//     gateway's own address nor a DNAT VIP) talk over the segment's link; the gateway never
//     sees those packets (firewall::switchedSegment).
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/evaluator.h"
#include "bulwark/policies/model.h"
#include "bulwark/review/flow_space.h"

namespace bulwark::review {

struct SourceClass {
  IntervalSet addrs;
  std::string iif;
  bool viaIpsec = false;
};

struct DestClass {
  IntervalSet addrs;
  bool local = false;
  std::optional<std::string> oif;  // nullopt: no route (when not local)
};

struct SwitchedSegment {
  std::string segment;
  IntervalSet src, dst;
};

struct FlowSetup {
  Family family = Family::V4;
  IpsecPath path = IpsecPath::Kernel;
  std::string libipsecInterface;
  firewall::RouteTable routes;
  IntervalSet pools;  // every VPN pool of this family
  std::vector<SourceClass> sources;  // disjoint, covering the family's addresses
  std::vector<DestClass> dests;      // disjoint, covering the family's addresses
  std::vector<SwitchedSegment> switched;
};

[[nodiscard]] FlowSetup flowSetup(const policies::Policy& policy, Family family, IpsecPath path,
                                  const std::string& libipsecInterface = "ipsec0");

// The IPsec paths whose flows can differ for `family`: both when a VPN group has a pool of that
// family (its clients arrive by XFRM or on libipsec's TUN), else the kernel path alone (the
// other would place and route every address the same way, and repeat its work).
[[nodiscard]] std::vector<IpsecPath> ipsecPathsOf(const policies::Policy& policy, Family family);

// One concrete flow placed the way the setup places its source: the evaluator's packet.
[[nodiscard]] firewall::Packet placeFlow(const FlowSetup& setup, const IpAddress& src, const IpAddress& dst,
                                         std::uint8_t proto, std::uint16_t port);

// The segment whose link carries a flow from src to dst without the gateway, if any.
[[nodiscard]] const SwitchedSegment* switchedBetween(const FlowSetup& setup, U128 src, U128 dst);

}  // namespace bulwark::review
