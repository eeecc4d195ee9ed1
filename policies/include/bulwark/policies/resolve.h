#pragma once
// Name resolution shared by the validator, the firewall compiler and the tools: what
// addresses and zones an endpoint stands for, what ports a service stands for.
//
// Zones: each zone declared in `zones:`; a segment or VPN group that no zone lists is a
// zone of its own with the same name; `internet` is always a zone (everything that is
// not one of our segments or pools).
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "bulwark/policies/model.h"

namespace bulwark::policies {

inline constexpr std::string_view kInternet = "internet";
inline constexpr std::string_view kAny = "any";

enum class EndpointKind : std::uint8_t { Any, Internet, Zone, Segment, Host, VpnGroup, Literal };
[[nodiscard]] std::string_view endpointKindName(EndpointKind k);

// A piece of an endpoint inside one zone. `prefix` empty = the whole zone.
struct Atom {
  std::string zone;
  std::optional<Prefix> prefix;
  [[nodiscard]] bool covers(const Atom& other) const;
  [[nodiscard]] bool overlaps(const Atom& other) const;
};

struct ResolvedEndpoint {
  EndpointKind kind = EndpointKind::Any;
  std::vector<Atom> atoms;
};

// "any" or a list of protocol/port specs.
struct ServiceSet {
  bool any = false;
  std::vector<PortSpec> specs;
  [[nodiscard]] bool covers(const ServiceSet& other) const;
  [[nodiscard]] bool overlaps(const ServiceSet& other) const;
  [[nodiscard]] std::string str() const;
};

// The interface a segment's traffic uses on the gateway: "<trunk>.<vlan>" for a VLAN
// segment, its `interface` otherwise. Shared by the firewall and the link reconciler.
[[nodiscard]] std::string segmentInterface(const Policy& policy, const Segment& segment);
inline constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

// The rules the firewall enforces, in evaluation order (first match wins): the `rules`
// section, then each VPN group's `access` entries as allow rules from its pool.
struct FlowRule {
  std::string name;           // rule name, or "vpn:<group>#<n>"
  Location where;
  std::vector<Endpoint> from;
  std::vector<Endpoint> to;
  std::vector<ServiceRef> services;
  Action action = Action::Allow;
  const Rule* rule = nullptr;  // not owned; null for VPN access entries
};
[[nodiscard]] std::vector<FlowRule> flowRules(const Policy& policy);

class PolicyIndex {
 public:
  explicit PolicyIndex(const Policy& policy);

  // nullopt when the name is unknown (the validator reports that).
  [[nodiscard]] std::optional<ResolvedEndpoint> endpoint(const Endpoint& e) const;
  [[nodiscard]] std::optional<ServiceSet> service(const ServiceRef& s) const;

  // Zones in display order: declared zones, then implicit segment and group zones,
  // then internet.
  [[nodiscard]] const std::vector<std::string>& zones() const { return zones_; }
  [[nodiscard]] std::string zoneOfSegment(std::string_view segment) const;
  [[nodiscard]] std::string zoneOfGroup(std::string_view group) const;
  // The zone an address belongs to: a segment's, a VPN pool's, or internet.
  [[nodiscard]] std::string zoneOfAddress(const IpAddress& a) const;
  [[nodiscard]] const Policy& policy() const { return policy_; }

 private:
  [[nodiscard]] std::size_t zoneMemberCount(std::string_view zone) const;
  void addLiteralAtoms(const Prefix& p, std::vector<Atom>& out) const;
  template <typename T>
  [[nodiscard]] static const T* lookup(const std::unordered_map<std::string_view, const T*>& m, std::string_view name);

  const Policy& policy_;  // not owned; must outlive the index
  std::vector<std::string> zones_;
  // Name → element, so resolving stays O(1) per name for policies with thousands of hosts
  // (Policy::find* scan). Keys point into policy_.
  std::unordered_map<std::string_view, const Segment*> segments_;
  std::unordered_map<std::string_view, const Host*> hosts_;
  std::unordered_map<std::string_view, const Zone*> zoneByName_;
  std::unordered_map<std::string_view, const VpnGroup*> groups_;
  std::unordered_map<std::string_view, const Service*> services_;
  std::unordered_map<std::string_view, std::string> segmentZone_;  // segment → its zone
  std::unordered_map<std::string_view, std::string> groupZone_;    // VPN group → its zone
};

}  // namespace bulwark::policies
