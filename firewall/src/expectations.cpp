#include "bulwark/firewall/expectations.h"

#include "bulwark/policies/resolve.h"

namespace bulwark::firewall {

using policies::Family;

namespace {

IpAddress offset(const Prefix& p, std::uint32_t n) {
  if (p.isHost()) return p.address();
  if (p.address().isV4()) return IpAddress::v4(p.address().v4HostOrder() + n);
  auto bytes = p.address().bytes();
  bytes[15] = static_cast<std::uint8_t>(bytes[15] + n);
  return IpAddress::fromBytes(Family::V6, bytes);
}

std::optional<IpAddress> segmentAddress(const policies::Policy& p, const policies::Segment& s, Family fam) {
  for (const auto& h : p.hosts) {
    if (h.segment.name != s.name) continue;
    for (const auto& a : h.addresses) {
      if (a.family() == fam) return a;
    }
  }
  const auto& cfg = fam == Family::V4 ? s.ipv4 : s.ipv6;
  if (cfg) return offset(cfg->subnet, 10);
  return std::nullopt;
}

// A documentation address outside every segment and pool, to stand for "the internet".
std::optional<IpAddress> internetProbe(const policies::Policy& p, Family fam) {
  const char* v4[] = {kInternetProbeV4, "192.0.2.7", "203.0.113.200", "8.8.8.8"};
  const char* v6[] = {kInternetProbeV6, "2001:db8:ffff:ffff::7", "2620:fe::fe"};
  auto ours = [&](const IpAddress& a) {
    for (const auto& s : p.segments) {
      for (const auto* cfg : {&s.ipv4, &s.ipv6}) {
        if (*cfg && (*cfg)->subnet.contains(a)) return true;
      }
    }
    if (p.vpn) {
      for (const auto& g : p.vpn->groups) {
        if (g.pool.length() > 0 && g.pool.contains(a)) return true;
      }
    }
    return false;
  };
  auto pick = [&](auto& list) -> std::optional<IpAddress> {
    for (const char* text : list) {
      auto a = IpAddress::parse(text);
      if (a && !ours(*a)) return a;
    }
    return std::nullopt;
  };
  return fam == Family::V4 ? pick(v4) : pick(v6);
}

std::optional<IpAddress> addressOf(const policies::Policy& p, const std::string& text, Family fam) {
  if (auto prefix = Prefix::parse(text, false)) return offset(*prefix, prefix->isHost() ? 0 : 1);
  if (text == policies::kInternet || text == policies::kAny) return internetProbe(p, fam);
  if (const auto* h = p.findHost(text)) {
    for (const auto& a : h->addresses) {
      if (a.family() == fam) return a;
    }
    return h->addresses.empty() ? std::nullopt : std::optional(h->addresses.front());
  }
  if (const auto* s = p.findSegment(text)) {
    if (auto a = segmentAddress(p, *s, fam)) return a;
    return segmentAddress(p, *s, fam == Family::V4 ? Family::V6 : Family::V4);
  }
  if (const auto* g = p.findVpnGroup(text)) return offset(g->pool, 1);
  if (const auto* z = p.findZone(text)) {
    if (!z->segments.empty()) return addressOf(p, z->segments.front().name, fam);
    if (!z->vpnGroups.empty()) return addressOf(p, z->vpnGroups.front().name, fam);
  }
  return std::nullopt;
}

bool isVpnSource(const policies::Policy& p, const std::string& text) {
  if (p.findVpnGroup(text)) return true;
  const auto* z = p.findZone(text);
  return z && z->segments.empty() && !z->vpnGroups.empty();
}

}  // namespace

std::optional<Placement> placeEndpoint(const policies::Policy& policy, const RouteTable& routes, const std::string& text,
                                       Family family, IpsecPath path, const CompileOptions& options) {
  auto addr = addressOf(policy, text, family);
  if (!addr) return std::nullopt;
  Placement pl{*addr, routes.lookup(*addr).value_or(""), false};
  bool inPool = false;
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) inPool = inPool || (g.pool.length() > 0 && g.pool.contains(*addr));
  }
  if (isVpnSource(policy, text) || inPool) {
    if (path == IpsecPath::Libipsec) {
      pl.iif = options.libipsecInterface;
    } else {
      pl.viaIpsec = true;  // decapsulated from ESP that arrived on the uplink
    }
  }
  return pl;
}

std::vector<ExpectationResult> checkExpectations(const policies::Policy& policy, const Ruleset& rs,
                                                 const CompileOptions& options, const std::vector<DnatPool>& pools) {
  std::vector<ExpectationResult> out;
  policies::PolicyIndex index(policy);
  for (const auto& e : policy.expectations) {
    ExpectationResult r;
    r.expectation = &e;
    // The destination decides the family: an IPv6-only host is probed over IPv6.
    auto dst4 = addressOf(policy, e.to.text, Family::V4);
    Family fam = dst4 && dst4->isV4() ? Family::V4 : Family::V6;
    auto svc = index.service(e.service);
    if (!svc) {
      r.error = "unknown service '" + e.service.text + "'";
      out.push_back(std::move(r));
      continue;
    }
    std::vector<std::pair<std::string, std::pair<std::uint8_t, std::uint16_t>>> ports;
    if (svc->any) ports.push_back({"any (tcp/1)", {6, 1}});
    for (const auto& spec : svc->specs) {
      auto proto = policies::protocolNumber(spec.protocol);
      if (!policies::protocolHasPorts(spec.protocol)) {
        ports.push_back({spec.str(), {proto, 0}});
        continue;
      }
      ports.push_back({spec.str(), {proto, spec.ports.first}});
      if (spec.ports.last != spec.ports.first) {
        ports.push_back({std::string(policies::protocolName(spec.protocol)) + "/" + std::to_string(spec.ports.last),
                         {proto, spec.ports.last}});
      }
    }
    bool vpn = isVpnSource(policy, e.from.text);
    std::vector<IpsecPath> paths{IpsecPath::Kernel};
    if (vpn) paths.push_back(IpsecPath::Libipsec);
    r.passed = true;
    for (auto path : paths) {
      auto routes = routesFromPolicy(policy, path == IpsecPath::Libipsec ? options.libipsecInterface : "");
      auto src = placeEndpoint(policy, routes, e.from.text, fam, path, options);
      auto dst = placeEndpoint(policy, routes, e.to.text, fam, IpsecPath::Kernel, options);
      if (!src || !dst) {
        r.error = "cannot place '" + (src ? e.to.text : e.from.text) + "' at an address";
        r.passed = false;
        break;
      }
      for (const auto& [label, pp] : ports) {
        Packet pkt{src->iif, src->address, dst->address, pp.first, pp.second, src->viaIpsec};
        auto ev = evaluate(rs, routes, pkt);
        bool want = e.verdict == policies::Action::Allow;
        std::string how = vpn ? (path == IpsecPath::Kernel ? " (kernel IPsec)" : " (libipsec)") : "";
        auto perBackend = evaluatePerBackend(rs, pools, routes, pkt, ev);
        if (perBackend.empty()) {
          if (ev.accepted != want) r.passed = false;
          r.probes.push_back({label + how, pkt, std::move(ev)});
        }
        for (auto& b : perBackend) {
          if (b.evaluation.accepted != want) r.passed = false;
          r.probes.push_back({label + how + " via " + b.pool->backends[b.backend].name, pkt, std::move(b.evaluation)});
        }
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace bulwark::firewall
