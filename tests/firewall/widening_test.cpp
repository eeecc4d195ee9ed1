// onlyWidens(): which changes the revocation may skip. Compiled policies for the changes an
// administrator makes (a host joins or leaves a rule), hand-built rulesets for the uses of a set
// that must keep the judge (NAT, negated lookups, maps, statements beside the lookup).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bulwark/firewall/diff.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

using testing::asObserved;

// kSmallPolicy with a fourth app host and its rule from `from` with action `action`, then `extraRule`.
std::string policyWith(const std::string& from, const std::string& action, const std::string& extraRule = "") {
  std::string text = testing::kSmallPolicy;
  auto swap = [&](const std::string& what, const std::string& with) {
    auto at = text.find(what);
    ASSERT_NE(at, std::string::npos) << what;
    text.replace(at, what.size(), with);
  };
  swap("  - { name: mysql1,", "  - { name: web4, segment: app, addresses: [10.20.0.14] }\n  - { name: mysql1,");
  swap("    from: [web1]\n", "    from: " + from + "\n");
  swap("    action: allow\n", "    action: " + action + "\n" + extraRule);
  return text;
}

// One more allow rule: a rule change, not an element change.
const std::string kAnotherRule = R"(  - name: another
    from: [web4]
    to: mysql1
    services: [mysql]
    action: allow
)";

// The diff from the table `before` compiles to, to the ruleset `after` compiles to.
struct Edit {
  testing::Compiled before, after;
  Diff d;
};
Edit change(const std::string& before, const std::string& after) {
  Edit c{testing::compileText(before), testing::compileText(after), {}};
  c.d = diff(c.after.result.ruleset, asObserved(c.before.result.ruleset));
  return c;
}

TEST(OnlyWidens, AHostJoiningAnAllowRuleIsOneElementAndWidens) {
  auto c = change(policyWith("[web1, web2]", "allow"), policyWith("[web1, web2, web3]", "allow"));
  ASSERT_TRUE(c.d.elementsOnly()) << "the compiler keeps the rule's sources in a set";
  EXPECT_TRUE(onlyWidens(c.d, c.after.result.ruleset));
}

TEST(OnlyWidens, AHostLeavingAnAllowRuleNarrows) {
  auto c = change(policyWith("[web1, web2, web3]", "allow"), policyWith("[web1, web2]", "allow"));
  ASSERT_TRUE(c.d.elementsOnly());
  EXPECT_FALSE(onlyWidens(c.d, c.after.result.ruleset));
}

TEST(OnlyWidens, DenyAndRejectRulesWidenWhenTheyLoseAHost) {
  for (const std::string action : {"deny", "reject"}) {
    auto join = change(policyWith("[web1, web2]", action), policyWith("[web1, web2, web3]", action));
    ASSERT_TRUE(join.d.elementsOnly()) << action;
    EXPECT_FALSE(onlyWidens(join.d, join.after.result.ruleset)) << action << ": a host more is denied";
    auto leave = change(policyWith("[web1, web2, web3]", action), policyWith("[web1, web2]", action));
    ASSERT_TRUE(leave.d.elementsOnly()) << action;
    EXPECT_TRUE(onlyWidens(leave.d, leave.after.result.ruleset)) << action << ": a host less is denied";
  }
}

TEST(OnlyWidens, AHostSwappedForAnotherNarrows) {
  auto c = change(policyWith("[web1, web2]", "allow"), policyWith("[web1, web3]", "allow"));
  ASSERT_TRUE(c.d.elementsOnly());
  EXPECT_FALSE(onlyWidens(c.d, c.after.result.ruleset)) << "web2 leaves: its connections must be judged";
}

TEST(OnlyWidens, ARuleChangeIsNeverSkipped) {
  auto c = change(policyWith("[web1, web2]", "allow"), policyWith("[web1, web2]", "allow", kAnotherRule));
  ASSERT_FALSE(c.d.elementsOnly());
  EXPECT_FALSE(onlyWidens(c.d, c.after.result.ruleset));
  EXPECT_FALSE(onlyWidens(Diff{}, c.after.result.ruleset)) << "an empty diff is in sync, not a change";
}

TEST(ChangedAddresses, TheHostsThatJoinOrLeave) {
  auto c = change(policyWith("[web1, web2]", "allow"), policyWith("[web1, web3, web4]", "allow"));
  auto touched = changedAddresses(c.d);
  ASSERT_TRUE(touched.has_value());
  std::vector<std::string> got;
  for (const auto& p : *touched) got.push_back(p.str());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"10.20.0.12/32", "10.20.0.13/32", "10.20.0.14/32"}));
}

TEST(ChangedAddresses, NoneForOtherChanges) {
  auto c = change(policyWith("[web1, web2]", "allow"), policyWith("[web1, web2]", "allow", kAnotherRule));
  EXPECT_FALSE(changedAddresses(c.d).has_value()) << "a rule change reaches flows by any field";
  Diff byPort;
  SetElement port;
  port.key.emplace_back(PortRange{80, 80});
  byPort.changes.push_back(Change{ChangeKind::ElementAdded, "ports", "", 0, port, ""});
  EXPECT_FALSE(changedAddresses(byPort).has_value()) << "an element without an address";
}

// ---- hand-built: the uses of a set that keep the judge ------------------------------------

SetElement host(const char* addr) {
  SetElement e;
  e.key.emplace_back(Prefix{*policies::IpAddress::parse(addr), 32});
  return e;
}

Ruleset oneSet(Rule user, std::optional<BaseChain> base = BaseChain{}) {
  Ruleset rs;
  SetDef s;
  s.name = "s";
  s.key = {KeyType::Ipv4Addr};
  s.interval = true;
  s.elements = {host("10.0.0.1"), host("10.0.0.2")};
  rs.sets.push_back(s);
  Chain c;
  c.name = "c";
  c.base = base;
  c.rules.push_back(std::move(user));
  rs.chains.push_back(std::move(c));
  return rs;
}

Rule lookupRule(VerdictKind v, bool negate = false) {
  Rule r;
  r.exprs.emplace_back(MatchLookup{{Selector::Ip4Saddr}, "s", negate});
  r.verdict = {v, {}};
  return r;
}

Diff added() {
  Diff d;
  d.changes.push_back(Change{ChangeKind::ElementAdded, "s", "", 0, host("10.0.0.3"), ""});
  return d;
}

TEST(OnlyWidens, HandBuiltAcceptLookupWidens) {
  EXPECT_TRUE(onlyWidens(added(), oneSet(lookupRule(VerdictKind::Accept))));
  auto counted = lookupRule(VerdictKind::Accept);
  counted.exprs.emplace_back(StmtCounter{});
  counted.exprs.emplace_back(StmtLog{"x"});
  EXPECT_TRUE(onlyWidens(added(), oneSet(counted))) << "counting and logging change nothing";
}

TEST(OnlyWidens, HandBuiltUsesThatKeepTheJudge) {
  EXPECT_FALSE(onlyWidens(added(), oneSet(lookupRule(VerdictKind::Accept, true)))) << "a negated lookup";
  EXPECT_FALSE(onlyWidens(added(), oneSet(lookupRule(VerdictKind::Jump)))) << "a jump to no chain";
  EXPECT_FALSE(onlyWidens(added(), oneSet(lookupRule(VerdictKind::None)))) << "no verdict";
  const BaseChain nat{ChainType::Nat, Hook::Prerouting, -100, false};
  EXPECT_FALSE(onlyWidens(added(), oneSet(lookupRule(VerdictKind::Accept), nat))) << "a nat chain";
  auto limited = lookupRule(VerdictKind::Accept);
  limited.exprs.emplace_back(StmtLimit{10, RateUnit::Second, 5, false});
  EXPECT_FALSE(onlyWidens(added(), oneSet(limited))) << "a limit beside the lookup";
  auto dnat = lookupRule(VerdictKind::Accept);
  dnat.exprs.emplace_back(StmtDnat{*policies::IpAddress::parse("10.0.0.9"), std::nullopt});
  EXPECT_FALSE(onlyWidens(added(), oneSet(dnat))) << "a DNAT beside the lookup";

  Rule meter;
  meter.exprs.emplace_back(StmtMeterOver{"s", {Selector::Ip4Saddr}, StmtLimit{}});
  meter.verdict = {VerdictKind::Drop, {}};
  auto rs = oneSet(lookupRule(VerdictKind::Accept));
  rs.chains[0].rules.push_back(meter);
  EXPECT_FALSE(onlyWidens(added(), rs)) << "the set is also a meter";

  auto both = oneSet(lookupRule(VerdictKind::Accept));
  both.chains[0].rules.push_back(lookupRule(VerdictKind::Drop));
  EXPECT_FALSE(onlyWidens(added(), both)) << "an accept and a drop rule read the set";

  auto vmap = oneSet(lookupRule(VerdictKind::Accept));
  vmap.sets[0].verdictMap = true;
  EXPECT_FALSE(onlyWidens(added(), vmap)) << "a verdict map";
  Diff unknown;
  unknown.changes.push_back(Change{ChangeKind::ElementAdded, "nosuch", "", 0, host("10.0.0.3"), ""});
  EXPECT_FALSE(onlyWidens(unknown, oneSet(lookupRule(VerdictKind::Accept)))) << "a set the ruleset lacks";
}

TEST(OnlyWidens, HandBuiltJumpHasTheVerdictOfAChainThatDecidesAtOnce) {
  auto jumpTo = [](std::vector<Expr> firstExprs, VerdictKind v) {
    Rule lookup = lookupRule(VerdictKind::Jump);
    lookup.verdict.chain = "per-rule";
    auto rs = oneSet(lookup);
    Chain target;
    target.name = "per-rule";
    Rule first;
    first.exprs = std::move(firstExprs);
    first.verdict = {v, {}};
    target.rules.push_back(first);
    rs.chains.push_back(target);
    return rs;
  };
  EXPECT_TRUE(onlyWidens(added(), jumpTo({StmtCounter{}}, VerdictKind::Accept))) << "counter accept";
  EXPECT_FALSE(onlyWidens(added(), jumpTo({StmtCounter{}}, VerdictKind::Drop))) << "counter drop";
  EXPECT_FALSE(onlyWidens(added(), jumpTo({MatchPort{PortRange{80, 80}}, StmtCounter{}}, VerdictKind::Accept)))
      << "the chain matches further: some packets come back";
  EXPECT_FALSE(onlyWidens(added(), jumpTo({StmtCounter{}}, VerdictKind::Return))) << "counter return";
}

TEST(OnlyWidens, HandBuiltChainReachedFromNatKeepsTheJudge) {
  // The lookup sits in a regular chain that a nat base chain jumps to.
  auto rs = oneSet(lookupRule(VerdictKind::Accept), std::nullopt);
  Chain nat;
  nat.name = "pre";
  nat.base = BaseChain{ChainType::Nat, Hook::Prerouting, -100, false};
  Rule jump;
  jump.verdict = {VerdictKind::Jump, "c"};
  nat.rules.push_back(jump);
  rs.chains.push_back(nat);
  EXPECT_FALSE(onlyWidens(added(), rs));
  rs.chains.back().base->type = ChainType::Filter;
  EXPECT_TRUE(onlyWidens(added(), rs)) << "the same jump from a filter chain";
}

}  // namespace
}  // namespace bulwark::firewall
