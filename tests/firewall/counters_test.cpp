// Counter totals per policy rule and per zone pair (firewall/counters.h), and the comment
// conventions they decode (ruleset.h: Rule::comment, originOfComment, pairDropOrigin).
#include <gtest/gtest.h>

#include <map>

#include "bulwark/firewall/counters.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {
namespace {

// The compiled shape: pair chains jump to one chain per policy rule and end in a counted drop.
std::vector<RuleSample> sampleDump() {
  auto jump = [](const char* chain, const char* to) { return RuleSample{chain, 0, "", false, 0, 0, to}; };
  auto counted = [](const char* chain, const char* comment, std::uint64_t p, std::uint64_t b) {
    return RuleSample{chain, 0, comment, true, p, b, ""};
  };
  return {
      jump("app__db", "rule_web"),
      jump("app__db", "rule_shared"),
      counted("app__db", "bulwark: drop app>db", 7, 700),
      jump("lan__db", "rule_shared"),
      counted("lan__db", "bulwark: drop lan>db", 1, 100),
      counted("rule_web", "campus.yaml:78 public-web:rate", 2, 200),
      counted("rule_web", "campus.yaml:78 public-web", 10, 1000),
      counted("rule_shared", "campus.yaml:90 shared", 5, 500),
      counted("forward", "bulwark: default-drop", 3, 300),
  };
}

TEST(Counters, PerRuleAndPerZonePair) {
  auto r = summarize(sampleDump());
  EXPECT_TRUE(r.tablePresent);
  ASSERT_EQ(r.pairs.size(), 2u);
  const auto& app = r.pairs[0];
  EXPECT_EQ(app.from, "app");
  EXPECT_EQ(app.to, "db");
  // rule_web (only app>db jumps there: 2 + 10) + the drop (7); rule_shared is not split.
  EXPECT_EQ(app.packets, 19u);
  EXPECT_EQ(app.bytes, 1900u);
  EXPECT_EQ(app.dropPackets, 7u);
  EXPECT_EQ(app.dropBytes, 700u);
  EXPECT_EQ(app.sharedRules, 1u);
  EXPECT_EQ(r.pairs[1].from, "lan");
  EXPECT_EQ(r.pairs[1].packets, 1u);
  std::map<std::string, RuleTotal> byName;
  for (const auto& x : r.rules) byName[x.rule] = x;
  EXPECT_EQ(byName["public-web"].packets, 10u);
  EXPECT_EQ(byName["public-web"].origin, "campus.yaml:78");
  EXPECT_EQ(byName["public-web"].comment, "campus.yaml:78 public-web");
  EXPECT_EQ(byName["public-web"].pairs, std::vector<std::string>{"app>db"});
  EXPECT_EQ(byName["public-web:rate"].packets, 2u);
  EXPECT_EQ(byName["shared"].pairs, (std::vector<std::string>{"app>db", "lan>db"}));
  EXPECT_EQ(byName["default-drop"].origin, "");
  EXPECT_EQ(byName["default-drop"].packets, 3u);
  EXPECT_TRUE(byName["default-drop"].pairs.empty());
}

// Established traffic: the flow chains' counters add to the pair that opened the connections,
// replies included, whether or not the pair's rules are shared.
TEST(Counters, EstablishedTrafficAddsToThePairThatOpenedIt) {
  auto dump = sampleDump();
  dump.push_back(RuleSample{"flow.app.db", 0, "bulwark: flow app>db", true, 100, 150000, ""});
  dump.push_back(RuleSample{"flow-reply.app.db", 0, "bulwark: flow-reply app>db", true, 80, 2000000, ""});
  dump.push_back(RuleSample{"flow.lan.db", 0, "bulwark: flow lan>db", true, 4, 400, ""});
  dump.push_back(RuleSample{"flow-reply.db.app", 0, "bulwark: flow-reply db>app", true, 0, 0, ""});
  dump.push_back(RuleSample{"forward", 0, "bulwark: established", true, 9, 900, ""});  // other: no pair
  auto r = summarize(dump);
  ASSERT_EQ(r.pairs.size(), 3u);
  const auto& app = r.pairs[0];
  EXPECT_EQ(app.from, "app");
  EXPECT_EQ(app.to, "db");
  EXPECT_EQ(app.packets, 19u + 100 + 80);
  EXPECT_EQ(app.bytes, 1900u + 150000 + 2000000);
  EXPECT_EQ(app.establishedPackets, 180u);
  EXPECT_EQ(app.establishedBytes, 2150000u);
  EXPECT_EQ(app.replyPackets, 80u);
  EXPECT_EQ(app.replyBytes, 2000000u);
  EXPECT_EQ(app.dropPackets, 7u);
  // A pair known only by its flow chains (no pair chain in the dump) still appears.
  EXPECT_EQ(r.pairs[1].from, "db");
  EXPECT_EQ(r.pairs[1].to, "app");
  EXPECT_EQ(r.pairs[1].packets, 0u);
  EXPECT_EQ(r.pairs[2].from, "lan");
  EXPECT_EQ(r.pairs[2].packets, 1u + 4);
  EXPECT_EQ(r.pairs[2].establishedBytes, 400u);
  EXPECT_EQ(r.pairs[2].replyBytes, 0u);
  // Per rule, the generic established accept stays what it is: traffic of no known pair.
  std::map<std::string, RuleTotal> byName;
  for (const auto& x : r.rules) byName[x.rule] = x;
  EXPECT_EQ(byName["established"].packets, 9u);
  EXPECT_EQ(byName["flow-reply app>db"].bytes, 2000000u);
}

TEST(Comments, WrittenAndReadBackByTheFirewallAlone) {
  Rule r;
  r.origin = Origin{policies::Location{"/etc/bulwark/my policy.yaml", 78, 5}, "public-web"};
  EXPECT_EQ(r.comment(), "my policy.yaml:78 public-web");
  auto o = originOfComment(r.comment());
  EXPECT_EQ(o.where.file, "my policy.yaml");
  EXPECT_EQ(o.where.line, 78);
  EXPECT_EQ(o.what, "public-web");

  Rule drop;
  drop.origin = pairDropOrigin("app", "db");
  EXPECT_EQ(drop.comment(), "bulwark: drop app>db");
  EXPECT_EQ(originOfComment(drop.comment()).what, "drop app>db");
  EXPECT_EQ(pairOfDropComment(drop.comment()), (std::pair<std::string, std::string>{"app", "db"}));
  EXPECT_FALSE(pairOfDropComment("bulwark: default-drop").has_value());
  EXPECT_FALSE(pairOfDropComment("campus.yaml:9 drop a>b").has_value());

  for (bool reply : {false, true}) {
    Rule flow;
    flow.origin = pairFlowOrigin("app", "db", reply);
    EXPECT_EQ(flow.comment(), reply ? "bulwark: flow-reply app>db" : "bulwark: flow app>db");
    auto f = pairOfFlowComment(flow.comment());
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->from, "app");
    EXPECT_EQ(f->to, "db");
    EXPECT_EQ(f->reply, reply);
    EXPECT_FALSE(pairOfDropComment(flow.comment()).has_value());
  }
  EXPECT_FALSE(pairOfFlowComment("bulwark: drop app>db").has_value());
  EXPECT_FALSE(pairOfFlowComment("bulwark: flow app").has_value());
  EXPECT_FALSE(pairOfFlowComment("campus.yaml:9 flow a>b").has_value());
  EXPECT_FALSE(pairOfDropComment("bulwark: flow app>db").has_value());

  // A foreign comment is all `what`; a line number too large for an int is not one.
  EXPECT_EQ(originOfComment("hand made").what, "hand made");
  EXPECT_EQ(originOfComment("f:99999999999 x").where.file, "");
  EXPECT_EQ(originOfComment("").what, "");
}

}  // namespace
}  // namespace bulwark::firewall
