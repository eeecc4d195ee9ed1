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

  // A foreign comment is all `what`; a line number too large for an int is not one.
  EXPECT_EQ(originOfComment("hand made").what, "hand made");
  EXPECT_EQ(originOfComment("f:99999999999 x").where.file, "");
  EXPECT_EQ(originOfComment("").what, "");
}

}  // namespace
}  // namespace bulwark::firewall
