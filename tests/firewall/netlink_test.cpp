// The firewall's netlink logic without root: the programmer, observe, the reconcile
// (plan/apply with read-back), the counters dump and the change watch, through the transport
// seam (transport.h) against a fake nf_tables (fake_netfilter.h). The same code against the
// real kernel: programmer_test.cpp (root, own network namespace).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bulwark/firewall/counters.h"
#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/reconcile.h"
#include "bulwark/firewall/watch.h"
#include "fake_netfilter.h"
#include "full_ruleset.h"

namespace bulwark::firewall {
namespace {

using test::FakeNetfilter;
using test::FakeNetfilterScope;
using testing::fullRuleset;
using testing::pfx;

class Netlink : public ::testing::Test {
 protected:
  FakeNetfilter kernel;
  FakeNetfilterScope scope{kernel};
};

std::string descriptions(const Diff& d) {
  std::string s;
  for (const auto& c : d.changes) s += c.description + "\n";
  return s;
}

std::vector<std::uint16_t> types(const std::vector<test::Message>& batch) {
  std::vector<std::uint16_t> out;
  for (const auto& m : batch) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
    out.push_back(nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END
                      ? nlh->nlmsg_type
                      : test::nftType(nlh));
  }
  return out;
}

TEST_F(Netlink, ApplyIsOneBatchWithUniqueSeqsAndEveryAckDrained) {
  const Ruleset rs = fullRuleset();
  auto r = apply(rs);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(kernel.batches.size(), 1u);
  const auto& batch = kernel.batches[0];
  EXPECT_EQ(r->messages, batch.size());
  auto t = types(batch);
  EXPECT_EQ(t.front(), NFNL_MSG_BATCH_BEGIN);
  EXPECT_EQ(t.back(), NFNL_MSG_BATCH_END);
  // Create-if-missing, delete, define again; then chains before sets, elements, rules.
  EXPECT_EQ(t[1], NFT_MSG_NEWTABLE);
  EXPECT_EQ(t[2], NFT_MSG_DELTABLE);
  EXPECT_EQ(t[3], NFT_MSG_NEWTABLE);
  EXPECT_EQ(t[4], NFT_MSG_NEWCHAIN);
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_NEWCHAIN), static_cast<long>(rs.chains.size()));
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_NEWSET), static_cast<long>(rs.sets.size()));
  std::set<std::uint32_t> seqs;
  for (const auto& m : batch) seqs.insert(reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_seq);
  EXPECT_EQ(seqs.size(), batch.size());
  EXPECT_TRUE(kernel.table.exists);
  EXPECT_EQ(kernel.gen, 101u);
}

TEST_F(Netlink, ObserveParsesTheDumpsBackIntoTheIr) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  auto plan = planTable(&rs);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->inSync()) << descriptions(plan->diff);
  ASSERT_TRUE(plan->observed->table.has_value());
  EXPECT_EQ(plan->observed->genId, kernel.gen);
  const auto& t = *plan->observed->table;
  EXPECT_EQ(t.chains.size(), rs.chains.size());
  EXPECT_EQ(t.sets.size(), rs.sets.size());
  for (const auto& s : rs.sets) {
    const auto* o = t.findSet(s.name);
    ASSERT_NE(o, nullptr) << s.name;
    if (!s.dynamic) {
      EXPECT_EQ(o->def.elements.size(), s.elements.size()) << s.name;
    }
  }
  // The observed rules carry their origin again, decoded from the kernel comment.
  const auto* fwd = t.findChain("forward");
  ASSERT_NE(fwd, nullptr);
  ASSERT_FALSE(fwd->rules.empty());
  ASSERT_TRUE(fwd->rules[0].rule.has_value());
  EXPECT_EQ(fwd->rules[0].rule->origin.where.file, "campus.yaml");
}

TEST_F(Netlink, RefusedMessagesAreMappedToTheirRulesAndNothingIsCommitted) {
  Ruleset rs = fullRuleset();
  // The kernel refuses the rules of one chain: both failures are reported (every ack is
  // drained), each against its rule's origin, and the batch is not committed.
  const Chain& victim = rs.chains.back();
  ASSERT_FALSE(victim.rules.empty());
  kernel.refuse = [&](const nlmsghdr* nlh) {
    if (test::nftType(nlh) != NFT_MSG_NEWRULE) return 0;
    std::unique_ptr<nftnl_rule, void (*)(const nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
    nftnl_rule_nlmsg_parse(nlh, r.get());
    return std::string(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)) == victim.name ? EINVAL : 0;
  };
  auto r = apply(rs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sysErrno, EINVAL);
  EXPECT_EQ(r.error().items.size(), victim.rules.size());
  const std::string name = victim.rules[0].origin.what;
  EXPECT_NE(r.error().message.find("kernel rejected rule '" + name + "' in chain '" + victim.name + "'"),
            std::string::npos)
      << r.error().message;
  EXPECT_FALSE(kernel.table.exists);
  EXPECT_EQ(kernel.gen, 100u);
}

TEST_F(Netlink, AForeignChangeBetweenPlanAndApplyIsRefusedWithERESTART) {
  const Ruleset rs = fullRuleset();
  auto plan = planTable(&rs);
  ASSERT_TRUE(plan.ok());
  ++kernel.gen;  // someone else committed meanwhile
  auto r = applyTable(&rs, *plan);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().written);
  EXPECT_EQ(r.error().sysErrno, ERESTART);
  EXPECT_NE(r.error().message.find("the ruleset changed since it was read"), std::string::npos) << r.error().message;
  EXPECT_FALSE(kernel.table.exists);
  // Planned again, it goes through and reads back in sync.
  auto again = planTable(&rs);
  ASSERT_TRUE(again.ok());
  auto r2 = applyTable(&rs, *again);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->genId, kernel.gen);
}

TEST_F(Netlink, ElementChangesAreAppliedWithoutReplacingTheTable) {
  Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  Ruleset next = rs;
  next.sets[1].elements.push_back({{pfx("203.0.113.0/24")}, "", "new host net"});
  next.sets[1].elements.erase(next.sets[1].elements.begin() + 1);
  auto plan = planTable(&next);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->incremental()) << descriptions(plan->diff);
  auto r = applyTable(&next, *plan);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->incremental);
  auto t = types(kernel.batches.back());
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_NEWTABLE), 0);
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_DELSETELEM), 1);
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_NEWSETELEM), 1);
}

// A foreign rule in one chain (drift) is repaired by rewriting that chain, not the table, and
// the read-back reads that chain again (the generation says nothing else committed).
TEST_F(Netlink, ChangedRulesOfOneChainRewriteThatChainOnly) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  Ruleset foreign = rs;
  Chain& changed = foreign.chains.front();
  ASSERT_FALSE(changed.rules.empty());
  changed.rules.insert(changed.rules.begin(), Rule{{StmtCounter{}}, {VerdictKind::Accept, ""}, {}});
  ASSERT_TRUE(apply(foreign).ok());  // the kernel now holds one rule more in the first chain
  auto plan = planTable(&rs);
  ASSERT_TRUE(plan.ok());
  ASSERT_FALSE(plan->inSync());
  ASSERT_FALSE(plan->incremental());
  ASSERT_TRUE(plan->rewritesChains()) << descriptions(plan->diff);
  EXPECT_EQ(plan->diff.changedChains(), std::vector<std::string>{changed.name});
  const auto gets = kernel.getGens;
  auto r = applyTable(&rs, *plan);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->genId, kernel.gen);
  auto t = types(kernel.batches.back());
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_NEWTABLE), 0);
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_DELTABLE), 0);
  EXPECT_EQ(std::count(t.begin(), t.end(), NFT_MSG_DELRULE), 1);
  std::size_t want = 0;
  for (const auto& c : rs.chains) want += c.name == changed.name ? c.rules.size() : 0;
  EXPECT_EQ(static_cast<std::size_t>(std::count(t.begin(), t.end(), NFT_MSG_NEWRULE)), want);
  // Partial read-back: the generation before and after the chain's dump, nothing else.
  EXPECT_EQ(kernel.getGens - gets, 2);
  auto again = planTable(&rs);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->inSync()) << descriptions(again->diff);
}

// When something else committed after the write, the read-back is the whole table, and it
// reports the other change.
TEST_F(Netlink, APartialReadBackFallsBackToTheWholeTableWhenTheGenerationMovedFurther) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  Ruleset foreign = rs;
  foreign.chains.front().rules.push_back(Rule{{StmtCounter{}}, {VerdictKind::Drop, ""}, {}});
  ASSERT_TRUE(apply(foreign).ok());
  auto plan = planTable(&rs);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->rewritesChains()) << descriptions(plan->diff);
  kernel.getGens = 0;
  kernel.bumpGenAtGetGen = 1;  // the read-back's first GETGEN: another commit after the write
  auto r = applyTable(&rs, *plan);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->genId, kernel.gen);
  EXPECT_GT(kernel.getGens, 2);  // the whole table was read (GETGEN before and after it)
}

TEST_F(Netlink, AReadBackThatDiffersIsAnErrorAfterTheWrite) {
  const Ruleset rs = fullRuleset();
  // The kernel "loses" one rule: the batch commits, the read-back must notice.
  bool lost = false;
  kernel.forget = [&](const nlmsghdr* nlh) {
    if (lost || test::nftType(nlh) != NFT_MSG_NEWRULE) return false;
    return lost = true;
  };
  auto plan = planTable(&rs);
  ASSERT_TRUE(plan.ok());
  auto r = applyTable(&rs, *plan);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().written);
  EXPECT_NE(r.error().message.find("still differs"), std::string::npos) << r.error().message;
  EXPECT_FALSE(r.error().items.empty());
}

TEST_F(Netlink, RemovingTheTableAndAnAbsentTable) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  auto plan = planTable(nullptr);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->diff.changes.size(), 1u);
  EXPECT_EQ(plan->diff.changes[0].kind, ChangeKind::TableRemoved);
  auto r = applyTable(nullptr, *plan);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(kernel.table.exists);
  // Already absent: in sync, and deleteTable() is not an error either.
  auto again = planTable(nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->inSync());
  EXPECT_TRUE(deleteTable().ok());
}

TEST_F(Netlink, ObserveRetriesWhenTheGenerationMovesDuringTheDumps) {
  ASSERT_TRUE(apply(fullRuleset()).ok());
  kernel.getGens = 0;
  kernel.bumpGenAtGetGen = 2;  // the closing GETGEN of the first attempt sees a new generation
  auto t = observe();
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(t->has_value());
  EXPECT_GE(kernel.getGens, 4);
}

TEST_F(Netlink, CounterDumpAndTotals) {
  const Ruleset rs = fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  auto dump = observeCounters();
  ASSERT_TRUE(dump.ok()) << dump.error().message;
  ASSERT_TRUE(dump->has_value());
  std::size_t rules = 0;
  for (const auto& c : rs.chains) rules += c.rules.size();
  EXPECT_EQ((*dump)->rules.size(), rules);
  bool jump = false;
  for (const auto& s : (*dump)->rules) jump = jump || !s.jumpTo.empty();
  EXPECT_TRUE(jump);
  auto totals = counterTotals();
  ASSERT_TRUE(totals.ok());
  EXPECT_TRUE(totals->tablePresent);
  EXPECT_FALSE(totals->rules.empty());

  kernel.table = {};
  auto none = counterTotals();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->tablePresent);
}

std::vector<char> notification(std::uint16_t type, std::uint8_t family, const char* table) {
  std::vector<char> buf(512, 0);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  if (table) mnl_attr_put_strz(nlh, 1, table);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

TEST(TableWatchFilter, OnlyTableInetBulwark) {
  EXPECT_TRUE(concernsBulwarkTable(notification(NFT_MSG_NEWRULE, NFPROTO_INET, "bulwark").data()));
  EXPECT_TRUE(concernsBulwarkTable(notification(NFT_MSG_DELTABLE, NFPROTO_INET, "bulwark").data()));
  EXPECT_FALSE(concernsBulwarkTable(notification(NFT_MSG_NEWRULE, NFPROTO_INET, "other").data()));
  EXPECT_FALSE(concernsBulwarkTable(notification(NFT_MSG_NEWRULE, NFPROTO_IPV4, "bulwark").data()));
  EXPECT_FALSE(concernsBulwarkTable(notification(NFT_MSG_NEWGEN, NFPROTO_INET, nullptr).data()));
}

TEST_F(Netlink, TheWatchDrainsAndReportsChangesOfTheTableOrLostEvents) {
  auto w = TableWatch::open();
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(kernel.subscribers.size(), 1u);
  auto* sock = kernel.subscribers[0];
  EXPECT_FALSE(w->drain());
  sock->notify(notification(NFT_MSG_NEWRULE, NFPROTO_INET, "other"));
  EXPECT_FALSE(w->drain());
  sock->notify(notification(NFT_MSG_NEWRULE, NFPROTO_INET, "other"));
  sock->notify(notification(NFT_MSG_NEWSETELEM, NFPROTO_INET, "bulwark"));
  EXPECT_TRUE(w->drain());
  EXPECT_FALSE(w->drain());  // drained
  sock->overrun();
  EXPECT_TRUE(w->drain());   // lost notifications: re-observe
}

}  // namespace
}  // namespace bulwark::firewall
