// DNAT to several backends: the pools the compiler makes, the elements a health state
// chooses, the element updates between two states, and what `why`/`test` see per backend.
#include <gtest/gtest.h>

#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/evaluator.h"
#include "bulwark/firewall/expectations.h"
#include "bulwark/firewall/render.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

using testing::compileExample;
using testing::compileText;
using H = BackendHealth;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

DnatPool pool(policies::DnatMode mode, std::size_t n) {
  DnatPool p;
  p.map = "m";
  p.mode = mode;
  for (std::size_t i = 0; i < n; ++i) {
    p.backends.push_back({"b" + std::to_string(i), IpAddress::v4(0x0a000001u + static_cast<std::uint32_t>(i))});
  }
  p.vips = {ip("198.51.100.1")};
  return p;
}

TEST(DnatPools, FailoverTakesTheFirstBackendThatIsNotDown) {
  auto p = pool(policies::DnatMode::Failover, 3);
  EXPECT_EQ(choosePool(p, {}), (PoolChoice{0}));  // unknown counts as up
  EXPECT_EQ(choosePool(p, {H::Down, H::Unknown, H::Up}), (PoolChoice{1}));
  EXPECT_EQ(choosePool(p, {H::Down, H::Down, H::Up}), (PoolChoice{2}));
  EXPECT_EQ(choosePool(p, {H::Up, H::Down, H::Down}), (PoolChoice{0}));
}

TEST(DnatPools, NothingUpKeepsTheLastChoice) {
  auto p = pool(policies::DnatMode::Failover, 2);
  EXPECT_EQ(choosePool(p, {H::Down, H::Down}, PoolChoice{1}), (PoolChoice{1}));
  EXPECT_EQ(choosePool(p, {H::Down, H::Down}), (PoolChoice{0}));  // no previous: the first
  auto b = pool(policies::DnatMode::Balance, 3);
  EXPECT_EQ(choosePool(b, {H::Down, H::Down, H::Down}, PoolChoice{2, 2, 2}), (PoolChoice{2, 2, 2}));
}

TEST(DnatPools, BalanceGivesADownSlotToTheNextBackendThatIsUp) {
  auto p = pool(policies::DnatMode::Balance, 3);
  EXPECT_EQ(choosePool(p, {}), (PoolChoice{0, 1, 2}));
  EXPECT_EQ(choosePool(p, {H::Up, H::Down, H::Up}), (PoolChoice{0, 2, 2}));
  EXPECT_EQ(choosePool(p, {H::Up, H::Up, H::Down}), (PoolChoice{0, 1, 0}));
  EXPECT_EQ(choosePool(p, {H::Down, H::Down, H::Up}), (PoolChoice{2, 2, 2}));
}

TEST(DnatPools, AHealthChangeIsOneElementUpdate) {
  auto p = pool(policies::DnatMode::Failover, 2);
  auto from = choosePool(p, {H::Up, H::Up});
  auto to = choosePool(p, {H::Down, H::Up});
  auto u = poolUpdate(p, from, to);
  ASSERT_EQ(u.removals.size(), 1u);
  ASSERT_EQ(u.additions.size(), 1u);
  EXPECT_EQ(u.additions[0].set, "m");
  EXPECT_EQ(u.additions[0].element.target, ip("10.0.0.2"));
  EXPECT_EQ(std::get<Prefix>(u.removals[0].element.key[0]).address(), ip("198.51.100.1"));
  EXPECT_TRUE(poolUpdate(p, to, to).empty());
  // balance: only the slot of the backend that went down changes
  auto b = pool(policies::DnatMode::Balance, 3);
  auto ub = poolUpdate(b, choosePool(b, {}), choosePool(b, {H::Up, H::Down, H::Up}));
  ASSERT_EQ(ub.additions.size(), 1u);
  EXPECT_EQ(std::get<std::uint32_t>(ub.additions[0].element.key[0]), 1u);
  EXPECT_EQ(ub.additions[0].element.target, ip("10.0.0.3"));
}

TEST(DnatPools, TheElementsFoundInTheKernelGiveTheirChoiceBack) {
  for (auto mode : {policies::DnatMode::Failover, policies::DnatMode::Balance}) {
    auto p = pool(mode, 3);
    p.vips = {ip("198.51.100.1"), ip("198.51.100.2")};
    for (const auto& health : std::vector<std::vector<H>>{{}, {H::Down}, {H::Up, H::Down}, {H::Down, H::Down, H::Up}}) {
      const auto choice = choosePool(p, health);
      EXPECT_EQ(choiceOfElements(p, poolElements(p, choice)), choice);
    }
  }
}

TEST(DnatPools, ElementsThatAreNoChoiceOfThePoolGiveNone) {
  auto p = pool(policies::DnatMode::Failover, 2);
  p.vips = {ip("198.51.100.1"), ip("198.51.100.2")};
  auto e = poolElements(p, {1});
  EXPECT_FALSE(choiceOfElements(p, {}));
  EXPECT_FALSE(choiceOfElements(p, {e[0]}));  // a VIP missing
  auto split = e;
  split[1].target = ip("10.0.0.1");  // the two VIPs on different backends
  EXPECT_FALSE(choiceOfElements(p, split));
  auto foreign = e;
  foreign[0].target = ip("10.9.9.9");  // no backend of the pool
  EXPECT_FALSE(choiceOfElements(p, foreign));
  auto noData = e;
  noData[0].target.reset();
  EXPECT_FALSE(choiceOfElements(p, noData));
  auto otherKey = e;
  otherKey[0].key = {Prefix(ip("198.51.100.9"), 32)};
  EXPECT_FALSE(choiceOfElements(p, otherKey));
}

TEST(DnatPools, AChoicePassesOverTheBackendsItsHealthHadDown) {
  auto f = pool(policies::DnatMode::Failover, 3);
  EXPECT_EQ(passedOver(f, {0}), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(passedOver(f, {2}), (std::vector<bool>{true, true, false}));
  auto b = pool(policies::DnatMode::Balance, 3);
  EXPECT_EQ(passedOver(b, {0, 2, 2}), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(passedOver(b, {2, 2, 2}), (std::vector<bool>{true, true, false}));
  // a backend some slot names is not down, whatever another slot skipped
  EXPECT_EQ(passedOver(b, {0, 2, 0}), (std::vector<bool>{false, true, false}));
  // passedOver and choosePool agree: the health passed over makes the same choice again
  for (const auto& choice : std::vector<PoolChoice>{{0, 2, 2}, {2, 2, 2}, {0, 1, 0}, {1, 1, 2}}) {
    std::vector<H> health;
    for (bool down : passedOver(b, choice)) health.push_back(down ? H::Down : H::Unknown);
    EXPECT_EQ(choosePool(b, health), choice);
  }
}

TEST(DnatPools, CampusSharesOneFailoverMapForItsThreeVipServices) {
  auto c = compileExample("campus.yaml");
  ASSERT_TRUE(c.result.ok());
  ASSERT_EQ(c.result.pools.size(), 1u);
  const auto& p = c.result.pools[0];
  EXPECT_EQ(p.map, "dnat4_vip-http");
  EXPECT_EQ(p.mode, policies::DnatMode::Failover);
  EXPECT_EQ(p.check, "lb-https");
  ASSERT_EQ(p.backends.size(), 2u);
  EXPECT_EQ(p.backends[0].name, "lb1");
  EXPECT_EQ(p.backends[1].address, ip("203.0.113.12"));
  EXPECT_EQ(p.entries, (std::vector<std::string>{"vip-http", "vip-https", "vip-rtmp"}));
  const SetDef* m = c.result.ruleset.findSet("dnat4_vip-http");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(renderSetHeader(*m), "map dnat4_vip-http { type ipv4_addr : ipv4_addr; }");
  ASSERT_EQ(m->elements.size(), 1u);
  EXPECT_EQ(renderSetElement(*m, m->elements[0]), "203.0.113.10 : 203.0.113.11");
  const Chain* nat = c.result.ruleset.findChain("prerouting_nat");
  ASSERT_NE(nat, nullptr);
  ASSERT_EQ(nat->rules.size(), 3u);
  EXPECT_EQ(renderRule(nat->rules[1]),
            "meta nfproto ipv4 ip daddr 203.0.113.10 meta l4proto tcp th dport 443 counter dnat ip to ip daddr map "
            "@dnat4_vip-http comment \"campus.yaml:145 dnat:vip-https\"");
}

constexpr const char* kBalance = R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 }, ipv6: { subnet: 2001:db8:1::/64 } }
hosts:
  - { name: lb1, segment: dmz, addresses: [10.1.0.11, 2001:db8:1::11] }
  - { name: lb2, segment: dmz, addresses: [10.1.0.12, 2001:db8:1::12] }
  - { name: lb3, segment: dmz, addresses: [10.1.0.13] }
services:
  - { name: https, ports: [tcp/443] }
checks:
  - { name: lb, type: tcp, service: https }
rules:
  - { name: in, from: internet, to: [lb1, lb2], services: [https, tcp/8443], action: allow }
nat:
  dnat:
    - { name: spread, vip: 198.51.100.1, service: https, to: [lb1, lb2], mode: balance, check: lb }
    - { name: alt, vip: 198.51.100.1, service: tcp/8444, to: [lb1, lb2], mode: balance, check: lb, port: 8443 }
    - { name: six, vip: 2001:db8:ff::1, service: https, to: [lb2, lb1], check: lb }
    - { name: plain, vip: 198.51.100.2, service: https, to: lb1 }
)";

TEST(DnatPools, BalanceAndIpv6MapsAndPlainDnatStaysPlain) {
  auto c = compileText(kBalance);
  ASSERT_TRUE(c.result.ok());
  ASSERT_EQ(c.result.pools.size(), 2u);
  const SetDef* b = c.result.ruleset.findSet("dnat4_spread");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(renderSetHeader(*b), "map dnat4_spread { typeof numgen inc mod 2 : ip daddr; }");
  EXPECT_EQ(renderSetElement(*b, b->elements[1]), "1 : 10.1.0.12");
  const SetDef* six = c.result.ruleset.findSet("dnat6_six");
  ASSERT_NE(six, nullptr);
  EXPECT_EQ(renderSetElement(*six, six->elements[0]), "2001:db8:ff::1 : 2001:db8:1::12");
  const Chain* nat = c.result.ruleset.findChain("prerouting_nat");
  ASSERT_NE(nat, nullptr);
  ASSERT_EQ(nat->rules.size(), 4u);
  EXPECT_NE(renderRule(nat->rules[1]).find("dnat ip to numgen inc mod 2 map @dnat4_spread : 8443"), std::string::npos);
  EXPECT_NE(renderRule(nat->rules[2]).find("dnat ip6 to ip6 daddr map @dnat6_six"), std::string::npos);
  EXPECT_NE(renderRule(nat->rules[3]).find("dnat ip to 10.1.0.11 "), std::string::npos);
}

TEST(DnatPools, WhyAndTestEvaluateEveryBackend) {
  auto c = compileText(kBalance);
  auto routes = routesFromPolicy(c.policy);
  Packet pkt{"eth0", ip("198.51.100.7"), ip("198.51.100.1"), 6, 443, false};
  auto ev = evaluate(c.result.ruleset, routes, pkt);
  EXPECT_TRUE(ev.accepted);
  EXPECT_EQ(ev.dnatMap, "dnat4_spread");
  EXPECT_EQ(ev.dnatTo, ip("10.1.0.11"));  // slot 0
  auto per = evaluatePerBackend(c.result.ruleset, c.result.pools, routes, pkt, ev);
  ASSERT_EQ(per.size(), 2u);
  EXPECT_EQ(per[1].evaluation.dnatTo, ip("10.1.0.12"));
  EXPECT_TRUE(per[0].evaluation.accepted);
  EXPECT_TRUE(per[1].evaluation.accepted);
  // a plain DNAT depends on nothing
  Packet plain{"eth0", ip("198.51.100.7"), ip("198.51.100.2"), 6, 443, false};
  auto ep = evaluate(c.result.ruleset, routes, plain);
  EXPECT_TRUE(evaluatePerBackend(c.result.ruleset, c.result.pools, routes, plain, ep).empty());
}

TEST(DnatPools, AnExpectationMustHoldWhicheverBackendIsHealthy) {
  // lb3 takes over when lb1 is down, but no rule lets internet reach lb3.
  std::string text = kBalance;
  text += "    - { name: fo, vip: 198.51.100.3, service: https, to: [lb1, lb3], check: lb }\n";
  text += "expect:\n  - { from: internet, to: 198.51.100.3, service: https, verdict: allow }\n";
  auto loaded = policies::loadPolicyText(text, "t.yaml");
  policies::validatePolicy(loaded.policy, loaded.diagnostics);
  auto compiled = compile(loaded.policy);
  auto results = checkExpectations(loaded.policy, compiled.ruleset, {}, compiled.pools);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].passed);
  ASSERT_EQ(results[0].probes.size(), 2u);
  EXPECT_EQ(results[0].probes[0].label, "tcp/443 via lb1");
  EXPECT_TRUE(results[0].probes[0].evaluation.accepted);
  EXPECT_EQ(results[0].probes[1].label, "tcp/443 via lb3");
  EXPECT_FALSE(results[0].probes[1].evaluation.accepted);
}

TEST(DnatPools, WithPoolChoicesRewritesOnlyThePoolMaps) {
  auto c = compileExample("campus.yaml");
  const auto& p = c.result.pools[0];
  auto down = choosePool(p, {H::Down, H::Up});
  Ruleset rs = withPoolChoices(c.result.ruleset, c.result.pools, {down});
  EXPECT_EQ(rs.findSet("dnat4_vip-http")->elements[0].target, ip("203.0.113.12"));
  EXPECT_EQ(rs.sets.size(), c.result.ruleset.sets.size());
  EXPECT_EQ(renderTable(withPoolChoices(rs, c.result.pools, {allUpChoice(p)})), renderTable(c.result.ruleset));
}

}  // namespace
}  // namespace bulwark::firewall
