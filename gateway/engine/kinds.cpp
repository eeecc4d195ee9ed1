#include "kinds.h"

#include "kinds/links_kind.h"

namespace bulwark::engine {

std::vector<ResourceKindPtr> registeredKinds(const KindOptions& options) {
  std::vector<ResourceKindPtr> kinds;
  // The firewall first: new segments are protected before their links come up, and it
  // matches interfaces by name, so it does not need them to exist yet.
  kinds.push_back(makeFirewallKind(options.firewall, options.firewallOverlay, options.firewallJournal));
  if (options.links) kinds.push_back(makeLinksKind(options.ha, options.haNode));
  if (options.haFiles != nullptr) {  // after the firewall (VRRP and the sync accepted before keepalived runs)
    kinds.push_back(makeKeepalivedKind(*options.haFiles));
    kinds.push_back(makeConntrackdKind(*options.haFiles));
  }
  if (options.vpn) kinds.push_back(makeVpnKind(*options.vpn));  // its pools need the links
  if (options.health != nullptr) kinds.push_back(makeHealthKind(*options.health));  // probes what was applied
  return kinds;
}

}  // namespace bulwark::engine
