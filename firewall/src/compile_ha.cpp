#include "compile_ha.h"

#include <algorithm>

#include "bulwark/policies/ha.h"
#include "bulwark/policies/resolve.h"

namespace bulwark::firewall::detail {

namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kVrrp = 112;
constexpr std::uint16_t kConntrackdPort = 3780;

}  // namespace

namespace {

// The segment interface a node's own address `a` sits on ("" when none).
std::string nodeInterfaceOf(const policies::Policy& p, const policies::HaNode& n, const policies::IpAddress& a) {
  for (const auto& sa : n.segments) {
    if (std::find(sa.addresses.begin(), sa.addresses.end(), a) == sa.addresses.end()) continue;
    if (const auto* seg = p.findSegment(sa.segment.name)) return policies::segmentInterface(p, *seg);
  }
  return {};
}

// One policy, both nodes (bulwarkd's pair apply): each node's control API on its own
// `control` address, reachable from the other node's `control` address on that segment's
// interface only (TLS with the node certificates on top: gateway/daemon/peer_link.h).
void peerControlRules(const policies::Policy& p, std::vector<Rule>& out) {
  if (!p.gateway || !p.gateway->control) return;
  const MatchPort port{{p.gateway->control->port, p.gateway->control->port}};
  for (const auto& to : p.ha->nodes) {
    const auto* from = policies::haPeer(*p.ha, to);
    if (from == nullptr || !to.control || !from->control || to.control->family() != from->control->family()) continue;
    auto iface = nodeInterfaceOf(p, to, *to.control);
    if (iface.empty()) continue;  // the validator reports it
    const auto fam = to.control->family();
    const bool v4 = fam == policies::Family::V4;
    out.push_back(Rule{{MatchIfName{Selector::IifName, iface, false}, MatchNfProto{fam},
                        MatchPrefix{v4 ? Selector::Ip4Saddr : Selector::Ip6Saddr,
                                    Prefix(*from->control, from->control->bits()), false},
                        MatchPrefix{v4 ? Selector::Ip4Daddr : Selector::Ip6Daddr, Prefix(*to.control, to.control->bits()),
                                    false},
                        MatchL4Proto{kTcp}, port, StmtCounter{}},
                       {VerdictKind::Accept, {}},
                       {to.at("control"), "ha-control:" + from->name}});
  }
}

}  // namespace

std::vector<Rule> haInputRules(const policies::Policy& p) {
  std::vector<Rule> out;
  if (!p.ha || p.ha->nodes.size() != 2) return out;
  peerControlRules(p, out);
  auto iface = policies::haSyncInterface(p);
  if (iface.empty()) return out;
  for (const auto& to : p.ha->nodes) {
    const auto* from = policies::haPeer(*p.ha, to);
    if (from == nullptr) continue;
    auto src = policies::haSyncAddress(p, *from);
    auto dst = policies::haSyncAddress(p, to);
    if (!src || !dst) continue;  // the validator reports it
    auto fam = src->family();
    std::vector<Expr> head{MatchIfName{Selector::IifName, iface, false}, MatchNfProto{fam},
                           MatchPrefix{fam == policies::Family::V4 ? Selector::Ip4Saddr : Selector::Ip6Saddr,
                                       Prefix(*src, src->bits()), false},
                           MatchPrefix{fam == policies::Family::V4 ? Selector::Ip4Daddr : Selector::Ip6Daddr,
                                       Prefix(*dst, dst->bits()), false}};
    auto vrrp = head;
    vrrp.insert(vrrp.end(), {MatchL4Proto{kVrrp}, StmtCounter{}});
    out.push_back(Rule{std::move(vrrp), {VerdictKind::Accept, {}}, {p.ha->at("sync"), "ha-vrrp:" + from->name}});
    auto sync = head;
    sync.insert(sync.end(), {MatchL4Proto{kUdp}, MatchPort{{kConntrackdPort, kConntrackdPort}}, StmtCounter{}});
    out.push_back(Rule{std::move(sync), {VerdictKind::Accept, {}}, {p.ha->at("sync"), "ha-conntrackd:" + from->name}});
  }
  return out;
}

std::optional<policies::IpAddress> haSnatAddress(const policies::Policy& p) {
  if (!p.ha) return std::nullopt;
  std::optional<policies::IpAddress> host;
  for (const auto& f : policies::floatingAddresses(p)) {
    if (!f.segment.empty() || !f.address.ip.isV4()) continue;
    if (f.address.length < 32) return f.address.ip;  // the uplink's own subnet address first
    if (!host) host = f.address.ip;
  }
  return host;
}

}  // namespace bulwark::firewall::detail
