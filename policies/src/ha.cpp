#include "bulwark/policies/ha.h"

#include <algorithm>

#include "bulwark/policies/resolve.h"

namespace bulwark::policies {

std::string InterfaceAddress::str() const { return ip.str() + "/" + std::to_string(length); }

const HaNode* Ha::findNode(std::string_view name) const {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const HaNode& n) { return n.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

namespace {

std::string uplinkOf(const Policy& p) { return p.gateway ? p.gateway->uplink : std::string(); }

// The length of the segment subnet holding `a`, or nullopt.
std::optional<int> lengthIn(const Segment& s, const IpAddress& a) {
  const auto& fam = a.isV4() ? s.ipv4 : s.ipv6;
  if (fam && fam->subnet.contains(a)) return fam->subnet.length();
  return std::nullopt;
}

}  // namespace

std::vector<FloatingAddress> floatingAddresses(const Policy& p) {
  std::vector<FloatingAddress> out;
  if (!p.ha) return out;
  const auto uplink = uplinkOf(p);
  if (p.ha->floatingListed) {
    for (const auto& f : p.ha->floating) {
      FloatingAddress fa;
      fa.where = f.where;
      fa.origin = "ha.floating";
      if (f.uplink) {
        fa.interface = uplink;
        fa.address = {f.address, f.length.value_or(f.address.bits())};
      } else if (const auto* s = p.findSegment(f.segment.name)) {
        fa.interface = segmentInterface(p, *s);
        fa.segment = s->name;
        fa.address = {f.address, f.length.value_or(lengthIn(*s, f.address).value_or(f.address.bits()))};
      } else {
        continue;  // an unknown segment: the validator reports it
      }
      out.push_back(std::move(fa));
    }
    return out;
  }
  for (std::size_t i = 0; i < p.ha->uplink.size(); ++i) {
    out.push_back({p.ha->uplink[i], uplink, "", p.ha->at("uplink"), "ha.uplink"});
  }
  for (const auto& s : p.segments) {
    for (const auto* fam : {&s.ipv4, &s.ipv6}) {
      if (!*fam || !(*fam)->gateway) continue;
      out.push_back({{*(*fam)->gateway, (*fam)->subnet.length()}, segmentInterface(p, s), s.name,
                     s.at(fam == &s.ipv4 ? "ipv4" : "ipv6"), "gateway of segment '" + s.name + "'"});
    }
  }
  for (const auto& d : p.dnat) {
    if (d.fields.count("vip") == 0) continue;
    bool seen = std::any_of(out.begin(), out.end(), [&](const FloatingAddress& f) { return f.address.ip == d.vip; });
    if (!seen) out.push_back({{d.vip, d.vip.bits()}, uplink, "", d.at("vip"), "VIP of dnat '" + d.name + "'"});
  }
  return out;
}

std::vector<NodeAddress> nodeAddresses(const Policy& p, const HaNode& node) {
  std::vector<NodeAddress> out;
  for (const auto& a : node.uplink) out.push_back({a, uplinkOf(p), "", node.at("uplink")});
  for (const auto& sa : node.segments) {
    const auto* s = p.findSegment(sa.segment.name);
    if (s == nullptr) continue;
    for (std::size_t i = 0; i < sa.addresses.size(); ++i) {
      const auto& a = sa.addresses[i];
      out.push_back({{a, lengthIn(*s, a).value_or(a.bits())}, segmentInterface(p, *s), s->name, sa.where[i]});
    }
  }
  if (node.sync && p.ha && !p.ha->syncInterface.empty()) {
    out.push_back({*node.sync, p.ha->syncInterface, "", node.at("sync")});
  }
  return out;
}

std::string haSyncInterface(const Policy& p) {
  if (!p.ha) return {};
  if (!p.ha->syncInterface.empty()) return p.ha->syncInterface;
  const auto* s = p.findSegment(p.ha->syncSegment.name);
  return s ? segmentInterface(p, *s) : std::string();
}

std::optional<IpAddress> haSyncAddress(const Policy& p, const HaNode& node) {
  if (!p.ha) return std::nullopt;
  if (!p.ha->syncInterface.empty()) {
    if (node.sync && node.sync->ip.isV4()) return node.sync->ip;
    return std::nullopt;
  }
  for (const auto& sa : node.segments) {
    if (sa.segment.name != p.ha->syncSegment.name) continue;
    for (const auto& a : sa.addresses) {
      if (a.isV4()) return a;
    }
  }
  return std::nullopt;
}

const HaNode* haPeer(const Ha& ha, const HaNode& node) {
  for (const auto& n : ha.nodes) {
    if (&n != &node && n.name != node.name) return &n;
  }
  return nullptr;
}

std::vector<std::string> floatingInterfaces(const Policy& p) {
  std::vector<std::string> order;
  if (p.gateway && !p.gateway->uplink.empty()) order.push_back(p.gateway->uplink);
  for (const auto& s : p.segments) order.push_back(segmentInterface(p, s));
  auto floating = floatingAddresses(p);
  std::vector<std::string> out;
  for (const auto& name : order) {
    bool used = std::any_of(floating.begin(), floating.end(), [&](const FloatingAddress& f) { return f.interface == name; });
    if (used && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

}  // namespace bulwark::policies
