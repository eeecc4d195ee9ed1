// The read-back does not share the writer's view: the desired side of the diff is canonicalised
// on the IR alone (canonical.cpp), set metadata is checked against what nft needs, derived from
// the kernel's key type, and map elements must be the IR's goto (observe_sets.cpp). Here the
// read-back is handed kernel states built by hand -- the ones the programmer produced before
// issue 21 -- and must report them; and it must agree with the programmer's own encoding
// without using it.
#include <gtest/gtest.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "bulwark/firewall/observe.h"
#include "nl/nftnl.h"
#include "nl/ops.h"
#include "observe_sets.h"
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

// A set as the programmer sends it (key type, length, userdata).
nl::SetPtr asProgrammed(const SetDef& s) {
  nl::SetPtr n(nftnl_set_alloc());
  nftnl_set_set_u32(n.get(), NFTNL_SET_KEY_TYPE, nl::setKeyTypeId(s));
  nftnl_set_set_u32(n.get(), NFTNL_SET_KEY_LEN, nl::setKeyLen(s));
  const nl::Bytes ud = nl::setUserdata(s);
  nftnl_set_set_data(n.get(), NFTNL_SET_USERDATA, ud.data(), static_cast<std::uint32_t>(ud.size()));
  return n;
}

TEST(ReadBack, EverySetTheProgrammerWritesCarriesTheHintsNftNeeds) {
  auto c = testing::compileExample("campus.yaml");
  for (const auto& s : c.result.ruleset.sets)
    EXPECT_EQ(nftHintProblem(asProgrammed(s).get()), "") << s.name;
}

// ---- kernel states built by hand ------------------------------------------------------------
constexpr std::uint32_t kIfnameType = 41;  // nft's TYPE_IFNAME, as the kernel stores it
constexpr std::uint32_t kIfnameLen = 16;   // IFNAMSIZ

// `map egress { type ifname : verdict; comment "by egress"; }` as the kernel reports it, with
// the userdata nft writes for that declaration (key byte order 1 = host) unless told otherwise.
nl::SetPtr kernelIfnameMap(bool withNftHint) {
  nl::SetPtr s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, "bulwark");
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, "egress");
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_MAP);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, kIfnameType);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, kIfnameLen);
  nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, static_cast<std::uint32_t>(NFT_DATA_VERDICT));
  nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, 0);
  nl::UdataPtr ud(nftnl_udata_buf_alloc(256));
  if (withNftHint) nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, 1);
  nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_SET_COMMENT, "by egress");
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
                     nftnl_udata_buf_len(ud.get()));
  return s;
}

void addKernelElement(nftnl_set* s, const char* ifname, int verdict, const char* chain) {
  char key[kIfnameLen] = {};
  std::strncpy(key, ifname, sizeof key - 1);
  nftnl_set_elem* e = nftnl_set_elem_alloc();
  nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof key);
  nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<std::uint32_t>(verdict));
  nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
  nftnl_set_elem_add(s, e);
}

// What the IR says: eth0 and eth1 go to their zone chains.
Ruleset desiredEgress() {
  Ruleset rs;
  SetDef m{"egress", {KeyType::IfName}, false, true, false, 0, 0, {}, "by egress"};
  m.elements = {{{std::string("eth0")}, "vpn__internet", ""},
                {{std::string("eth1")}, "vpn__lan", ""}};
  rs.sets.push_back(m);
  for (const char* c : {"vpn__internet", "vpn__lan"})
    rs.chains.push_back(Chain{c, std::nullopt, {}, ""});
  return rs;
}

ObservedTable observedWith(const nftnl_set* kernelSet) {
  ObservedTable t;
  t.sets.push_back(toObservedSet(kernelSet));
  if (t.sets.back().unknown.empty()) takeElements(kernelSet, t.sets.back());  // as observe() does
  for (const char* c : {"vpn__internet", "vpn__lan"})
    t.chains.push_back(ObservedChain{c, std::nullopt, "", 0, "", {}});
  return t;
}

TEST(ReadBack, TheKernelStateNftWouldWriteIsInSync) {
  auto s = kernelIfnameMap(true);
  addKernelElement(s.get(), "eth0", NFT_GOTO, "vpn__internet");
  addKernelElement(s.get(), "eth1", NFT_GOTO, "vpn__lan");
  const Diff d = diff(desiredEgress(), observedWith(s.get()));
  EXPECT_TRUE(d.empty()) << (d.empty() ? "" : d.changes[0].description);
}

// Issue 21: the programmer sent every map element as NFT_JUMP, and the read-back raised it to
// the same IR element (chain name only) and called the table "in sync".
TEST(ReadBack, AJumpWhereTheIrSaysGotoIsADifference) {
  auto s = kernelIfnameMap(true);
  addKernelElement(s.get(), "eth0", NFT_GOTO, "vpn__internet");
  addKernelElement(s.get(), "eth1", NFT_JUMP, "vpn__lan");
  const Diff d = diff(desiredEgress(), observedWith(s.get()));
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::SetChanged);
  EXPECT_NE(d.changes[0].description.find("jump vpn__lan"), std::string::npos)
      << d.changes[0].description;
  EXPECT_FALSE(d.elementsOnly());  // replaced by a table replacement, not left as it is
}

// Issue 21: the programmer wrote only the comment into a set's userdata; nft then listed every
// key of `type ifname` maps as "" and could not reload its own listing. Same elements, same
// kernel key type: only what nft needs differs, and the read-back must see it.
TEST(ReadBack, AnIfnameMapWithoutNftsByteOrderHintIsADifference) {
  auto s = kernelIfnameMap(false);
  addKernelElement(s.get(), "eth0", NFT_GOTO, "vpn__internet");
  addKernelElement(s.get(), "eth1", NFT_GOTO, "vpn__lan");
  const Diff d = diff(desiredEgress(), observedWith(s.get()));
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, ChangeKind::SetChanged);
  EXPECT_NE(d.changes[0].description.find("key byte order hint missing"), std::string::npos)
      << d.changes[0].description;
}

}  // namespace
}  // namespace bulwark::firewall
