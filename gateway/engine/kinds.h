#pragma once
// The registered resource kinds, in the order the engine applies them. Adding a kind is one
// file under kinds/ implementing resource_kind.h plus one line in kinds.cpp.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/compiler.h"
#include "kinds/firewall_kind.h"
#include "kinds/ha_kinds.h"
#include "kinds/health_kind.h"
#include "kinds/vpn_kind.h"
#include "resource_kind.h"

namespace bulwark::engine {

struct KindOptions {
  firewall::CompileOptions firewall;
  FirewallOverlay firewallOverlay;  // bulwarkd: the DNAT maps as the backends' health has them
  // bulwarkd: its nftables watch's journal (drift checks read only what the events named).
  std::shared_ptr<firewall::TableJournal> firewallJournal;
  bool links = true;  // false: the segment links are someone else's (bulwarkd --no-links)
  // A pair's node (policy ha:): the links carry this node's own addresses (links_kind.h).
  // `haNode` empty: --node is not given, /etc/bulwark/node or the hostname says which.
  bool ha = false;
  std::string haNode;
  HaFiles* haFiles = nullptr;     // bulwarkd --ha: keepalived and conntrackd are kinds
  std::optional<VpnOptions> vpn;  // none: the VPN is not a kind of this run (no --vici)
  HealthChecks* health = nullptr;  // bulwarkd: the policy's health checks are a kind
};

[[nodiscard]] std::vector<ResourceKindPtr> registeredKinds(const KindOptions& options);

}  // namespace bulwark::engine
