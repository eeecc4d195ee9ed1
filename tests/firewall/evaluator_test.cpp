#include <gtest/gtest.h>

#include "bulwark/firewall/evaluator.h"
#include "bulwark/firewall/expectations.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

using testing::compileExample;
using testing::compileText;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

TEST(Evaluator, EveryCampusExpectationHoldsAgainstTheCompiledRuleset) {
  auto c = compileExample("campus.yaml");
  auto results = checkExpectations(c.policy, c.result.ruleset);
  ASSERT_EQ(results.size(), c.policy.expectations.size());
  std::size_t probes = 0;
  for (const auto& r : results) {
    EXPECT_TRUE(r.passed) << r.expectation->where.str() << " " << r.expectation->from.text << " -> "
                          << r.expectation->to.text << " " << r.expectation->service.text << " " << r.error;
    probes += r.probes.size();
  }
  EXPECT_GT(probes, results.size());  // multi-port services and both IPsec paths
}

TEST(Evaluator, ExpectationsFailWhenTheRulesetIsBroken) {
  auto c = compileExample("campus.yaml");
  auto rs = c.result.ruleset;
  // Without the zone dispatch nothing from a segment or the internet is forwarded.
  for (auto& s : rs.sets) {
    if (s.name == "dispatch") s.elements.clear();
  }
  auto results = checkExpectations(c.policy, rs);
  std::size_t failed = 0;
  for (const auto& r : results) failed += r.passed ? 0 : 1;
  EXPECT_GT(failed, 20u);
}

TEST(Evaluator, DnatThroughTheVipNamesTheDecidingRule) {
  auto c = compileExample("campus.yaml");
  auto routes = routesFromPolicy(c.policy);
  auto ev = evaluate(c.result.ruleset, routes, Packet{"eth0", ip("198.51.100.7"), ip("203.0.113.10"), 6, 443, false});
  EXPECT_TRUE(ev.accepted);
  ASSERT_TRUE(ev.dnatTo);
  EXPECT_EQ(ev.dnatTo->str(), "203.0.113.11");
  EXPECT_EQ(ev.oif, "eth1.10");
  EXPECT_EQ(ev.decidedBy.what, "public-web");
  EXPECT_EQ(ev.decidedBy.where.line, 92);
  // The VIP on a port without DNAT is not forwarded anywhere useful: dropped.
  auto ssh = evaluate(c.result.ruleset, routes, Packet{"eth0", ip("198.51.100.7"), ip("203.0.113.10"), 6, 22, false});
  EXPECT_FALSE(ssh.accepted);
}

TEST(Evaluator, SpoofedSourcesAreDropped) {
  auto c = compileExample("campus.yaml");
  auto routes = routesFromPolicy(c.policy);
  // From the internet, claiming to be web1.
  auto ev = evaluate(c.result.ruleset, routes, Packet{"eth0", ip("10.20.0.11"), ip("10.30.0.11"), 6, 3306, false});
  EXPECT_FALSE(ev.accepted);
  EXPECT_EQ(ev.decidedBy.what, "antispoof");
  // A VPN pool address that did not come through IPsec.
  auto vpn = evaluate(c.result.ruleset, routes, Packet{"eth0", ip("10.250.0.5"), ip("10.99.0.11"), 6, 22, false});
  EXPECT_FALSE(vpn.accepted);
  EXPECT_EQ(vpn.decidedBy.what, "vpn-pool-without-ipsec:netops");
  // The same packet through kernel IPsec is an admin's.
  auto viaIpsec = evaluate(c.result.ruleset, routes, Packet{"eth0", ip("10.250.0.5"), ip("10.99.0.11"), 6, 22, true});
  EXPECT_TRUE(viaIpsec.accepted);
}

TEST(Evaluator, FirstMatchWinsInRuleOrder) {
  std::string text = testing::kSmallPolicy;
  text.erase(text.find("rules:\n"));
  text.append(R"(rules:
  - name: no-web2
    from: web2
    to: db
    services: [any]
    action: deny
  - name: app-to-db
    from: app
    to: db
    services: [mysql]
    action: allow
)");
  auto c = compileText(text);
  auto routes = routesFromPolicy(c.policy);
  auto web2 = evaluate(c.result.ruleset, routes, Packet{"trk0.20", ip("10.20.0.12"), ip("10.30.0.11"), 6, 3306, false});
  EXPECT_FALSE(web2.accepted);
  EXPECT_EQ(web2.decidedBy.what, "no-web2");
  auto web1 = evaluate(c.result.ruleset, routes, Packet{"trk0.20", ip("10.20.0.11"), ip("10.30.0.11"), 6, 3306, false});
  EXPECT_TRUE(web1.accepted);
  EXPECT_EQ(web1.decidedBy.what, "app-to-db");
}

TEST(Evaluator, GatewayItselfOnlyReachableBySshThroughTheTunnel) {
  auto c = compileExample("campus.yaml");
  auto routes = routesFromPolicy(c.policy);
  auto fromApp = evaluate(c.result.ruleset, routes, Packet{"eth1.20", ip("10.20.0.11"), ip("10.20.0.1"), 6, 22, false});
  EXPECT_TRUE(fromApp.local);
  EXPECT_FALSE(fromApp.accepted);
  auto admin = evaluate(c.result.ruleset, routes, Packet{"eth0", ip("10.250.0.5"), ip("10.99.0.1"), 6, 22, true});
  EXPECT_TRUE(admin.accepted);
  auto ike = evaluate(c.result.ruleset, routes, Packet{"eth0", ip("198.51.100.7"), ip("10.99.0.1"), 17, 4500, false});
  EXPECT_TRUE(ike.accepted);
}

}  // namespace
}  // namespace bulwark::firewall
