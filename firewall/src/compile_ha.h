#pragma once
// The firewall's part of an HA pair (policy ha:), for compiler.cpp.
#include <optional>
#include <vector>

#include "bulwark/firewall/ruleset.h"
#include "bulwark/policies/model.h"

namespace bulwark::firewall::detail {

// Input rules: on the sync interface only, VRRP (IP protocol 112) and conntrackd's state sync
// (UDP 3780) sent by one node of the pair to the other (source and destination are the two
// sync addresses, in either direction). The same rules on both nodes, so both compile one
// ruleset and `render` needs no node; a packet can claim the other direction only by faking
// the node's own address on a dedicated link.
[[nodiscard]] std::vector<Rule> haInputRules(const policies::Policy& policy);

// What `snat: { to: masquerade }` translates to in a pair: the floating IPv4 address on the
// uplink. Masquerade would take the node's own uplink address, which the other node does not
// hold: after a failover the replies of every outgoing connection would go to the dead node.
// nullopt: no ha section, or no floating IPv4 address on the uplink (masquerade stays).
[[nodiscard]] std::optional<policies::IpAddress> haSnatAddress(const policies::Policy& policy);

}  // namespace bulwark::firewall::detail
