#include "compile_ha.h"

#include "bulwark/policies/ha.h"

namespace bulwark::firewall::detail {

namespace {

constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kVrrp = 112;
constexpr std::uint16_t kConntrackdPort = 3780;

}  // namespace

std::vector<Rule> haInputRules(const policies::Policy& p) {
  std::vector<Rule> out;
  if (!p.ha || p.ha->nodes.size() != 2) return out;
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
