#include "random_policy.h"

#include <algorithm>
#include <set>

namespace bulwark::review::testing {

namespace {

const char* kServiceNames[] = {"any", "http", "https", "range", "ping", "dns", "sc",
                               "tcp/22", "udp/5000-5010", "icmp", "tcp", "udp/53"};

}  // namespace

std::string PolicyGen::endpoint(bool asDestination) {
  switch (pick(asDestination ? 9 : 10)) {
    case 0: return "any";
    case 1: return "internet";
    case 2: return zone_ ? "z0" : "s0";
    case 3: return "s" + std::to_string(pick(segments_));
    case 4:
    case 5: {
      int s = pick(segments_);
      return "h" + std::to_string(s) + "x" + std::to_string(pick(hostsPer_[static_cast<std::size_t>(s)]));
    }
    case 6: {
      int s = pick(segments_);
      switch (pick(5)) {
        case 0: return "10." + std::to_string(s) + ".0.0/28";
        case 1: return "10." + std::to_string(s) + ".0.16/29";
        case 2: return "198.51.100.0/24";
        case 3: return dual_[static_cast<std::size_t>(s)] ? "2001:db8:" + std::to_string(s) + "::/120" : "2001:db8:ff::/48";
        default: return "10.0.0.0/8";
      }
    }
    case 7: return "10." + std::to_string(pick(segments_)) + ".0.1" + std::to_string(pick(8));
    case 8: return groups_ > 0 && !asDestination ? "g" + std::to_string(pick(groups_)) : "internet";
    default: return groups_ > 0 ? "g" + std::to_string(pick(groups_)) : "any";
  }
}

std::string PolicyGen::services() {
  std::set<std::string> s;
  int n = 1 + pick(2);
  for (int i = 0; i < n; ++i) s.insert(kServiceNames[pick(static_cast<int>(std::size(kServiceNames)))]);
  std::string out = "[";
  for (const auto& x : s) out += (out.size() > 1 ? ", " : "") + x;
  return out + "]";
}

std::string PolicyGen::rule(int i) {
  auto list = [&](bool dst) {
    std::set<std::string> e;
    int n = 1 + (chance(35) ? 1 : 0);
    for (int k = 0; k < n; ++k) e.insert(endpoint(dst));
    std::string out = "[";
    for (const auto& x : e) out += (out.size() > 1 ? ", " : "") + x;
    return out + "]";
  };
  int a = pick(10);
  std::string action = a < 6 ? "allow" : a < 9 ? "deny" : "reject";
  std::string r = "  - { name: r" + std::to_string(i) + ", from: " + list(false) + ", to: " + list(true) +
                  ", services: " + services() + ", action: " + action;
  if (action == "allow" && chance(20)) r += ", limit: { rate: 100/second, connections: 50 }";
  if (chance(15)) r += ", log: true";
  return r + " }\n";
}

std::string PolicyGen::policy() {
  segments_ = 2 + pick(3);
  dual_.clear();
  hostsPer_.clear();
  hostV6_.clear();
  for (int s = 0; s < segments_; ++s) {
    dual_.push_back(chance(50));
    hostsPer_.push_back(1 + pick(4));
  }
  for (int i = 0; i < segments_ * 8; ++i) hostV6_.push_back(chance(60));
  zone_ = segments_ > 2 && chance(50);
  groups_ = pick(3);
  rules_.clear();
  int n = 2 + pick(9);
  for (int i = 0; i < n; ++i) rules_.push_back(rule(i));
  access_.clear();
  for (int g = 0; g < groups_; ++g) {
    access_.push_back("{ to: s" + std::to_string(pick(segments_)) + ", services: " + services() + " }");
  }
  dnat_.clear();
  if (chance(60)) {
    std::string port = chance(50) ? ", port: 8080" : "";
    dnat_.push_back("{ name: d0, vip: 10.0.0.200, service: http, to: h0x0" + port + " }");
  }
  if (chance(30)) dnat_.push_back("{ name: d1, vip: 203.0.113.10, service: https, to: h1x0 }");
  return render();
}

std::string PolicyGen::mutate() {
  int what = pick(7);
  int n = static_cast<int>(rules_.size());
  static int next = 1000;
  if (what == 0 && n > 1) {
    rules_.erase(rules_.begin() + pick(n));
  } else if (what == 1) {
    rules_.insert(rules_.begin() + pick(n + 1), rule(next++));
  } else if (what == 2 && n > 1) {
    std::swap(rules_[static_cast<std::size_t>(pick(n))], rules_[static_cast<std::size_t>(pick(n))]);
  } else if (what == 3 && !dnat_.empty()) {
    dnat_[0] = "{ name: d0, vip: 10.0.0.200, service: http, to: h" + std::to_string(pick(segments_)) + "x0" +
               (chance(50) ? ", port: 8081" : "") + " }";
  } else if (what == 4 && groups_ > 0) {
    access_[static_cast<std::size_t>(pick(groups_))] =
        "{ to: " + endpoint(true) + ", services: " + services() + " }";
  } else if (n > 0) {
    rules_[static_cast<std::size_t>(pick(n))] = rule(next++);
  }
  return render();
}

std::string PolicyGen::render() {
  std::string t = "gateway: { uplink: wan0, trunk: trk0 }\nsegments:\n";
  for (int s = 0; s < segments_; ++s) {
    auto n = std::to_string(s);
    t += "  - { name: s" + n + ", vlan: " + std::to_string(10 + s) + ", ipv4: { subnet: 10." + n +
         ".0.0/24, gateway: 10." + n + ".0.1 }";
    if (dual_[static_cast<std::size_t>(s)]) t += ", ipv6: { subnet: 2001:db8:" + n + "::/64, gateway: 2001:db8:" + n + "::1 }";
    t += " }\n";
  }
  t += "hosts:\n";
  for (int s = 0; s < segments_; ++s) {
    for (int h = 0; h < hostsPer_[static_cast<std::size_t>(s)]; ++h) {
      auto n = std::to_string(s);
      t += "  - { name: h" + n + "x" + std::to_string(h) + ", segment: s" + n + ", addresses: [10." + n + ".0.1" +
           std::to_string(h);
      if (dual_[static_cast<std::size_t>(s)] && hostV6_[static_cast<std::size_t>(s * 8 + h)]) {
        t += ", 2001:db8:" + n + "::1" + std::to_string(h);
      }
      t += "] }\n";
    }
  }
  t += "services:\n"
       "  - { name: http, ports: [tcp/80] }\n"
       "  - { name: https, ports: [tcp/443] }\n"
       "  - { name: range, ports: [tcp/1000-1010, udp/1005] }\n"
       "  - { name: ping, ports: [icmp, icmpv6] }\n"
       "  - { name: dns, ports: [udp/53, tcp/53] }\n"
       "  - { name: sc, ports: [sctp/9000] }\n";
  if (zone_) t += "zones:\n  - { name: z0, segments: [s0, s1]" + std::string(groups_ > 0 ? ", vpn_groups: [g0]" : "") + " }\n";
  t += "rules:\n";
  for (const auto& r : rules_) t += r;
  if (!dnat_.empty()) {
    t += "nat:\n  dnat:\n";
    for (const auto& d : dnat_) t += "    - " + d + "\n";
    t += "  snat:\n    - { name: out, from: [s0], to: masquerade }\n";
  }
  if (groups_ > 0) {
    t += "vpn:\n  ca: Test CA\n  local_id: vpn.example.org\n  groups:\n";
    for (int g = 0; g < groups_; ++g) {
      t += "    - { name: g" + std::to_string(g) + ", pool: 10.250." + std::to_string(g) + ".0/26, access: [" +
           access_[static_cast<std::size_t>(g)] + "] }\n";
    }
  }
  return t;
}

std::vector<IpAddress> sampleAddresses(const policies::Policy& policy, Family f, std::mt19937_64& rng,
                                       std::size_t randomExtra) {
  std::vector<IpAddress> out;
  auto add = [&](const IpAddress& a) {
    if (a.family() == f) out.push_back(a);
  };
  auto inside = [&](const Prefix& p) {
    auto s = prefixSet(p);
    U128 width = s.max() - s.min();
    U128 r = (U128{rng()} << 64) | rng();
    return addressAt(f, s.min() + (width == ~U128{0} ? r : r % (width + 1)));
  };
  for (const auto& s : policy.segments) {
    const auto& cfg = f == Family::V4 ? s.ipv4 : s.ipv6;
    if (!cfg) continue;
    add(cfg->subnet.address());
    add(cfg->subnet.last());
    if (cfg->gateway) add(*cfg->gateway);
    add(inside(cfg->subnet));
    add(inside(cfg->subnet));
  }
  for (const auto& h : policy.hosts) {
    for (const auto& a : h.addresses) add(a);
  }
  for (const auto& d : policy.dnat) add(d.vip);
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) {
      if (g.pool.family() != f) continue;
      add(g.pool.address());
      add(inside(g.pool));
      add(g.pool.last());
    }
  }
  const char* v4[] = {"198.51.100.7", "8.8.8.8", "0.0.0.0", "255.255.255.255", "10.255.0.1", "203.0.113.10"};
  const char* v6[] = {"2001:db8:ffff::7", "::", "2001:db8:ff::1", "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
  if (f == Family::V4) {
    for (const char* t : v4) add(*IpAddress::parse(t));
  } else {
    for (const char* t : v6) add(*IpAddress::parse(t));
  }
  for (std::size_t i = 0; i < randomExtra; ++i) {
    add(inside(f == Family::V4 ? *Prefix::parse("0.0.0.0/0") : *Prefix::parse("::/0")));
  }
  return out;
}

std::vector<std::pair<std::uint8_t, std::uint16_t>> sampleServices(const policies::Policy& policy,
                                                                  std::mt19937_64& rng) {
  std::vector<std::pair<std::uint8_t, std::uint16_t>> out;
  std::set<std::uint16_t> ports{0, 1, 22, 53, 80, 443, 1935, 65535};
  for (const auto& s : policy.services) {
    for (const auto& p : s.ports) {
      for (int d : {-1, 0, 1}) {
        ports.insert(static_cast<std::uint16_t>(p.ports.first + d));
        ports.insert(static_cast<std::uint16_t>(p.ports.last + d));
      }
    }
  }
  for (const auto& d : policy.dnat) {
    if (d.port) ports.insert(*d.port);
  }
  for (std::uint8_t proto : {std::uint8_t{6}, std::uint8_t{17}, std::uint8_t{132}}) {
    for (auto p : ports) out.emplace_back(proto, p);
  }
  for (std::uint8_t proto : {std::uint8_t{1}, std::uint8_t{58}, std::uint8_t{47}, std::uint8_t{0}, std::uint8_t{255}}) {
    out.emplace_back(proto, static_cast<std::uint16_t>(rng() & 0xffff));
  }
  out.emplace_back(static_cast<std::uint8_t>(rng() & 0xff), static_cast<std::uint16_t>(rng() & 0xffff));
  return out;
}

}  // namespace bulwark::review::testing
