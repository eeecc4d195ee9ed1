// The netlink programmer and observer against the real kernel — inside a private network
// namespace (unshare(CLONE_NEWNET) at the start of main), so the host's ruleset is never
// touched. `nft` is only a witness: it lists what the kernel holds.
#include <gtest/gtest.h>
#include <sched.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/reconcile.h"
#include "full_ruleset.h"

namespace bulwark::firewall {
namespace {

using namespace testing;  // NOLINT: fullRuleset and its helpers

bool gInNetns = false;

#define REQUIRE_NETNS()                                                          \
  do {                                                                           \
    if (!gInNetns) GTEST_SKIP() << "needs root: unshare(CLONE_NEWNET) failed";   \
  } while (0)

struct CmdResult {
  int status = -1;
  std::string out;
};

CmdResult run(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return r;
  }
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) {
    r.out.append(buf.data(), n);
  }
  r.status = pclose(p);
  return r;
}

std::string listTable() { return run("nft list table inet bulwark").out; }

std::map<std::string, std::uint64_t> chainHandles() {
  auto obs = observe();
  std::map<std::string, std::uint64_t> h;
  if (obs && *obs) {
    for (const auto& c : (*obs)->chains) {
      h[c.name] = c.handle;
      for (std::size_t i = 0; i < c.rules.size(); ++i) {
        h[c.name + "#" + std::to_string(i)] = c.rules[i].handle;
      }
    }
  }
  return h;
}

class Programmer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gInNetns) {
      GTEST_SKIP() << "needs root: unshare(CLONE_NEWNET) failed";
    }
    run("nft flush ruleset");
  }
};

TEST_F(Programmer, EveryExprVariantIsUsed) {
  std::set<std::size_t> seen;
  for (const auto& c : fullRuleset().chains) {
    for (const auto& r : c.rules) {
      for (const auto& e : r.exprs) {
        seen.insert(e.index());
      }
    }
  }
  EXPECT_EQ(seen.size(), std::variant_size_v<Expr>);
}

TEST_F(Programmer, AppliesEveryVariantAndNftListsIt) {
  const Ruleset rs = fullRuleset();
  auto r = apply(rs);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto json = run("nft -j list table inet bulwark");
  ASSERT_EQ(json.status, 0) << json.out;
  EXPECT_NE(json.out.find("\"zone_dispatch\""), std::string::npos);
  const std::string text = listTable();
  std::printf("%s\n", text.c_str());
  for (const char* want :
       {"ct state established,related accept", "iifname \"eth0\" oifname != \"eth1\" counter",
        "ip saddr 10.0.0.0/8 ip daddr != 10.1.2.3 ip saddr 10.16.0.0/12",
        "ip saddr . meta l4proto . th dport @flows jump c1", "iifname . oifname != @ifpairs drop",
        "meta ipsec exists return", "fib saddr . iif oif missing drop",
        "limit rate over 10/minute", "reject",
        "add @meter4 { ip saddr limit rate over 1000/second burst 2000 packets } drop",
        "add @cl4 { ip saddr ct count over 20 } drop", "log prefix \"hello \" limit rate 5/hour burst 3 packets goto c1",
        "iifname . oifname vmap @zone_dispatch",
        "ct state established,related ct direction original iifname . oifname vmap @zone_dispatch",
        "ct direction reply oifname . iifname vmap @zone_dispatch", "elements = { \"eth2\" : goto dmz__lan }", "ip6 saddr @nets6 ip6 daddr 2001:db8:1::/48",
        "th dport @svc", "iifname . ip daddr . th dport @hosts", "ip saddr @nets4",
        "dnat ip to 10.0.0.1:8080", "dnat ip6 to 2001:db8::2", "snat ip to 1.2.3.4", "masquerade",
        "dnat ip to ip daddr map @vip4", "dnat ip to ip daddr map @vip4:8443", "dnat ip to numgen inc mod 2 map @spread4",
        "dnat ip to numgen inc mod 2 map @spread4:80", "dnat ip6 to ip6 daddr map @vip6:443",
        "dnat ip6 to numgen inc mod 3 map @spread6", "typeof numgen inc mod 2 : ip daddr",
        "typeof numgen inc mod 3 : ip6 daddr", "type ipv4_addr : ipv4_addr", "1.2.3.5 : 10.0.0.2",
        "0 : 10.0.0.2, 1 : 10.0.0.3", "2 : 2001:db8::7", "2001:db8::5 : 2001:db8::6",
        "comment \"campus.yaml:12 public-web\"", "comment \"bulwark: builtin:input\"",
        "10.0.0.0/8 comment \"rfc1918\", 11.0.0.0/8", "10.0.0.0/8 . tcp . 80-90", "\"eth0\" . \"eth1\" comment \"lan to dmz\" : goto lan__dmz",
        "type ipv4_addr . inet_proto . inet_service", "flags dynamic,timeout", "timeout 1m",
        "type filter hook forward priority filter; policy drop;", "type nat hook prerouting priority dstnat;",
        "80-90, 443"}) {
    EXPECT_NE(text.find(want), std::string::npos) << "missing: " << want;
  }
}

TEST_F(Programmer, ObserveRoundTripsTheIr) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  auto obs = observe();
  ASSERT_TRUE(obs.ok()) << obs.error().message;
  ASSERT_TRUE(obs->has_value());
  const ObservedTable& t = **obs;
  ASSERT_EQ(t.chains.size(), rs.chains.size());
  for (const auto& want : rs.chains) {
    const ObservedChain* have = t.findChain(want.name);
    ASSERT_NE(have, nullptr) << want.name;
    EXPECT_EQ(have->comment, want.comment);
    ASSERT_EQ(have->rules.size(), want.rules.size()) << want.name;
    for (std::size_t i = 0; i < want.rules.size(); ++i) {
      const auto& h = have->rules[i];
      ASSERT_TRUE(h.rule.has_value()) << want.name << "#" << i << ": " << h.unknown;
      // exact: these rules need no canonicalisation
      EXPECT_TRUE(sameExprs(want.rules[i].exprs, h.rule->exprs)) << want.name << "#" << i;
      EXPECT_EQ(h.rule->verdict.kind, want.rules[i].verdict.kind);
      EXPECT_EQ(h.rule->verdict.chain, want.rules[i].verdict.chain);
      EXPECT_EQ(h.comment, want.rules[i].comment());
      EXPECT_EQ(h.rule->origin.what, want.rules[i].origin.what);
      EXPECT_EQ(h.rule->origin.where.line, want.rules[i].origin.where.line);
    }
  }
  for (const auto& want : rs.sets) {
    const ObservedSet* have = t.findSet(want.name);
    ASSERT_NE(have, nullptr) << want.name;
    EXPECT_TRUE(have->unknown.empty()) << have->unknown;
    EXPECT_EQ(have->def.key, want.key);
    EXPECT_EQ(have->def.interval, want.interval);
    EXPECT_EQ(have->def.verdictMap, want.verdictMap);
    EXPECT_EQ(have->def.dynamic, want.dynamic);
    EXPECT_EQ(have->def.timeoutSec, want.timeoutSec);
    EXPECT_EQ(have->def.size, want.size);
    EXPECT_EQ(have->def.comment, want.comment);
    EXPECT_EQ(have->def.addressMap, want.addressMap) << want.name;
    EXPECT_EQ(have->def.numgenMod, want.numgenMod) << want.name;
    EXPECT_TRUE(have->unknownElements.empty());
    ASSERT_EQ(have->def.elements.size(), want.elements.size()) << want.name;
    for (const auto& e : want.elements) {
      bool found = false;
      for (const auto& h : have->def.elements) {
        found = found || sameElement(e, h);
      }
      EXPECT_TRUE(found) << want.name;
    }
  }
  const Diff d = diff(rs, *obs);
  for (const auto& c : d.changes) {
    ADD_FAILURE() << c.description;
  }
  // counters: one per rule with a counter expression, keyed by chain + index + comment
  auto counters = t.counters();
  ASSERT_EQ(counters.size(), 5u);
  EXPECT_EQ(counters[0].chain, "forward");
  EXPECT_EQ(counters[0].index, 1u);
  EXPECT_EQ(counters[0].comment, "campus.yaml:11 ifnames");
}

TEST_F(Programmer, SecondApplyReplacesOnlyBulwarksTable) {
  ASSERT_EQ(run("nft add table ip foreign && nft add chain ip foreign c '{ type filter hook input priority 10; }' && "
                "nft add rule ip foreign c tcp dport 22 counter accept && "
                "nft add set ip foreign s '{ type ipv4_addr; elements = { 1.2.3.4 } }'")
                .status,
            0);
  const std::string before = run("nft -j list table ip foreign").out;
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  const std::string tables1 = run("nft -j list tables").out;
  auto r2 = apply(rs);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  const std::string tables2 = run("nft -j list tables").out;
  EXPECT_NE(tables1, tables2) << "the table is replaced: it gets a new handle";
  std::printf("%s%s", tables1.c_str(), tables2.c_str());
  EXPECT_EQ(run("nft -j list table ip foreign").out, before);
  auto obs = observe();
  ASSERT_TRUE(obs.ok() && obs->has_value());
  EXPECT_TRUE(diff(rs, *obs).empty());
}

TEST_F(Programmer, KernelRejectionNamesTheOriginAndChangesNothing) {
  ASSERT_TRUE(apply(fullRuleset()).ok());
  const std::string before = run("nft -j list ruleset").out;
  Ruleset bad = fullRuleset();
  Rule r;
  r.origin = Origin{policies::Location{"campus.yaml", 72, 5}, "public-web"};
  r.verdict = {VerdictKind::Jump, "no_such_chain"};
  bad.chains.push_back(Chain{"internet__dmz", std::nullopt, {r}, ""});
  auto res = apply(bad);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message.find(
                "campus.yaml:72:5: kernel rejected rule 'public-web' in chain 'internet__dmz'"),
            std::string::npos)
      << res.error().message;
  EXPECT_NE(res.error().sysErrno, 0);
  EXPECT_EQ(run("nft -j list ruleset").out, before);

  // A malformed element never reaches the kernel.
  Ruleset bad2 = fullRuleset();
  bad2.sets[1].elements.push_back({{pfx("2001:db8::/32")}, "", ""});
  auto res2 = apply(bad2);
  ASSERT_FALSE(res2.ok());
  EXPECT_NE(res2.error().message.find("set 'nets4'"), std::string::npos) << res2.error().message;
  EXPECT_EQ(run("nft -j list ruleset").out, before);

  // An element the kernel rejects: a verdict map entry jumping nowhere.
  Ruleset bad3 = fullRuleset();
  bad3.sets[0].elements.push_back({{std::string("eth7"), std::string("eth8")}, "nowhere", ""});
  auto res3 = apply(bad3);
  ASSERT_FALSE(res3.ok());
  EXPECT_NE(res3.error().message.find("elements of set 'zone_dispatch'"), std::string::npos) << res3.error().message;
  EXPECT_EQ(run("nft -j list ruleset").out, before);
}

TEST_F(Programmer, ElementChangesKeepTheTable) {
  Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  const auto handlesBefore = chainHandles();
  const std::string listedBefore = run("nft -j list chain inet bulwark forward").out;

  Ruleset next = rs;
  next.sets[1].elements.push_back({{pfx("203.0.113.0/24")}, "", "new host net"});   // nets4 add
  next.sets[1].elements.erase(next.sets[1].elements.begin() + 1);                    // nets4 remove 192.168.1.1
  next.sets[3].elements.push_back({{pfx("10.9.0.0/16"), std::uint8_t{6}, PortRange{443, 443}}, "", ""});
  next.sets[0].elements.pop_back();                                                    // zone map remove
  auto obs = observe();
  ASSERT_TRUE(obs.ok() && obs->has_value());
  Diff d = diff(next, *obs);
  ASSERT_TRUE(d.elementsOnly());
  EXPECT_EQ(d.elementAdditions().size(), 2u);
  EXPECT_EQ(d.elementRemovals().size(), 2u);
  auto r = applyElementChanges(next, d.elementAdditions(), d.elementRemovals());
  ASSERT_TRUE(r.ok()) << r.error().message;

  EXPECT_EQ(chainHandles(), handlesBefore);
  EXPECT_EQ(run("nft -j list chain inet bulwark forward").out, listedBefore);
  auto obs2 = observe();
  ASSERT_TRUE(obs2.ok() && obs2->has_value());
  for (const auto& c : diff(next, *obs2).changes) {
    ADD_FAILURE() << c.description;
  }
  EXPECT_NE(listTable().find("203.0.113.0/24"), std::string::npos);
}

TEST_F(Programmer, DiffSeesForeignEdits) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  auto obs = observe();
  ASSERT_TRUE(obs.ok() && obs->has_value());
  EXPECT_TRUE(diff(rs, *obs).empty());

  ASSERT_EQ(run("nft add rule inet bulwark c1 meta mark 42 drop").status, 0);
  ASSERT_EQ(run("nft add element inet bulwark nets4 '{ 198.51.100.7 }'").status, 0);
  ASSERT_EQ(run("nft replace rule inet bulwark forward handle " +
                std::to_string(chainHandles()["forward#0"]) + " ct state established accept comment "
                "'\"campus.yaml:10 builtin:established\"'")
                .status,
            0);
  auto obs2 = observe();
  ASSERT_TRUE(obs2.ok() && obs2->has_value());
  Diff d = diff(rs, *obs2);
  EXPECT_FALSE(d.empty());
  EXPECT_FALSE(d.elementsOnly());
  bool removedUnknown = false, elementRemoved = false, changed = false;
  for (const auto& c : d.changes) {
    std::printf("  %s\n", c.description.c_str());
    removedUnknown |= c.kind == ChangeKind::RuleRemoved && c.chain == "c1" &&
                      c.description.find("unknown rule") != std::string::npos;
    elementRemoved |= c.kind == ChangeKind::ElementRemoved && c.set == "nets4";
    changed |= c.kind == ChangeKind::RuleChanged && c.chain == "forward" && c.ruleIndex == 0;
  }
  EXPECT_TRUE(removedUnknown);
  EXPECT_TRUE(elementRemoved);
  EXPECT_TRUE(changed) << "same comment, different expressions: the comment is not trusted";

  ASSERT_TRUE(apply(rs).ok());
  auto obs3 = observe();
  ASSERT_TRUE(obs3.ok() && obs3->has_value());
  EXPECT_TRUE(diff(rs, *obs3).empty());
}

// Drift in the rules of one chain (and an element) is repaired by rewriting that chain: the
// other chains and rules keep their handles (the table is not replaced), and the read-back of
// the written chain and set finds the kernel in sync, as a whole observe() does after it.
TEST_F(Programmer, ForeignRulesInOneChainAreRepairedByRewritingThatChain) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  ASSERT_EQ(run("nft add rule inet bulwark c1 meta mark 42 drop").status, 0);
  ASSERT_EQ(run("nft add element inet bulwark nets4 '{ 198.51.100.7 }'").status, 0);
  auto before = chainHandles();
  auto plan = planTable(&rs);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_TRUE(plan->rewritesChains());
  EXPECT_EQ(plan->diff.changedChains(), std::vector<std::string>{"c1"});
  auto r = applyTable(&rs, *plan);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto gen = currentGenId();
  ASSERT_TRUE(gen.ok());
  EXPECT_EQ(r->genId, *gen);
  auto after = chainHandles();
  for (const auto& [name, handle] : before) {
    if (name.rfind("c1#", 0) == 0) continue;  // the rewritten chain's rules are new
    if (after.count(name) != 0) {
      EXPECT_EQ(after[name], handle) << name;
    }
  }
  EXPECT_EQ(listTable().find("mark 0x0000002a"), std::string::npos);
  EXPECT_EQ(listTable().find("198.51.100.7"), std::string::npos);
  auto obs = observe();
  ASSERT_TRUE(obs.ok() && obs->has_value());
  for (const auto& c : diff(rs, *obs).changes) ADD_FAILURE() << c.description;
}

// issue 21: the read-back called a table whose map elements were jumps "in sync". A jump
// returns into the calling chain (another firewall than the IR's goto), so it must show.
TEST_F(Programmer, DiffSeesAJumpWhereTheMapGoes) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  ASSERT_EQ(run("nft delete element inet bulwark egress '{ \"eth2\" }' && "
                "nft add element inet bulwark egress '{ \"eth2\" : jump dmz__lan }'")
                .status,
            0);
  auto obs = observe();
  ASSERT_TRUE(obs.ok() && obs->has_value());
  Diff d = diff(rs, *obs);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::SetChanged);
  EXPECT_NE(d.changes[0].description.find("goto"), std::string::npos) << d.changes[0].description;
  ASSERT_TRUE(apply(rs).ok());
  auto again = observe();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_TRUE(diff(rs, *again).empty());
  EXPECT_NE(listTable().find("\"eth2\" : goto dmz__lan"), std::string::npos);
}

TEST_F(Programmer, TableAbsentIsNotAnError) {
  auto obs = observe();
  ASSERT_TRUE(obs.ok()) << obs.error().message;
  EXPECT_FALSE(obs->has_value());
  Diff d = diff(fullRuleset(), *obs);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::TableAbsent);
}

TEST_F(Programmer, GenerationCheckRefusesConcurrentChange) {
  auto gen = currentGenId();
  ASSERT_TRUE(gen.ok()) << gen.error().message;
  ASSERT_EQ(run("nft add table ip other").status, 0);  // someone else changes the ruleset
  auto r = apply(fullRuleset(), ApplyOptions{*gen});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("generation"), std::string::npos) << r.error().message;
  EXPECT_EQ(run("nft list table inet bulwark").status == 0, false);
  auto gen2 = currentGenId();
  ASSERT_TRUE(gen2.ok());
  auto r2 = apply(fullRuleset(), ApplyOptions{*gen2});
  EXPECT_TRUE(r2.ok()) << r2.error().message;
}

TEST_F(Programmer, LargeBatchesAndTimings) {
  Ruleset rs = fullRuleset();
  constexpr int kElems = 50000;
  constexpr int kRules = 2000;
  for (int i = 0; i < kElems; ++i) {
    const auto a = static_cast<std::uint32_t>(0x0a000000u + static_cast<std::uint32_t>(i) * 4u);
    rs.sets[3].elements.push_back(
        {{Prefix(IpAddress::v4(a), 30), std::uint8_t{6}, PortRange{443, 443}}, "", ""});
  }
  for (int i = 0; i < kRules; ++i) {
    rs.chains[1].rules.push_back(rule(1000 + i, "r" + std::to_string(i),
                                      {MatchPrefix{Selector::Ip4Saddr, Prefix(IpAddress::v4(0xc0a80000u + static_cast<std::uint32_t>(i)), 32), false},
                                       MatchPort{PortRange{static_cast<std::uint16_t>(1 + i), static_cast<std::uint16_t>(1 + i)}}, StmtCounter{}},
                                      accept()));
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = apply(rs);
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto obs = observe();
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(obs.ok() && obs->has_value()) << (obs.ok() ? "" : obs.error().message);
  EXPECT_TRUE(diff(rs, *obs).empty());
  auto t3 = std::chrono::steady_clock::now();
  auto r2 = applyElementChanges(rs, {{"flows", {{pfx("10.200.0.0/16"), std::uint8_t{17}, PortRange{53, 53}}, "", ""}}}, {});
  auto t4 = std::chrono::steady_clock::now();
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::printf("apply %d rules + %d concat-interval elements: %.0f ms (%zu messages, %zu bytes)\n"
              "observe: %.0f ms; diff: %.0f ms; add 1 element to the %d-element set: %.1f ms\n",
              kRules, kElems, ms(t0, t1), r->messages, r->bytes, ms(t1, t2), ms(t2, t3), kElems, ms(t3, t4));
}

// ---- pure diff tests (no kernel) ---------------------------------------------------------
ObservedTable observedFrom(const Ruleset& rs) {
  ObservedTable t;
  for (const auto& s : rs.sets) {
    t.sets.push_back(ObservedSet{s, {}, "", 0});
  }
  for (const auto& c : rs.chains) {
    ObservedChain oc{c.name, c.base, c.comment, 0, "", {}};
    for (const auto& r : c.rules) {
      oc.rules.push_back(ObservedRule{canonicalRule(r), "", r.comment(), 0, false, 0, 0});
    }
    t.chains.push_back(oc);
  }
  return t;
}

TEST(Diff, InSyncIsEmpty) {
  const Ruleset rs = fullRuleset();
  EXPECT_TRUE(diff(rs, observedFrom(rs)).empty());
}

TEST(Diff, ElementsOnly) {
  const Ruleset rs = fullRuleset();
  Ruleset want = rs;
  want.sets[1].elements.push_back({{pfx("198.51.100.0/24")}, "", ""});
  want.sets[2].elements.clear();
  Diff d = diff(want, observedFrom(rs));
  EXPECT_TRUE(d.elementsOnly());
  ASSERT_EQ(d.elementAdditions().size(), 1u);
  EXPECT_EQ(d.elementAdditions()[0].set, "nets4");
  ASSERT_EQ(d.elementRemovals().size(), 1u);
  EXPECT_EQ(d.elementRemovals()[0].set, "nets6");
}

TEST(Diff, DynamicSetElementsAreIgnored) {
  const Ruleset rs = fullRuleset();
  ObservedTable t = observedFrom(rs);
  t.sets[7].def.elements.push_back({{pfx("192.0.2.1/32")}, "", ""});
  EXPECT_TRUE(diff(rs, t).empty());
}

TEST(Diff, StructuralChanges) {
  const Ruleset rs = fullRuleset();
  Ruleset want = rs;
  want.sets.erase(want.sets.begin() + 4);  // ifpairs
  want.sets.push_back(SetDef{"new", {KeyType::InetProto}, false, false, false, 0, 0, {}, ""});
  want.sets[0].comment = "changed";
  want.chains[0].rules[2].exprs.pop_back();
  want.chains[1].rules.push_back(rule(99, "extra", {StmtCounter{}}));
  want.chains.push_back(Chain{"added", std::nullopt, {}, ""});
  want.chains[2].base = BaseChain{};
  std::erase_if(want.chains, [](const Chain& c) { return c.name == "dmz__lan"; });
  std::multiset<ChangeKind> kinds;
  for (const auto& c : diff(want, observedFrom(rs)).changes) {
    kinds.insert(c.kind);
  }
  const std::multiset<ChangeKind> expected{ChangeKind::SetRemoved,  ChangeKind::SetAdded,   ChangeKind::SetChanged,
                                           ChangeKind::RuleChanged, ChangeKind::RuleAdded,  ChangeKind::ChainAdded,
                                           ChangeKind::ChainChanged, ChangeKind::ChainRemoved};
  EXPECT_EQ(kinds, expected);
  EXPECT_FALSE(diff(want, observedFrom(rs)).elementsOnly());
}

TEST(Diff, UnknownRuleIsARemoval) {
  const Ruleset rs = fullRuleset();
  ObservedTable t = observedFrom(rs);
  t.chains[1].rules.push_back(ObservedRule{std::nullopt, "meta mark 42", "", 0, false, 0, 0});
  Diff d = diff(rs, t);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::RuleRemoved);
}

TEST(Diff, CanonicalRuleFoldsImplicitDependencies) {
  Rule r = rule(1, "x", {MatchNfProto{policies::Family::V4}, MatchPrefix{Selector::Ip4Saddr, pfx("10.0.0.0/8"), false},
                         MatchL4Proto{6}, MatchTcpSynOnly{}});
  Rule c = canonicalRule(r);
  ASSERT_EQ(c.exprs.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<MatchPrefix>(c.exprs[0]));
  EXPECT_TRUE(std::holds_alternative<MatchTcpSynOnly>(c.exprs[1]));
  EXPECT_TRUE(sameExprs(canonicalRule(c).exprs, c.exprs));  // idempotent
  EXPECT_TRUE(diff(Ruleset{{}, {Chain{"c", std::nullopt, {r}, ""}}},
                   observedFrom(Ruleset{{}, {Chain{"c", std::nullopt, {c}, ""}}}))
                  .empty());
}

TEST(Diff, TableAbsent) {
  Diff d = diff(fullRuleset(), std::nullopt);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::TableAbsent);
  EXPECT_FALSE(d.elementsOnly());
}

}  // namespace
}  // namespace bulwark::firewall

int main(int argc, char** argv) {
  // Everything below runs in a private network namespace: the host ruleset is never touched.
  // Children started with popen (nft) inherit it.
  bulwark::firewall::gInNetns = unshare(CLONE_NEWNET) == 0;
  if (!bulwark::firewall::gInNetns) {
    std::perror("unshare(CLONE_NEWNET)");
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
