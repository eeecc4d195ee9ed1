#pragma once
// The space of flows the review reasons about, as numbers.
//
// A flow is the first packet of a new connection as it reaches the gateway: (address family,
// source address, destination address, service), for one way IPsec traffic arrives (kernel
// XFRM or charon's libipsec TUN). Addresses are 128-bit numbers (an IPv4 address in the low 32
// bits of its family's own space); the service is one number, `protocol << 16 | port`, so a set
// element like `tcp . 2049` or `udp . 1000-2000` is one interval and a port-less protocol
// (icmp) is the interval of all its "ports". Protocols without ports (everything but tcp, udp
// and sctp, as the evaluator reads `th dport`) never match a port, whatever the number says.
//
// A FlowCube is a product of three interval sets (src × dst × svc); regions of flows are
// lists of disjoint cubes.
#include <cstdint>
#include <optional>
#include <string>

#include "bulwark/policies/model.h"
#include "bulwark/policies/net.h"
#include "bulwark/review/intervals.h"

namespace bulwark::review {

using policies::Family;
using policies::IpAddress;
using policies::Prefix;

[[nodiscard]] U128 addressMax(Family f);  // 2^32-1 or 2^128-1
[[nodiscard]] U128 addressValue(const IpAddress& a);
[[nodiscard]] IpAddress addressAt(Family f, U128 v);
[[nodiscard]] IntervalSet prefixSet(const Prefix& p);
[[nodiscard]] IntervalSet allAddresses(Family f);

inline constexpr std::uint32_t kSvcMax = (255u << 16) | 0xffffu;
[[nodiscard]] constexpr std::uint32_t svcValue(std::uint8_t proto, std::uint16_t port) {
  return (std::uint32_t{proto} << 16) | port;
}
[[nodiscard]] constexpr std::uint8_t svcProto(U128 v) { return static_cast<std::uint8_t>(v >> 16); }
[[nodiscard]] constexpr std::uint16_t svcPort(U128 v) { return static_cast<std::uint16_t>(v & 0xffffu); }
// tcp, udp, sctp: the protocols whose destination port `th dport` reads.
[[nodiscard]] bool protoHasPorts(std::uint8_t proto);
[[nodiscard]] IntervalSet allServices();
[[nodiscard]] IntervalSet protoSet(std::uint8_t proto);  // every port of one protocol
// The ports in `ports` of every protocol that has ports.
[[nodiscard]] IntervalSet portSet(const IntervalSet& ports);
// A policy service spec (tcp/443, udp/1000-2000, icmp) or a whole service set.
[[nodiscard]] IntervalSet serviceSpecSet(const policies::PortSpec& spec);

struct FlowCube {
  IntervalSet src, dst, svc;
  [[nodiscard]] bool empty() const { return src.empty() || dst.empty() || svc.empty(); }
  [[nodiscard]] FlowCube intersect(const FlowCube& o) const {
    return {src.intersect(o.src), dst.intersect(o.dst), svc.intersect(o.svc)};
  }
  [[nodiscard]] bool intersects(const FlowCube& o) const {
    return src.intersects(o.src) && dst.intersects(o.dst) && svc.intersects(o.svc);
  }
  [[nodiscard]] bool contains(U128 s, U128 d, U128 v) const {
    return src.contains(s) && dst.contains(d) && svc.contains(v);
  }
  friend bool operator==(const FlowCube&, const FlowCube&) = default;
};

// How IPsec traffic arrives. Kernel: decapsulated by XFRM, in on the uplink with
// `meta ipsec exists`; libipsec: charon's userspace ESP hands it over on its TUN device.
enum class IpsecPath : std::uint8_t { Kernel, Libipsec };
[[nodiscard]] std::string_view ipsecPathName(IpsecPath p);

}  // namespace bulwark::review
