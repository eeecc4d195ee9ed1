#include "bulwark/review/placement.h"

#include <algorithm>
#include <map>

#include "bulwark/policies/resolve.h"

namespace bulwark::review {

namespace {

// The elementary intervals between every boundary of `prefixes` and `points`: on each, the
// longest matching route and the local/pool membership are constant.
std::vector<U128> boundaries(const std::vector<Prefix>& prefixes, const std::vector<U128>& points, U128 max) {
  std::vector<U128> b{0};
  for (const auto& p : prefixes) {
    auto s = prefixSet(p);
    b.push_back(s.min());
    if (s.max() < max) b.push_back(s.max() + 1);
  }
  for (auto x : points) {
    b.push_back(x);
    if (x < max) b.push_back(x + 1);
  }
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

const firewall::Route* longestMatch(const firewall::RouteTable& routes, const IpAddress& a) {
  const firewall::Route* best = nullptr;
  for (const auto& r : routes.routes) {
    if (r.prefix.contains(a) && (!best || r.prefix.length() > best->prefix.length())) best = &r;
  }
  return best;
}

}  // namespace

std::vector<IpsecPath> ipsecPathsOf(const policies::Policy& policy, Family family) {
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) {
      if (g.pool.length() > 0 && g.pool.family() == family) return {IpsecPath::Kernel, IpsecPath::Libipsec};
    }
  }
  return {IpsecPath::Kernel};
}

FlowSetup flowSetup(const policies::Policy& policy, Family family, IpsecPath path,
                    const std::string& libipsecInterface) {
  FlowSetup s;
  s.family = family;
  s.path = path;
  s.libipsecInterface = libipsecInterface;
  s.routes = firewall::routesFromPolicy(policy, path == IpsecPath::Libipsec ? libipsecInterface : "");
  const U128 max = addressMax(family);

  std::vector<Prefix> prefixes;
  for (const auto& r : s.routes.routes) {
    if (r.prefix.family() == family) prefixes.push_back(r.prefix);
  }
  std::vector<Interval> pools;
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) {
      if (g.pool.length() > 0 && g.pool.family() == family) {
        prefixes.push_back(g.pool);
        auto p = prefixSet(g.pool);
        pools.push_back(p.intervals().front());
      }
    }
  }
  s.pools = IntervalSet::fromUnsorted(std::move(pools));
  std::vector<U128> locals;
  for (const auto& a : s.routes.local) {
    if (a.family() == family) locals.push_back(addressValue(a));
  }

  // Group the elementary intervals by placement.
  std::map<std::pair<std::string, bool>, std::vector<Interval>> bySource;
  std::map<std::pair<int, std::string>, std::vector<Interval>> byDest;  // (0 local | 1 routed | 2 none, oif)
  auto b = boundaries(prefixes, locals, max);
  for (std::size_t i = 0; i < b.size(); ++i) {
    U128 lo = b[i];
    U128 hi = i + 1 < b.size() ? b[i + 1] - 1 : max;
    auto addr = addressAt(family, lo);
    const auto* route = longestMatch(s.routes, addr);
    std::string iif = route ? route->iface : "";
    bool viaIpsec = false;
    if (s.pools.contains(lo)) {
      if (path == IpsecPath::Libipsec) {
        iif = libipsecInterface;
      } else {
        viaIpsec = true;
      }
    }
    bySource[{iif, viaIpsec}].push_back({lo, hi});
    if (std::find(locals.begin(), locals.end(), lo) != locals.end()) {
      byDest[{0, ""}].push_back({lo, hi});
    } else if (route) {
      byDest[{1, route->iface}].push_back({lo, hi});
    } else {
      byDest[{2, ""}].push_back({lo, hi});
    }
  }
  for (auto& [key, items] : bySource) {
    s.sources.push_back({IntervalSet::fromUnsorted(std::move(items)), key.first, key.second});
  }
  for (auto& [key, items] : byDest) {
    DestClass d{IntervalSet::fromUnsorted(std::move(items)), key.first == 0, std::nullopt};
    if (key.first == 1) d.oif = key.second;
    s.dests.push_back(std::move(d));
  }

  // Switched: two addresses of one segment, the destination not the gateway's nor a VIP.
  std::vector<Interval> owned;
  for (auto x : locals) owned.push_back({x, x});
  for (const auto& d : policy.dnat) {
    if (d.vip.family() == family) owned.push_back({addressValue(d.vip), addressValue(d.vip)});
  }
  auto ownedSet = IntervalSet::fromUnsorted(std::move(owned));
  for (const auto& seg : policy.segments) {
    const auto& cfg = family == Family::V4 ? seg.ipv4 : seg.ipv6;
    if (!cfg || policies::segmentInterface(policy, seg).empty()) continue;
    auto subnet = prefixSet(cfg->subnet);
    s.switched.push_back({seg.name, subnet, subnet.subtract(ownedSet)});
  }
  return s;
}

firewall::Packet placeFlow(const FlowSetup& setup, const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                           std::uint16_t port) {
  firewall::Packet p{setup.routes.lookup(src).value_or(""), src, dst, proto, port, false};
  if (setup.pools.contains(addressValue(src))) {
    if (setup.path == IpsecPath::Libipsec) {
      p.iif = setup.libipsecInterface;
    } else {
      p.viaIpsec = true;
    }
  }
  return p;
}

const SwitchedSegment* switchedBetween(const FlowSetup& setup, U128 src, U128 dst) {
  for (const auto& s : setup.switched) {
    if (s.src.contains(src) && s.dst.contains(dst)) return &s;
  }
  return nullptr;
}

}  // namespace bulwark::review
