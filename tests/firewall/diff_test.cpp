// The plan's rule diff aligns rule lists: one rule inserted or deleted by someone else is
// reported as exactly that change, not as every later rule changing.
#include <gtest/gtest.h>

#include "bulwark/firewall/diff.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

using testing::asObserved;

std::vector<ObservedRule>& forwardRules(ObservedTable& t) {
  for (auto& c : t.chains) {
    if (c.name == "forward") return c.rules;
  }
  throw std::runtime_error("no forward chain");
}

TEST(RuleDiff, InSyncIsEmpty) {
  auto c = testing::compileExample("campus.yaml");
  EXPECT_TRUE(diff(c.result.ruleset, asObserved(c.result.ruleset)).empty());
}

TEST(RuleDiff, OneForeignDeletionIsOneAddition) {
  auto c = testing::compileExample("campus.yaml");
  auto observed = asObserved(c.result.ruleset);
  auto& rules = forwardRules(observed);
  rules.erase(rules.begin() + 1);  // someone deleted "ct state invalid drop"
  auto d = diff(c.result.ruleset, observed);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::RuleAdded);
  EXPECT_EQ(d.changes[0].ruleIndex, 1u);
}

TEST(RuleDiff, OneForeignInsertionIsOneRemoval) {
  auto c = testing::compileExample("campus.yaml");
  auto observed = asObserved(c.result.ruleset);
  auto& rules = forwardRules(observed);
  rules.insert(rules.begin() + 2, ObservedRule{std::nullopt, "meta mark 42 accept", "", 7, false, 0, 0});
  auto d = diff(c.result.ruleset, observed);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::RuleRemoved);
  EXPECT_EQ(d.changes[0].ruleIndex, 2u);
}

TEST(RuleDiff, AModifiedRuleIsOneChange) {
  auto c = testing::compileExample("campus.yaml");
  auto observed = asObserved(c.result.ruleset);
  auto& rules = forwardRules(observed);
  rules[0].rule->verdict = {VerdictKind::Drop, {}};  // established now dropped, same comment
  auto d = diff(c.result.ruleset, observed);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::RuleChanged);
  EXPECT_EQ(d.changes[0].ruleIndex, 0u);
}

TEST(RuleDiff, ARuleThatDiffersOnlyInItsCommentSaysSo) {
  // The same match and verdict from a rule that moved in its policy file: its comment (name
  // and position) differs; the message must not read "want X have X".
  auto c = testing::compileExample("campus.yaml");
  auto observed = asObserved(c.result.ruleset);
  auto& rules = forwardRules(observed);
  const std::string want = rules[0].comment;
  rules[0].comment = "moved elsewhere";
  auto d = diff(c.result.ruleset, observed);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::RuleChanged);
  EXPECT_NE(d.changes[0].description.find("comment \"" + want + "\"` have `"), std::string::npos) << d.changes[0].description;
  EXPECT_NE(d.changes[0].description.find("comment \"moved elsewhere\"`"), std::string::npos) << d.changes[0].description;
}

}  // namespace
}  // namespace bulwark::firewall
