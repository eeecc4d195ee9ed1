#pragma once
// What the `ha:` section means on the wire: which addresses float between the two nodes (and
// on which interface), and which addresses each node holds of its own. Pure; shared by the
// validator, the firewall compiler, the HA module (keepalived/conntrackd configuration) and
// the tools. The policy must have an `ha` section (and, for the results to be meaningful,
// have passed validation).
#include <optional>
#include <string>
#include <vector>

#include "bulwark/policies/model.h"

namespace bulwark::policies {

// An address that belongs to whichever node is active (keepalived adds and removes it).
struct FloatingAddress {
  InterfaceAddress address;
  std::string interface;  // the Linux interface it lives on
  std::string segment;    // the segment it serves; empty: the uplink
  Location where;         // where the policy says it floats
  std::string origin;     // "gateway of segment 'app'", "ha.uplink", "VIP of dnat 'vip-http'", "ha.floating"
};

// `ha.floating` when given; otherwise derived, in this order: `ha.uplink` (on the uplink),
// every segment's gateway addresses (IPv4 then IPv6, on the segment's interface, with the
// subnet's length), every DNAT VIP once (on the uplink, host length).
[[nodiscard]] std::vector<FloatingAddress> floatingAddresses(const Policy& policy);

// A node's own address on one of its interfaces.
struct NodeAddress {
  InterfaceAddress address;
  std::string interface;
  std::string segment;  // empty: the uplink or the sync interface
  Location where;
};

// Every address `node` holds of its own: uplink, segments (with the subnet's length), and
// the dedicated sync interface.
[[nodiscard]] std::vector<NodeAddress> nodeAddresses(const Policy& policy, const HaNode& node);

// The interface the nodes sync over (the dedicated one, or the sync segment's interface).
[[nodiscard]] std::string haSyncInterface(const Policy& policy);

// The node's IPv4 address on the sync link (keepalived's unicast adverts and conntrackd's
// FTFW messages use it): `nodes[].sync`, or its IPv4 address on the sync segment.
[[nodiscard]] std::optional<IpAddress> haSyncAddress(const Policy& policy, const HaNode& node);

// The other node of the pair, or null.
[[nodiscard]] const HaNode* haPeer(const Ha& ha, const HaNode& node);

// Interfaces that carry floating addresses, in a stable order (the uplink first, then the
// segments in policy order): one VRRP instance each, ids vrrpId, vrrpId + 1, ...
[[nodiscard]] std::vector<std::string> floatingInterfaces(const Policy& policy);

}  // namespace bulwark::policies
