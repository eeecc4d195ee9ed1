// Pure parts of bulwarkd: line framing, op table, roles from credentials, the metrics text,
// the history store, the nftables event filter.
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <filesystem>

#include "bulwark/gateway/protocol.h"
#include "drift_watch.h"
#include "history.h"
#include "metrics.h"
#include "peer_auth.h"

namespace bulwark::daemon {
namespace {

using gateway::Role;

TEST(LineFramer, SplitsAndKeepsPartialLines) {
  gateway::LineFramer f(16);
  ASSERT_TRUE(f.append("{\"a\":1}\n{\"b\""));
  EXPECT_EQ(f.next().value(), "{\"a\":1}");
  EXPECT_FALSE(f.next().has_value());
  ASSERT_TRUE(f.append(":2}\n"));
  EXPECT_EQ(f.next().value(), "{\"b\":2}");
}

TEST(LineFramer, RefusesOverlongLines) {
  gateway::LineFramer f(8);
  EXPECT_FALSE(f.append("0123456789"));
}

TEST(Protocol, OpsAndRoles) {
  EXPECT_EQ(gateway::parseOp("apply"), gateway::Op::Apply);
  EXPECT_FALSE(gateway::parseOp("flush").has_value());
  EXPECT_TRUE(gateway::opChanges(gateway::Op::Rollback));
  EXPECT_FALSE(gateway::opChanges(gateway::Op::History));
  auto e = gateway::errorReply(3, gateway::ErrorCode::InvalidPolicy, "bad", nlohmann::json::array({"a:1:2: error: x"}));
  EXPECT_EQ(e["error"]["code"], "invalid_policy");
  EXPECT_EQ(e["id"], 3);
  EXPECT_EQ(gateway::frame(nlohmann::json{{"x", "a\nb"}}).find('\n'), gateway::frame(nlohmann::json{{"x", "a\nb"}}).size() - 1);
}

TEST(PeerAuth, RoleFromCredentials) {
  AccessGroups g{true, 900, true, 901};
  EXPECT_EQ(roleFor(0, 0, {}, g), Role::Change);
  EXPECT_EQ(roleFor(1000, 1000, {900}, g), Role::Change);
  EXPECT_EQ(roleFor(1000, 901, {}, g), Role::View);
  EXPECT_EQ(roleFor(1000, 1000, {5, 901}, g), Role::View);
  EXPECT_EQ(roleFor(1000, 1000, {5}, g), Role::None);
  AccessGroups none;
  EXPECT_EQ(roleFor(1000, 0, {0}, none), Role::None);  // gid 0 is not the change group
}

TEST(Metrics, PerRuleAndZonePairDrops) {
  std::vector<firewall::RuleCounter> c{
      {"r_web", 0, "campus.yaml:78 public-web", 10, 1000},
      {"r_web", 1, "campus.yaml:78 public-web", 5, 500},
      {"app__db", 3, "bulwark: drop app>db", 7, 700},
  };
  ReconcilerStats s;
  s.appliesOk = 2;
  s.driftRepairs = 1;
  auto text = renderMetrics(c, s, 4, true, {12, 262144}, 0.01);
  EXPECT_NE(text.find("bulwark_rule_packets_total{rule=\"public-web\",origin=\"campus.yaml:78\"} 15\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_zone_drop_packets_total{from=\"app\",to=\"db\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_drift_repairs_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_confirm_pending 1\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_conntrack_limit 262144\n"), std::string::npos);
}

TEST(History, RecordsLoadsAndKeepsStatus) {
  auto dir = std::filesystem::temp_directory_path() / ("bulwarkd-history-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto h = History::open(dir);
    ASSERT_TRUE(h.ok());
    Revision r;
    r.hash = "abc";
    r.who = "alice (uid 1000)";
    r.status = "pending";
    r.sources = {{"p.yaml", "segments: []\n"}};
    auto n = h->record(r);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1);
    ASSERT_TRUE(h->setStatus(1, "rolled-back").ok());
  }
  auto h = History::open(dir);
  ASSERT_TRUE(h.ok());
  ASSERT_NE(h->latest(), nullptr);
  EXPECT_EQ(h->latest()->status, "rolled-back");
  auto full = h->load(1);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->sources.size(), 1u);
  EXPECT_EQ(full->sources[0].text, "segments: []\n");
  EXPECT_FALSE(h->load(2).ok());
  std::filesystem::remove_all(dir);
}

std::vector<char> message(std::uint16_t type, std::uint8_t family, const char* table) {
  std::vector<char> buf(512, 0);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  if (table) mnl_attr_put_strz(nlh, 1, table);
  return buf;
}

TEST(DriftWatch, FiltersOnTableInetBulwark) {
  EXPECT_TRUE(concernsBulwarkTable(message(NFT_MSG_NEWRULE, NFPROTO_INET, "bulwark").data()));
  EXPECT_TRUE(concernsBulwarkTable(message(NFT_MSG_DELTABLE, NFPROTO_INET, "bulwark").data()));
  EXPECT_FALSE(concernsBulwarkTable(message(NFT_MSG_NEWRULE, NFPROTO_INET, "other").data()));
  EXPECT_FALSE(concernsBulwarkTable(message(NFT_MSG_NEWRULE, NFPROTO_IPV4, "bulwark").data()));
  EXPECT_FALSE(concernsBulwarkTable(message(NFT_MSG_NEWGEN, NFPROTO_INET, nullptr).data()));
}

}  // namespace
}  // namespace bulwark::daemon
