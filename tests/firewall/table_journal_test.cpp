// TableJournal (which events name which chains and sets, and what makes it say "read the whole
// table"), the watch feeding it, and observeSince() against the fake nf_tables.
#include <arpa/inet.h>  // before the linux headers (in_addr)
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/reconcile.h"
#include "bulwark/firewall/table_journal.h"
#include "bulwark/firewall/watch.h"
#include "fake_netfilter.h"
#include "full_ruleset.h"

namespace bulwark::firewall {
namespace {

using Strings = std::vector<std::string>;

// One notification of table `table` (family inet) with string attribute 2 (NFTA_RULE_CHAIN,
// NFTA_SET_ELEM_LIST_SET, NFTA_CHAIN_NAME, ...) when `name` is set.
std::vector<char> event(std::uint16_t type, const char* table, const char* name) {
  std::vector<char> buf(512, 0);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)))->nfgen_family = NFPROTO_INET;
  mnl_attr_put_strz(nlh, 1, table);
  if (name != nullptr) mnl_attr_put_strz(nlh, 2, name);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

std::vector<char> rule(std::uint16_t type, const char* chain) { return event(type, kTableName, chain); }

// NFT_MSG_NEWGEN: the end of the transaction that made generation `gen`.
std::vector<char> newgen(std::uint32_t gen) {
  std::vector<char> buf(512, 0);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN);
  mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg));
  mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(gen));
  buf.resize(nlh->nlmsg_len);
  return buf;
}

TEST(TableJournal, RuleAndElementEventsNameTheirChainAndSet) {
  TableJournal j;
  j.restart(10);
  j.note(rule(NFT_MSG_NEWRULE, "forward").data());
  j.note(rule(NFT_MSG_DELRULE, "zone_lan").data());
  j.note(event(NFT_MSG_NEWSETELEM, kTableName, "blocked").data());
  j.note(event(NFT_MSG_NEWRULE, "other", "forward").data());  // another table's: not ours
  j.note(newgen(11).data());
  j.note(event(NFT_MSG_DELSETELEM, kTableName, "allowed").data());
  j.note(rule(NFT_MSG_NEWRULE, "forward").data());
  j.note(newgen(12).data());
  auto t = j.since(10);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->chains, (Strings{"forward", "zone_lan"}));
  EXPECT_EQ(t->sets, (Strings{"allowed", "blocked"}));
  EXPECT_EQ(t->genId, 12u);
  auto later = j.since(11);  // a reading at 11: only what 12 touched
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->chains, (Strings{"forward"}));
  EXPECT_EQ(later->sets, (Strings{"allowed"}));
  // Generations without events of our table still count: nothing to read again.
  j.note(newgen(13).data());
  auto none = j.since(12);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->chains.empty() && none->sets.empty());
  EXPECT_EQ(none->genId, 13u);
  auto same = j.since(13);  // the reading is the last generation seen
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->genId, 13u);
}

TEST(TableJournal, TableChainSetAndUnknownEventsForceTheWholeRead) {
  for (std::uint16_t type : {NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, NFT_MSG_NEWSET,
                             NFT_MSG_DELSET, NFT_MSG_NEWOBJ, NFT_MSG_NEWFLOWTABLE}) {
    TableJournal j;
    j.restart(10);
    j.note(rule(NFT_MSG_NEWRULE, "forward").data());
    j.note(event(type, kTableName, "x").data());
    j.note(newgen(11).data());
    j.note(rule(NFT_MSG_NEWRULE, "forward").data());
    j.note(newgen(12).data());
    EXPECT_FALSE(j.since(10).has_value()) << type;
    EXPECT_TRUE(j.since(11).has_value()) << type;  // after that generation, only rules again
  }
  TableJournal j;
  j.restart(10);
  j.note(rule(NFT_MSG_NEWRULE, nullptr).data());  // a rule event without its chain
  j.note(newgen(11).data());
  EXPECT_FALSE(j.since(10).has_value());
}

TEST(TableJournal, LostEventsGapsAndOpenGenerationsForceTheWholeRead) {
  TableJournal never;  // never restarted: the generation it started at is not known
  never.note(newgen(11).data());
  EXPECT_FALSE(never.since(10).has_value());

  TableJournal j;
  j.restart(10);
  EXPECT_FALSE(j.since(9).has_value());  // a reading from before the watch knew
  j.note(newgen(11).data());
  j.note(newgen(13).data());  // 12's NEWGEN never came
  EXPECT_FALSE(j.since(10).has_value());
  EXPECT_TRUE(j.since(12).has_value());

  j.note(rule(NFT_MSG_NEWRULE, "forward").data());  // its NEWGEN not read yet
  EXPECT_FALSE(j.since(13).has_value());
  j.note(newgen(14).data());
  EXPECT_TRUE(j.since(13).has_value());

  j.lost();  // ENOBUFS: nothing known until the watch reads the generation again
  j.note(newgen(15).data());
  EXPECT_FALSE(j.since(14).has_value());
  j.restart(15);
  j.note(newgen(16).data());
  EXPECT_TRUE(j.since(15).has_value());
  EXPECT_FALSE(j.since(14).has_value());

  j.forget(16);  // a verified reading at 16: the generations before are not asked about again
  EXPECT_FALSE(j.since(15).has_value());
  EXPECT_TRUE(j.since(16).has_value());
}

TEST(TableJournal, KeepsABoundedNumberOfGenerations) {
  TableJournal j;
  j.restart(0);
  const auto n = static_cast<std::uint32_t>(TableJournal::kMaxGenerations);
  for (std::uint32_t g = 1; g <= n + 2; ++g) j.note(newgen(g).data());
  EXPECT_FALSE(j.since(1).has_value());
  auto t = j.since(2);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->genId, n + 2);
}

using test::FakeNetfilter;
using test::FakeNetfilterScope;

class JournalNetlink : public ::testing::Test {
 protected:
  FakeNetfilter kernel;
  FakeNetfilterScope scope{kernel};
};

TEST_F(JournalNetlink, TheWatchFeedsItsJournalFromTheGenerationItOpenedAt) {
  auto journal = std::make_shared<TableJournal>();
  auto w = TableWatch::open(journal);
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto* sock = kernel.subscribers.at(0);
  const std::uint32_t at = kernel.gen;
  ASSERT_TRUE(journal->since(at).has_value());
  EXPECT_FALSE(journal->since(at - 1).has_value());
  sock->notify(rule(NFT_MSG_NEWRULE, "forward"));
  sock->notify(newgen(at + 1));
  EXPECT_TRUE(w->drain());
  auto t = journal->since(at);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->chains, Strings{"forward"});
  EXPECT_EQ(t->genId, at + 1);
  // Lost notifications: the journal starts again at the generation the kernel is at now.
  kernel.gen = at + 5;
  sock->overrun();
  EXPECT_TRUE(w->drain());
  EXPECT_FALSE(journal->since(at).has_value());
  ASSERT_TRUE(journal->since(at + 5).has_value());
  EXPECT_EQ(journal->since(at + 5)->genId, at + 5);
}

// A foreign rule in one chain after a verified reading: that reading with the chain read
// again is what the kernel holds; a chain the reading did not have, or another generation,
// reads the whole table.
TEST_F(JournalNetlink, ObserveSinceReadsOnlyTheNamedChainsAndSets) {
  const Ruleset rs = testing::fullRuleset();
  ASSERT_TRUE(apply(rs).ok());
  auto base = observeTable();
  ASSERT_TRUE(base.ok());
  Ruleset foreign = rs;
  Chain& changed = foreign.chains.front();
  changed.rules.insert(changed.rules.begin(), Rule{{StmtCounter{}}, {VerdictKind::Accept, ""}, {}});
  ASSERT_TRUE(apply(foreign).ok());
  const auto gets = kernel.getGens;
  bool partial = false;
  auto t = observeSince(*base, kernel.gen, {changed.name}, {}, &partial);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(partial);
  EXPECT_EQ(kernel.getGens - gets, 2);  // the generation before and after the chain's dump
  EXPECT_EQ((*t)->genId, kernel.gen);
  EXPECT_TRUE(diff(foreign, (*t)->table).empty());
  const auto plan = planFor(&rs, *t);
  EXPECT_EQ(plan.diff.changedChains(), Strings{changed.name});

  auto unknown = observeSince(*base, kernel.gen, {"no_such_chain"}, {}, &partial);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(partial);
  EXPECT_TRUE(diff(foreign, (*unknown)->table).empty());
  auto moved = observeSince(*base, kernel.gen - 1, {changed.name}, {}, &partial);
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(partial);
  EXPECT_TRUE(diff(foreign, (*moved)->table).empty());
}

}  // namespace
}  // namespace bulwark::firewall
