#include "bulwark/policies/resolve.h"

#include <algorithm>

namespace bulwark::policies {

std::string_view endpointKindName(EndpointKind k) {
  switch (k) {
    case EndpointKind::Any: return "any";
    case EndpointKind::Internet: return "internet";
    case EndpointKind::Zone: return "zone";
    case EndpointKind::Segment: return "segment";
    case EndpointKind::Host: return "host";
    case EndpointKind::VpnGroup: return "VPN group";
    case EndpointKind::Literal: return "address";
  }
  return "?";
}

bool Atom::covers(const Atom& other) const {
  if (zone != other.zone) return false;
  if (!prefix) return true;
  return other.prefix && prefix->contains(*other.prefix);
}

bool Atom::overlaps(const Atom& other) const {
  if (zone != other.zone) return false;
  if (!prefix || !other.prefix) return true;
  return prefix->overlaps(*other.prefix);
}

bool ServiceSet::covers(const ServiceSet& other) const {
  if (any) return true;
  if (other.any) return false;
  return std::all_of(other.specs.begin(), other.specs.end(), [&](const PortSpec& o) {
    return std::any_of(specs.begin(), specs.end(), [&](const PortSpec& s) { return s.contains(o); });
  });
}

bool ServiceSet::overlaps(const ServiceSet& other) const {
  if (any || other.any) return true;
  return std::any_of(specs.begin(), specs.end(), [&](const PortSpec& s) {
    return std::any_of(other.specs.begin(), other.specs.end(),
                       [&](const PortSpec& o) { return s.overlaps(o); });
  });
}

std::string ServiceSet::str() const {
  if (any) return "any";
  std::string s;
  for (const auto& p : specs) s += (s.empty() ? "" : ",") + p.str();
  return s;
}

std::string segmentInterface(const Policy& policy, const Segment& segment) {
  if (segment.vlan && policy.gateway) return policy.gateway->trunk + "." + std::to_string(*segment.vlan);
  return segment.interface;
}

std::vector<FlowRule> flowRules(const Policy& policy) {
  std::vector<FlowRule> out;
  for (const auto& r : policy.rules) {
    out.push_back({r.name, r.where, r.from, r.to, r.services, r.action, &r});
  }
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) {
      int n = 0;
      for (const auto& a : g.access) {
        Endpoint from{g.name, a.where, std::nullopt};
        out.push_back({"vpn:" + g.name + "#" + std::to_string(++n), a.where, {from}, a.to,
                       a.services, Action::Allow, nullptr});
      }
    }
  }
  return out;
}

PolicyIndex::PolicyIndex(const Policy& policy) : policy_(policy) {
  // First declaration wins, like Policy::find* (duplicates are the validator's business).
  for (const auto& x : policy.segments) segments_.try_emplace(x.name, &x);
  for (const auto& x : policy.hosts) hosts_.try_emplace(x.name, &x);
  for (const auto& x : policy.zones) zoneByName_.try_emplace(x.name, &x);
  for (const auto& x : policy.services) services_.try_emplace(x.name, &x);
  if (policy.vpn) {
    for (const auto& x : policy.vpn->groups) groups_.try_emplace(x.name, &x);
  }
  for (const auto& z : policy.zones) {
    for (const auto& m : z.segments) segmentZone_.try_emplace(m.name, z.name);
    for (const auto& m : z.vpnGroups) groupZone_.try_emplace(m.name, z.name);
  }
  auto add = [&](const std::string& z) {
    if (!z.empty() && std::find(zones_.begin(), zones_.end(), z) == zones_.end()) zones_.push_back(z);
  };
  for (const auto& z : policy.zones) add(z.name);
  for (const auto& s : policy.segments) add(zoneOfSegment(s.name));
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) add(zoneOfGroup(g.name));
  }
  add(std::string(kInternet));
}

template <typename T>
const T* PolicyIndex::lookup(const std::unordered_map<std::string_view, const T*>& m, std::string_view name) {
  auto it = m.find(name);
  return it == m.end() ? nullptr : it->second;
}

std::string PolicyIndex::zoneOfSegment(std::string_view segment) const {
  auto it = segmentZone_.find(segment);
  return it == segmentZone_.end() ? std::string(segment) : it->second;
}

std::string PolicyIndex::zoneOfGroup(std::string_view group) const {
  auto it = groupZone_.find(group);
  return it == groupZone_.end() ? std::string(group) : it->second;
}

std::size_t PolicyIndex::zoneMemberCount(std::string_view zone) const {
  if (const auto* z = lookup(zoneByName_, zone)) return z->segments.size() + z->vpnGroups.size();
  return 1;  // an implicit zone holds just its segment or group
}

std::string PolicyIndex::zoneOfAddress(const IpAddress& a) const {
  for (const auto& s : policy_.segments) {
    for (const auto* fam : {&s.ipv4, &s.ipv6}) {
      if (*fam && (*fam)->subnet.contains(a)) return zoneOfSegment(s.name);
    }
  }
  if (policy_.vpn) {
    for (const auto& g : policy_.vpn->groups) {
      if (g.pool.length() > 0 && g.pool.contains(a)) return zoneOfGroup(g.name);
    }
  }
  return std::string(kInternet);
}

void PolicyIndex::addLiteralAtoms(const Prefix& p, std::vector<Atom>& out) const {
  // A literal may span several of our subnets and the internet: one atom per piece.
  bool covered = false;
  auto piece = [&](const Prefix& ours, const std::string& zone) {
    if (!ours.overlaps(p)) return;
    out.push_back({zone, ours.contains(p) ? p : ours});
    covered = covered || ours.contains(p);
  };
  for (const auto& s : policy_.segments) {
    for (const auto* fam : {&s.ipv4, &s.ipv6}) {
      if (*fam) piece((*fam)->subnet, zoneOfSegment(s.name));
    }
  }
  if (policy_.vpn) {
    for (const auto& g : policy_.vpn->groups) {
      if (g.pool.length() > 0) piece(g.pool, zoneOfGroup(g.name));
    }
  }
  if (!covered) out.push_back({std::string(kInternet), p});
}

std::optional<ResolvedEndpoint> PolicyIndex::endpoint(const Endpoint& e) const {
  ResolvedEndpoint r;
  if (e.literal) {
    r.kind = EndpointKind::Literal;
    addLiteralAtoms(*e.literal, r.atoms);
    return r;
  }
  if (e.text == kAny) {
    r.kind = EndpointKind::Any;
    for (const auto& z : zones_) r.atoms.push_back({z, std::nullopt});
    return r;
  }
  if (e.text == kInternet) {
    r.kind = EndpointKind::Internet;
    r.atoms.push_back({std::string(kInternet), std::nullopt});
    return r;
  }
  if (lookup(zoneByName_, e.text)) {
    r.kind = EndpointKind::Zone;
    r.atoms.push_back({e.text, std::nullopt});
    return r;
  }
  if (const auto* s = lookup(segments_, e.text)) {
    r.kind = EndpointKind::Segment;
    auto zone = zoneOfSegment(s->name);
    if (zoneMemberCount(zone) == 1) {
      // The segment is the whole zone (addresses outside its subnets are dropped as spoofed).
      r.atoms.push_back({zone, std::nullopt});
      return r;
    }
    for (const auto* fam : {&s->ipv4, &s->ipv6}) {
      if (*fam) r.atoms.push_back({zone, (*fam)->subnet});
    }
    if (r.atoms.empty()) r.atoms.push_back({zone, std::nullopt});
    return r;
  }
  if (const auto* h = lookup(hosts_, e.text)) {
    r.kind = EndpointKind::Host;
    const auto* seg = lookup(segments_, h->segment.name);
    auto zone = seg ? zoneOfSegment(seg->name) : std::string(kInternet);
    for (const auto& a : h->addresses) r.atoms.push_back({zone, Prefix(a, a.bits())});
    return r;
  }
  if (const auto* g = lookup(groups_, e.text)) {
    r.kind = EndpointKind::VpnGroup;
    auto zone = zoneOfGroup(g->name);
    r.atoms.push_back({zone, zoneMemberCount(zone) == 1 ? std::nullopt : std::optional(g->pool)});
    return r;
  }
  return std::nullopt;
}

std::optional<ServiceSet> PolicyIndex::service(const ServiceRef& s) const {
  ServiceSet set;
  if (s.literal) {
    set.specs.push_back(*s.literal);
    return set;
  }
  if (s.text == kAny) {
    set.any = true;
    return set;
  }
  if (const auto* svc = lookup(services_, s.text)) {
    set.specs = svc->ports;
    return set;
  }
  return std::nullopt;
}

}  // namespace bulwark::policies
