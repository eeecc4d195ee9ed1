// Pure parts of the link set: desired links from the policy, ownership marks, sysctls, and
// the printable form of each operation.
#include "bulwark/vlan/links.h"

#include <algorithm>
#include <charconv>

#include "bulwark/policies/ha.h"
#include "bulwark/policies/resolve.h"

namespace bulwark::vlan {

std::string Address::str() const { return ip.str() + "/" + std::to_string(prefixLen); }

bool Address::linkLocalV6() const {
  return !ip.isV4() && ip.bytes()[0] == 0xfe && (ip.bytes()[1] & 0xc0) == 0x80;
}

const ObservedLink* ObservedState::find(std::string_view name) const {
  auto it = std::find_if(links.begin(), links.end(), [&](const ObservedLink& l) { return l.name == name; });
  return it == links.end() ? nullptr : &*it;
}

const ObservedLink* ObservedState::findIndex(int index) const {
  auto it = std::find_if(links.begin(), links.end(), [&](const ObservedLink& l) { return l.index == index; });
  return it == links.end() ? nullptr : &*it;
}

LinkConf ObservedState::confOf(int index) const {
  for (const auto& [i, c] : conf) {
    if (i == index) {
      return c;
    }
  }
  return {};
}

namespace {

std::string at(const policies::Location& where) { return where.line > 0 ? where.str() + ": " : ""; }

}  // namespace

namespace {

// A pair's node: its own addresses on the link instead of the segment's gateway address, which
// floats (keepalived's).
void pairAddresses(const policies::Policy& policy, std::string_view haNode, LinkSet& set) {
  const auto* node = policy.ha->findNode(haNode);
  if (node == nullptr) {
    set.problems.push_back(at(policy.ha->where) + (haNode.empty() ? std::string("the links of an HA pair's node need its name")
                                                                  : "'" + std::string(haNode) + "' is not one of ha.nodes"));
    return;
  }
  auto floating = policies::floatingAddresses(policy);
  auto own = policies::nodeAddresses(policy, *node);
  for (auto& l : set.links) {
    l.addresses.clear();
    for (bool v4 : {true, false}) {
      for (const auto& a : own) {
        if (a.interface == l.name && a.address.ip.isV4() == v4) l.addresses.push_back({a.address.ip, a.address.length});
      }
    }
    for (const auto& f : floating) {
      if (f.interface == l.name) l.tolerated.push_back({f.address.ip, f.address.length});
    }
  }
}

}  // namespace

LinkSet desiredLinks(const policies::Policy& policy, std::string_view haNode) {
  LinkSet set;
  if (policy.gateway) {
    set.trunk = policy.gateway->trunk;
  }
  for (const auto& s : policy.segments) {
    DesiredLink d;
    d.segment = s.name;
    d.name = policies::segmentInterface(policy, s);
    if (s.vlan) {
      d.kind = LinkKind::Vlan;
      d.where = s.at("vlan");
      d.parent = set.trunk;
      if (set.trunk.empty()) {
        set.problems.push_back(at(d.where) + "segment '" + s.name + "' has VLAN " + std::to_string(*s.vlan) +
                               " but the gateway names no trunk");
        continue;
      }
      if (*s.vlan < 1 || *s.vlan > 4094) {
        set.problems.push_back(at(d.where) + "VLAN id " + std::to_string(*s.vlan) + " of segment '" + s.name +
                               "' is outside 1-4094");
        continue;
      }
      d.vlanId = static_cast<std::uint16_t>(*s.vlan);
    } else {
      d.kind = LinkKind::Existing;
      d.where = s.at("interface");
      if (d.name.empty()) {
        set.problems.push_back(at(s.where) + "segment '" + s.name + "' has neither a VLAN nor an interface");
        continue;
      }
    }
    if (d.name.size() > policies::kMaxInterfaceName) {
      set.problems.push_back(at(d.where) + "interface name '" + d.name + "' of segment '" + s.name +
                             "' is longer than 15 characters");
      continue;
    }
    if (s.mtu < 68 || s.mtu > 65535) {
      set.problems.push_back(at(s.at("mtu")) + "MTU " + std::to_string(s.mtu) + " of segment '" + s.name +
                             "' is outside 68-65535");
      continue;
    }
    d.mtu = static_cast<std::uint32_t>(s.mtu);
    for (const auto* fam : {&s.ipv4, &s.ipv6}) {
      if (*fam && (*fam)->gateway) {
        d.addresses.push_back(Address{*(*fam)->gateway, (*fam)->subnet.length()});
      }
    }
    d.ipv6 = s.ipv6.has_value();
    set.links.push_back(std::move(d));
  }
  if (policy.ha) pairAddresses(policy, haNode, set);
  return set;
}

// ---- marks ---------------------------------------------------------------------------------
std::optional<Mark> parseMark(std::string_view alias) {
  if (alias.substr(0, kAliasPrefix.size()) != kAliasPrefix) {
    return std::nullopt;
  }
  alias.remove_prefix(kAliasPrefix.size());
  std::vector<std::string_view> words;
  while (!alias.empty()) {
    const auto sp = alias.find(' ');
    if (sp != 0) {
      words.push_back(alias.substr(0, sp));
    }
    if (sp == std::string_view::npos) {
      break;
    }
    alias.remove_prefix(sp + 1);
  }
  if (words.empty()) {
    return std::nullopt;
  }
  Mark m;
  m.segment = std::string(words[0]);
  if (words.size() > 1 && words[1] == "adopted") {
    m.adopted = true;
    for (std::size_t i = 2; i < words.size(); ++i) {
      const auto slash = words[i].find('/');
      if (slash == std::string_view::npos) {
        continue;
      }
      auto ip = policies::IpAddress::parse(words[i].substr(0, slash));
      int len = -1;
      const auto lenText = words[i].substr(slash + 1);
      auto [p, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
      if (ip && ec == std::errc() && p == lenText.data() + lenText.size() && len >= 0 && len <= ip->bits()) {
        m.recorded.push_back(Address{*ip, len});
      }
    }
  }
  return m;
}

std::string formatMark(const Mark& mark) {
  std::string s = std::string(kAliasPrefix) + mark.segment;
  if (mark.adopted) {
    s += " adopted";
    for (const auto& a : mark.recorded) {
      s += " " + a.str();
    }
  }
  return s;
}

// ---- sysctls -------------------------------------------------------------------------------
std::vector<std::pair<std::string, std::string>> linkSysctls(const DesiredLink& link) {
  const std::string v4 = "net/ipv4/conf/" + link.name + "/";
  std::vector<std::pair<std::string, std::string>> out = {
      {v4 + "forwarding", "1"},
      // Loose reverse-path filtering (2), not strict (1) and not off (0). Anti-spoofing is the
      // firewall's job: `fib saddr . iif oif missing drop` is strict, counted, logged and named
      // after the policy, whereas rp_filter drops are silent. Strict rp_filter on top would
      // also drop legitimate asymmetric flows (active/standby pair, policy routing, IPsec)
      // before the firewall sees them. 0 would not work reliably: the kernel uses
      // max(conf.all.rp_filter, conf.<if>.rp_filter), so with a distribution default of
      // all=1 a per-link 0 is still strict; 2 wins over 1 and keeps the cheap "source not
      // routable at all" check.
      {v4 + "rp_filter", "2"},
  };
  if (link.ipv6) {
    out.emplace_back("net/ipv6/conf/" + link.name + "/forwarding", "1");
  }
  return out;
}

// ---- descriptions --------------------------------------------------------------------------
namespace {

// "net/ipv4/conf/eth1.20/forwarding" → "net.ipv4.conf.eth1/20.forwarding" (sysctl(8) syntax).
std::string sysctlName(const std::string& path) {
  std::string out;
  for (char c : path) {
    out += c == '/' ? '.' : c == '.' ? '/' : c;
  }
  return out;
}

std::string quoted(const std::string& s) {
  return s.find(' ') == std::string::npos && !s.empty() ? s : "\"" + s + "\"";
}

}  // namespace

std::string Op::description() const {
  switch (kind) {
    case OpKind::CreateVlan:
      return "ip link add link " + parent + " name " + link + " mtu " + std::to_string(mtu) +
             " type vlan id " + std::to_string(vlanId) + " && ip link set dev " + link + " alias " +
             quoted(alias);
    case OpKind::SetMtu:
      return "ip link set dev " + link + " mtu " + std::to_string(mtu);
    case OpKind::SetAlias:
      return "ip link set dev " + link + " alias " + quoted(alias);
    case OpKind::SetUp:
      return "ip link set dev " + link + (up ? " up" : " down");
    case OpKind::AddAddress:
      return "ip address add " + address.str() + " dev " + link;
    case OpKind::RemoveAddress:
      return "ip address del " + address.str() + " dev " + link;
    case OpKind::SetSysctl:
      return "sysctl -w " + sysctlName(sysctl) + "=" + value;
    case OpKind::DeleteLink:
      return "ip link delete dev " + link;
  }
  return "?";
}

}  // namespace bulwark::vlan
