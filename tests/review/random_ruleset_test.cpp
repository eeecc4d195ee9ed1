// The partition on random rulesets, not only compiled ones: every expression and verdict kind
// of the IR (negated matches, set lookups of every key shape, verdict maps, jumps, gotos,
// returns, missing chains and sets, DNAT with and without a port, depth limits) in random
// chains, against firewall::evaluate() packet by packet. A kernel table raised back to IR
// (plan --direct) may hold any of these.
#include <gtest/gtest.h>

#include <random>

#include "bulwark/firewall/evaluator.h"
#include "bulwark/policies/loader.h"
#include "bulwark/review/partition.h"

namespace bulwark::review {
namespace {

namespace fw = firewall;

const char* kSite = R"(gateway: { uplink: wan0, trunk: trk0 }
segments:
  - { name: a, vlan: 10, ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1 }, ipv6: { subnet: 2001:db8:1::/64, gateway: 2001:db8:1::1 } }
  - { name: b, vlan: 20, ipv4: { subnet: 10.2.0.0/24, gateway: 10.2.0.1 } }
vpn:
  ca: CA
  local_id: vpn.example.org
  groups:
    - { name: g, pool: 10.250.0.0/26, access: [{ to: a, services: [any] }] }
)";

class IrGen {
 public:
  explicit IrGen(std::uint64_t seed) : rng_(seed) {}

  fw::Ruleset ruleset() {
    fw::Ruleset rs;
    for (int i = 0; i < 4; ++i) rs.sets.push_back(randomSet(i));
    rs.sets.push_back(vmapSet());
    std::vector<std::string> names{"c0", "c1", "c2"};
    auto add = [&](std::string name, std::optional<fw::BaseChain> base) {
      fw::Chain c{std::move(name), base, {}, {}};
      int n = pick(6);
      for (int i = 0; i < n; ++i) c.rules.push_back(rule(c.name, static_cast<int>(rs.chains.size()), i));
      rs.chains.push_back(std::move(c));
    };
    add("pre", fw::BaseChain{fw::ChainType::Filter, fw::Hook::Prerouting, -150, chance(30)});
    add("nat", fw::BaseChain{fw::ChainType::Nat, fw::Hook::Prerouting, -100, false});
    add("in", fw::BaseChain{fw::ChainType::Filter, fw::Hook::Input, 0, chance(50)});
    add("fwd", fw::BaseChain{fw::ChainType::Filter, fw::Hook::Forward, 0, chance(70)});
    for (const auto& n : names) add(n, std::nullopt);
    return rs;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }

  Prefix prefix(bool v6) {
    const char* v4s[] = {"10.1.0.0/24", "10.1.0.0/28", "10.1.0.11/32", "10.2.0.0/24", "10.2.0.12/32",
                         "10.250.0.0/26", "0.0.0.0/0", "198.51.100.0/24", "10.0.0.0/8", "10.2.0.1/32"};
    const char* v6s[] = {"2001:db8:1::/64", "2001:db8:1::11/128", "::/0", "2001:db8::/32"};
    return v6 ? *Prefix::parse(v6s[pick(4)]) : *Prefix::parse(v4s[pick(10)]);
  }
  fw::PortRange ports() {
    const fw::PortRange r[] = {{80, 80}, {443, 443}, {1000, 2000}, {0, 65535}, {22, 22}, {53, 53}};
    return r[pick(6)];
  }
  std::uint8_t proto() {
    const std::uint8_t p[] = {6, 17, 1, 58, 132};
    return p[pick(5)];
  }
  std::string ifname() {
    const char* n[] = {"wan0", "trk0.10", "trk0.20", "ipsec0", "lo", ""};
    return n[pick(6)];
  }
  fw::Selector selector() { return static_cast<fw::Selector>(pick(8)); }
  fw::KeyPart part(fw::Selector s) {
    using S = fw::Selector;
    if (chance(10)) {  // a part of the wrong type now and then
      switch (pick(4)) {
        case 0: return ifname();
        case 1: return prefix(chance(30));
        case 2: return proto();
        default: return ports();
      }
    }
    switch (s) {
      case S::IifName:
      case S::OifName: return ifname();
      case S::Ip4Saddr:
      case S::Ip4Daddr: return prefix(false);
      case S::Ip6Saddr:
      case S::Ip6Daddr: return prefix(true);
      case S::L4Proto: return chance(80) ? fw::KeyPart{proto()} : fw::KeyPart{fw::PortRange{0, 17}};
      case S::ThDport: return chance(80) ? fw::KeyPart{ports()} : fw::KeyPart{std::uint8_t{80}};
    }
    return proto();
  }
  fw::SetDef randomSet(int i) {
    fw::SetDef s;
    s.name = "s" + std::to_string(i);
    int width = 1 + pick(2);
    for (int k = 0; k < width; ++k) keys_[i].push_back(selector());
    int n = pick(5);
    for (int e = 0; e < n; ++e) {
      fw::SetElement el;
      for (auto sel : keys_[i]) el.key.push_back(part(sel));
      if (chance(5)) el.key.pop_back();  // wrong width: never matches
      s.elements.push_back(std::move(el));
    }
    return s;
  }
  fw::SetDef vmapSet() {
    fw::SetDef s;
    s.name = "vm";
    s.verdictMap = true;
    vmapKey_ = chance(50) ? std::vector<fw::Selector>{fw::Selector::IifName, fw::Selector::OifName}
                          : std::vector<fw::Selector>{selector()};
    int n = 1 + pick(4);
    const char* targets[] = {"c0", "c1", "c2", "missing"};
    for (int e = 0; e < n; ++e) {
      fw::SetElement el;
      for (auto sel : vmapKey_) el.key.push_back(part(sel));
      el.jumpTo = targets[pick(4)];
      s.elements.push_back(std::move(el));
    }
    return s;
  }

  fw::Expr expr() {
    using namespace fw;
    switch (pick(20)) {
      case 0: return MatchCtState{chance(80) ? kCtNew : kCtEstablished};
      case 1: return MatchIfName{chance(50) ? Selector::IifName : Selector::OifName, ifname(), chance(30)};
      case 2: return MatchNfProto{chance(50) ? policies::Family::V4 : policies::Family::V6};
      case 3: return MatchL4Proto{proto()};
      case 4:
      case 5: {
        auto sel = static_cast<Selector>(2 + pick(4));
        bool v6 = sel == Selector::Ip6Saddr || sel == Selector::Ip6Daddr;
        return MatchPrefix{sel, prefix(chance(90) ? v6 : !v6), chance(30)};
      }
      case 6: return MatchPort{ports()};
      case 7:
      case 8:
      case 9: {
        int i = pick(4);
        return MatchLookup{keys_[i], chance(5) ? "nope" : "s" + std::to_string(i), chance(25)};
      }
      case 10: return MatchIpsecIn{};
      case 11: return MatchFibSaddrMissing{};
      case 12: return MatchTcpSynOnly{};
      case 13: return MatchNotTcpSyn{};
      case 14: return StmtCounter{};
      case 15: return StmtLimit{10, RateUnit::Second, 20, chance(50)};
      case 16: return chance(50) ? Expr{StmtMeterOver{"m", {Selector::Ip4Saddr}, {}}} : Expr{StmtLog{"x"}};
      case 17: {
        auto to = chance(70) ? *IpAddress::parse(chance(50) ? "10.2.0.12" : "10.1.0.1") : *IpAddress::parse("10.9.9.9");
        return StmtDnat{to, chance(50) ? std::optional<std::uint16_t>(8080) : std::nullopt};
      }
      case 18: return StmtVmap{vmapKey_, chance(5) ? "nope" : "vm"};
      default: return StmtCounter{};
    }
  }
  fw::Rule rule(const std::string& chain, int chainIndex, int i) {
    fw::Rule r;
    int n = pick(4);
    for (int k = 0; k < n; ++k) r.exprs.push_back(expr());
    const char* targets[] = {"c0", "c1", "c2", "missing"};
    switch (pick(8)) {
      case 0: r.verdict = {fw::VerdictKind::Accept, {}}; break;
      case 1: r.verdict = {fw::VerdictKind::Drop, {}}; break;
      case 2: r.verdict = {fw::VerdictKind::Reject, {}}; break;
      case 3: r.verdict = {fw::VerdictKind::Return, {}}; break;
      case 4: r.verdict = {fw::VerdictKind::Jump, targets[pick(4)]}; break;
      case 5: r.verdict = {fw::VerdictKind::Goto, targets[pick(4)]}; break;
      default: r.verdict = {fw::VerdictKind::None, {}}; break;
    }
    (void)chainIndex;
    r.origin = {{"ir.yaml", i + 1, 1}, chain + "#" + std::to_string(i)};
    return r;
  }

  std::mt19937_64 rng_;
  std::vector<fw::Selector> keys_[4];
  std::vector<fw::Selector> vmapKey_;
};

TEST(PartitionIr, RandomRulesetsAgreeWithTheEvaluator) {
  auto site = policies::loadPolicyText(kSite, "site.yaml");
  ASSERT_FALSE(site.diagnostics.hasErrors());
  std::mt19937_64 rng(99);
  const char* v4[] = {"10.1.0.11", "10.1.0.1", "10.1.0.200", "10.2.0.12", "10.2.0.1", "10.250.0.5",
                      "198.51.100.7", "10.9.9.9", "0.0.0.0", "10.1.0.255"};
  const char* v6[] = {"2001:db8:1::11", "2001:db8:1::1", "2001:db8:ffff::7", "::"};
  const std::pair<std::uint8_t, std::uint16_t> svcs[] = {{6, 80}, {6, 443}, {17, 53}, {6, 1500}, {1, 0},
                                                         {58, 3}, {132, 22}, {17, 8080}, {6, 8080}, {47, 0}};
  std::size_t accepted = 0, total = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    IrGen gen(seed);
    auto rs = gen.ruleset();
    for (auto fam : {Family::V4, Family::V6}) {
      for (auto path : {IpsecPath::Kernel, IpsecPath::Libipsec}) {
        auto setup = flowSetup(site.policy, fam, path);
        auto pieces = partitionAll(rs, setup);
        for (int k = 0; k < 60; ++k) {
          auto s = *IpAddress::parse(fam == Family::V4 ? v4[rng() % 10] : v6[rng() % 4]);
          auto d = *IpAddress::parse(fam == Family::V4 ? v4[rng() % 10] : v6[rng() % 4]);
          auto [proto, port] = svcs[rng() % 10];
          U128 sv = addressValue(s), dv = addressValue(d), v = svcValue(proto, port);
          int hits = 0;
          const Piece* hit = nullptr;
          for (const auto& p : pieces) {
            if (p.cube.contains(sv, dv, v)) {
              ++hits;
              hit = &p;
            }
          }
          std::string what = "seed " + std::to_string(seed) + " " + std::string(ipsecPathName(path)) + ": " + s.str() +
                             " -> " + d.str() + " " + std::to_string(proto) + "/" + std::to_string(port);
          ASSERT_EQ(hits, 1) << what;
          if (switchedBetween(setup, sv, dv)) {
            EXPECT_TRUE(hit->outcome.accepted && hit->outcome.switched) << what;
            continue;
          }
          auto ev = fw::evaluate(rs, setup.routes, placeFlow(setup, s, d, proto, port));
          ++total;
          accepted += ev.accepted ? 1 : 0;
          ASSERT_EQ(hit->outcome.accepted, ev.accepted) << what << ": piece decided by '" << hit->outcome.decidedBy.what
                                                        << "', evaluator by '" << ev.decidedBy.what << "'";
          ASSERT_EQ(hit->outcome.dnatTo.has_value(), ev.dnatTo.has_value()) << what;
          if (ev.dnatTo) {
            EXPECT_EQ(*hit->outcome.dnatTo, addressValue(*ev.dnatTo)) << what;
          }
          EXPECT_EQ(hit->outcome.dnatPort, ev.dnatPort) << what;
          if (ev.decidedBy.what.rfind("no route", 0) != 0) {
            EXPECT_EQ(hit->outcome.decidedBy.what, ev.decidedBy.what) << what;
          }
        }
      }
    }
  }
  // Both verdicts well represented.
  EXPECT_GT(accepted, total / 10);
  EXPECT_LT(accepted, total - total / 10);
}

}  // namespace
}  // namespace bulwark::review
