// The read-back does not share the writer's view: the desired side of the diff is canonicalised
// on the IR alone (canonical.cpp). It must agree with the programmer's own lowering and raising
// without using them.
#include <gtest/gtest.h>

#include "bulwark/firewall/observe.h"
#include "nl/ops.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

Prefix pfx(const char* s) { return *Prefix::parse(s); }

Rule ruleOf(std::vector<Expr> exprs, Verdict v = {VerdictKind::Accept, ""}) {
  Rule r;
  r.exprs = std::move(exprs);
  r.verdict = std::move(v);
  return r;
}

void expectAgrees(const Rule& r, const std::string& where) {
  auto raised = nl::raise(nl::lower(r));
  ASSERT_TRUE(raised.ok) << where << ": " << raised.problem;
  const Rule c = canonicalRule(r);
  EXPECT_TRUE(sameExprs(c.exprs, raised.exprs)) << where;
  EXPECT_EQ(c.verdict.kind, raised.verdict.kind) << where;
  EXPECT_TRUE(sameExprs(canonicalRule(c).exprs, c.exprs)) << where << ": not idempotent";
}

TEST(ReadBack, CanonicalFormAgreesWithTheKernelsForEveryCompiledRule) {
  auto c = testing::compileExample("campus.yaml");
  std::size_t n = 0;
  for (const auto& ch : c.result.ruleset.chains) {
    for (std::size_t i = 0; i < ch.rules.size(); ++i, ++n)
      expectAgrees(ch.rules[i], ch.name + "#" + std::to_string(i));
  }
  EXPECT_GT(n, 50u);
}

TEST(ReadBack, CanonicalFormFoldsOnlyImpliedDependencies) {
  using policies::Family;
  const std::vector<Rule> rules{
      ruleOf({MatchNfProto{Family::V4}, MatchPrefix{Selector::Ip4Saddr, pfx("10.0.0.0/8"), false}}),
      ruleOf({MatchNfProto{Family::V6}, MatchPrefix{Selector::Ip4Saddr, pfx("10.0.0.0/8"), false}}),
      ruleOf({MatchNfProto{Family::V4}, MatchL4Proto{6},
              MatchPrefix{Selector::Ip4Daddr, pfx("10.0.0.1/32"), false}}),
      ruleOf({MatchNfProto{Family::V6},
              MatchLookup{{Selector::Ip6Saddr, Selector::ThDport}, "s", false}}),
      ruleOf({MatchNfProto{Family::V4},
              StmtMeterOver{"m", {Selector::Ip4Saddr}, StmtLimit{5, RateUnit::Second, 5, true}}},
             {VerdictKind::Drop, ""}),
      ruleOf({MatchL4Proto{6}, MatchTcpSynOnly{}}),
      ruleOf({MatchL4Proto{17}, MatchNotTcpSyn{}}),
      ruleOf({MatchL4Proto{6}, StmtCounter{}, MatchTcpSynOnly{}}),
      ruleOf(
          {MatchPrefix{Selector::Ip6Daddr, pfx("2001:db8::/33"), true}, MatchNfProto{Family::V4}}),
  };
  for (std::size_t i = 0; i < rules.size(); ++i)
    expectAgrees(rules[i], "rule " + std::to_string(i));
  EXPECT_EQ(canonicalRule(rules[0]).exprs.size(), 1u);
  EXPECT_EQ(canonicalRule(rules[1]).exprs.size(), 2u);  // v6 then an ip field: both stay
}

}  // namespace
}  // namespace bulwark::firewall
