#pragma once
// One node's view of the `ha:` section: who it is, who its peer is, what it advertises and
// over which link, and which addresses move with the active role. The renderers
// (keepalived.conf, conntrackd.conf) are pure functions of this view.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/ha/result.h"
#include "bulwark/policies/model.h"

namespace bulwark::ha {

inline constexpr std::string_view kNodeFile = "/etc/bulwark/node";

// One VRRP instance: the floating addresses of one interface. All instances advertise over
// the sync link (unicast to the peer) and form one sync group, so they move together.
struct VrrpInstance {
  std::string name;       // keepalived's instance name: "bulwark_eth1_20"
  std::string interface;  // the interface its addresses live on (tracked: down = FAULT)
  int vrid = 0;
  std::vector<policies::InterfaceAddress> addresses;  // IPv4 first, then IPv6
};

struct NodeView {
  std::string node;
  std::string peer;
  int priority = 100;  // the first node listed: 150, the second: 100 (preferred at start, and by preempt)
  std::string syncInterface;
  policies::IpAddress syncSelf;
  policies::IpAddress syncPeer;
  int advertCentis = 100;
  policies::HaFailback failback = policies::HaFailback::NoPreempt;
  std::optional<int> preemptDelay;
  std::vector<VrrpInstance> instances;
  // This node's own addresses, by interface (uplink, segments, sync link).
  struct Own {
    std::string interface;
    policies::InterfaceAddress address;
  };
  std::vector<Own> own;
  // Flows from or to these are the gateways' own (the control API, IKE, ...): not synced.
  // Both nodes' addresses and the floating ones, but not the DNAT VIPs: a flow to a VIP is
  // forwarded (DNAT), and conntrackd's kernel filter matches the original destination too.
  std::vector<policies::IpAddress> ownAndFloating;
  std::vector<policies::IpAddress> floating;
};

// The view of `node` (a name in ha.nodes). The policy must have passed validation; errors:
// no ha section, an unknown node name.
[[nodiscard]] Result<NodeView> nodeView(const policies::Policy& policy, std::string_view node);

// Which node this machine is: `override` when given (bulwarkd --node), else the first line of
// `nodeFile` (/etc/bulwark/node), else the hostname.
[[nodiscard]] Result<std::string> localNodeName(const std::string& override,
                                                const std::string& nodeFile = std::string(kNodeFile));

// "0.1", "1", "0.25" (keepalived's advert_int syntax).
[[nodiscard]] std::string advertSeconds(int centis);

}  // namespace bulwark::ha
