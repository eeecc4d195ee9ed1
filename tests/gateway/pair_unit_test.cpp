// One policy, both nodes (gateway/daemon/peer_link.h, pair_rules.h, pair_monitor.h): the pure
// rules of a pair apply, who may call the peer-* operations, the out-of-sync alert's timing,
// the pair's configuration from the policy, and one revision numbering on both nodes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"
#include "dispatch.h"
#include "history.h"
#include "pair_monitor.h"
#include "peer_link.h"
#include "request_args.h"
#include "tls_context.h"

namespace bulwark::daemon {
namespace {

using gateway::Role;

PeerConfig pairCfg() { return PeerConfig{"edge1-a", "edge1-b", "10.99.0.2", "10.99.0.3", 9443, "vpn.x", {}}; }

PairState state(int revision, const std::string& hash, int latest) { return PairState{revision, hash, latest, {}, ""}; }

TEST(PairRules, TheRevisionOfAPairApplyIsOneAboveBothHistories) {
  auto r = pairRevision(state(4, "aa", 6), state(4, "aa", 9), pairCfg(), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 10);
  r = pairRevision(state(4, "aa", 12), state(4, "aa", 9), pairCfg(), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 13);
}

TEST(PairRules, APeerAtAnotherRevisionOrHashRefusesUnlessResync) {
  auto r = pairRevision(state(4, "aa", 4), state(5, "bb", 5), pairCfg(), false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("out of sync: peer edge1-b (10.99.0.3:9443) runs revision 5"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("--resync-peer"), std::string::npos);
  EXPECT_FALSE(pairRevision(state(4, "aa", 4), state(4, "bb", 4), pairCfg(), false).ok());  // same number, other policy
  auto forced = pairRevision(state(4, "aa", 4), state(5, "bb", 5), pairCfg(), true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(*forced, 6);
}

TEST(PairRules, APendingApplyOnEitherNodeRefuses) {
  auto peer = state(4, "aa", 5);
  peer.pending = 5;
  auto r = pairRevision(state(4, "aa", 5), peer, pairCfg(), true);  // not even with resync
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("revision 5 awaiting confirmation"), std::string::npos) << r.error().message;
  auto mine = state(4, "aa", 5);
  mine.pending = 5;
  EXPECT_FALSE(pairRevision(mine, state(4, "aa", 5), pairCfg(), true).ok());
}

TEST(PairRules, PeerStatusRepliesAreCheckedField_by_field) {
  nlohmann::json ok{{"revision", 3}, {"latest", 4}, {"policy_hash", std::string(64, 'a')}, {"pending", nullptr},
                    {"role", "backup"}};
  auto s = pairStateOf(ok);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->revision, 3);
  EXPECT_EQ(s->latest, 4);
  EXPECT_FALSE(s->pending);
  EXPECT_EQ(pairStateOf(pairStateJson(*s)).value(), *s);  // round trip
  for (auto bad : {nlohmann::json{{"revision", -1}, {"latest", 4}, {"policy_hash", "a"}},
                   nlohmann::json{{"revision", 1}, {"latest", 4294967297LL}, {"policy_hash", "a"}},
                   nlohmann::json{{"revision", "1"}, {"latest", 4}, {"policy_hash", "a"}},
                   nlohmann::json{{"revision", 1}, {"latest", 4}, {"policy_hash", std::string(65, 'a')}},
                   nlohmann::json{{"revision", 1}, {"latest", 4}, {"policy_hash", "a"}, {"pending", "x"}},
                   nlohmann::json::array()}) {
    EXPECT_FALSE(pairStateOf(bad).ok()) << bad.dump();
  }
  // A role longer than any keepalived state is cut, not carried.
  ok["role"] = std::string(1000, 'x');
  EXPECT_EQ(pairStateOf(ok)->role.size(), 16u);
}

Peer peerOf(Role role, const std::string& cn, const std::string& group) {
  Peer p;
  p.tls = true;
  p.uid = static_cast<uid_t>(-1);
  p.role = role;
  p.certCn = cn;
  p.certGroup = group;
  p.address = "10.99.0.3:40000";
  return p;
}

TEST(PairRules, APeerRequestNamesItsNodeAndProtocol) {
  auto caller = peerOf(Role::Peer, "edge1-b", gateway::kPeerGroup);
  EXPECT_TRUE(checkPeerHeader({{"peer_protocol", gateway::kPeerProtocol}, {"node", "edge1-b"}}, caller).ok());
  auto other = checkPeerHeader({{"peer_protocol", 2}, {"node", "edge1-b"}}, caller);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("pair protocol 2"), std::string::npos);
  EXPECT_FALSE(checkPeerHeader({{"peer_protocol", gateway::kPeerProtocol}, {"node", "edge1-a"}}, caller).ok());
  EXPECT_FALSE(checkPeerHeader({{"node", "edge1-b"}}, caller).ok());
  EXPECT_FALSE(checkPeerHeader({{"peer_protocol", "1"}, {"node", "edge1-b"}}, caller).ok());
}

TEST(PairRoles, OnlyTheOtherNodesCertificateIsThePeer) {
  CertRoles roles{{"netops", std::string(gateway::kPeerGroup)}, {"dba"}, "edge1-b"};
  EXPECT_EQ(roleForCertificate(CertIdentity{"edge1-b", gateway::kPeerGroup, "01"}, roles), Role::Peer);
  // The node's own certificate, another name, or no pair: no role (a peer-group listed in
  // `change` grants nothing either).
  EXPECT_EQ(roleForCertificate(CertIdentity{"edge1-a", gateway::kPeerGroup, "02"}, roles), Role::None);
  roles.peerNode.clear();
  EXPECT_EQ(roleForCertificate(CertIdentity{"edge1-b", gateway::kPeerGroup, "01"}, roles), Role::None);
  EXPECT_EQ(roleForCertificate(CertIdentity{"alice", "netops", "03"}, roles), Role::Change);
}

TEST(PairRoles, PeerOpsAreThePeersAndOnlyThose) {
  int handled = 0;
  std::vector<std::string> denied;
  DispatchContext ctx;
  ctx.handler = [&](const Peer&, gateway::Request& req, Responder&) {
    ++handled;
    return std::optional<nlohmann::json>(gateway::okReply(req.id));
  };
  ctx.denied = [&](const Peer&, std::string_view what) { denied.emplace_back(what); };
  auto run = [&](const Peer& p, const char* line) { return dispatchLine(ctx, p, line, [](std::string) {}); };
  auto admin = peerOf(Role::Change, "alice", "netops");
  auto node = peerOf(Role::Peer, "edge1-b", gateway::kPeerGroup);
  auto d = run(admin, R"({"id":1,"op":"peer-apply","revision":2})");
  ASSERT_TRUE(d.reply);
  EXPECT_EQ((*d.reply)["error"]["code"], "denied");
  EXPECT_NE((*d.reply)["error"]["message"].get<std::string>().find("the HA pair's other node only"), std::string::npos);
  d = run(node, R"({"id":2,"op":"apply"})");
  EXPECT_EQ((*d.reply)["error"]["code"], "denied");
  d = run(node, R"({"id":3,"op":"status"})");
  EXPECT_EQ((*d.reply)["error"]["code"], "denied");
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(denied, (std::vector<std::string>{"peer-apply", "apply", "status"}));
  d = run(node, R"({"id":4,"op":"peer-status"})");
  EXPECT_TRUE((*d.reply)["ok"].get<bool>());
  EXPECT_EQ(handled, 1);
}

TEST(PairSync, AnAlertNeedsTwoChecksInARowAndEndsOnce) {
  PairSyncTracker t;
  const auto mine = state(4, "aa", 4);
  using C = PairSyncTracker::Change;
  EXPECT_EQ(t.observe(mine, state(4, "aa", 4)), C::None);
  EXPECT_TRUE(t.inSync());
  EXPECT_EQ(t.observe(mine, state(5, "bb", 5)), C::None);  // a pair apply in flight looks like this
  EXPECT_FALSE(t.inSync());
  EXPECT_EQ(t.observe(mine, state(4, "aa", 4)), C::None);  // ... and was
  EXPECT_EQ(t.observe(mine, state(5, "bb", 5)), C::None);
  EXPECT_EQ(t.observe(mine, gateway::Result<PairState>(gateway::Error{"peer unreachable"})), C::OutOfSync);
  EXPECT_EQ(t.reason(), "peer unreachable");
  EXPECT_EQ(t.observe(mine, state(5, "bb", 5)), C::None);  // said once
  EXPECT_NE(t.reason().find("peer at revision 5"), std::string::npos);
  EXPECT_EQ(t.observe(mine, state(4, "aa", 4)), C::BackInSync);
  EXPECT_EQ(t.observe(mine, state(4, "aa", 4)), C::None);
  EXPECT_EQ(t.alerts(), 1u);
}

TEST(PairArgs, FlagsAreBooleans) {
  auto parsed = gateway::parseRequest(R"({"id":1,"op":"apply","local_only":true,"resync_peer":"yes"})");
  ASSERT_TRUE(parsed.request);
  EXPECT_TRUE(flagArg(*parsed.request, "local_only").value());
  EXPECT_FALSE(flagArg(*parsed.request, "resync_peer").ok());
  EXPECT_FALSE(flagArg(*parsed.request, "absent").value());
}

TEST(PairHistory, APairRevisionKeepsItsNumberAndNeverReusesOne) {
  auto dir = std::filesystem::temp_directory_path() / ("bulwarkd-pair-history-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto h = History::open(dir);
    ASSERT_TRUE(h.ok());
    Revision r;
    r.hash = "abc";
    EXPECT_EQ(h->record(r).value(), 1);
    EXPECT_EQ(h->record(r, 5).value(), 5);  // the pair's number: a gap here is fine
    EXPECT_FALSE(h->record(r, 5).ok());     // taken
    EXPECT_FALSE(h->record(r, 3).ok());     // below the latest
    EXPECT_EQ(h->record(r).value(), 6);
  }
  auto h = History::open(dir);  // the gap survives a restart
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->latest()->number, 6);
  EXPECT_TRUE(h->load(5).ok());
  std::filesystem::remove_all(dir);
}

std::string example(const std::string& file) {
  std::ifstream in(std::string(BULWARK_EXAMPLES_DIR) + "/campus-ha/" + file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `text` without the lines that hold `needle`, and without comment-only and blank lines.
std::string withoutLines(const std::string& text, const std::string& needle) {
  std::string out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    const auto first = l.find_first_not_of(' ');
    if (first == std::string::npos || l[first] == '#' || l.find(needle) != std::string::npos) continue;
    out += l + "\n";
  }
  return out;
}

// campus-ha as shipped (with the pair's control addresses), or without them.
policies::Policy pairPolicy(bool withControl) {
  auto campus = example("campus.yaml");
  auto ha = example("ha.yaml");
  if (!withControl) {
    campus = withoutLines(campus, "  control: {");
    ha = withoutLines(ha, "      control: ");
  }
  auto loaded = policies::loadPolicy(std::vector<policies::Source>{{"campus.yaml", campus}, {"ha.yaml", ha}});
  policies::validatePolicy(loaded.policy, loaded.diagnostics);
  EXPECT_FALSE(loaded.diagnostics.hasErrors());
  return std::move(loaded.policy);
}

// campus-ha/campus.yaml is a copy of campus.yaml (gateway may stand in one file only, and the
// pair's gateway.control belongs in campus-ha itself): the copy must not drift from it.
TEST(PairConfig, CampusHaIsCampusPlusGatewayControl) {
  std::ifstream in(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  const std::string campus(std::istreambuf_iterator<char>(in), {});
  const auto pair = example("campus.yaml");
  ASSERT_NE(pair.find("  control: {"), std::string::npos);
  EXPECT_EQ(withoutLines(campus, "  control: {"), withoutLines(pair, "  control: {"));
}

TEST(PairConfig, FromTheNodesControlAddressesAndGatewayControl) {
  const auto files = peerFilesOf("/var/lib/bulwark/pki", "edge1-b");
  EXPECT_EQ(files.cert, "/var/lib/bulwark/pki/issued/edge1-b/edge1-b.crt");
  EXPECT_EQ(files.key, "/var/lib/bulwark/pki/issued/edge1-b/edge1-b.key");
  auto p = pairPolicy(true);
  auto c = peerConfigOf(p, "edge1-b", files);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  const auto& cfg = **c;
  EXPECT_EQ(cfg.peer, "edge1-a");
  EXPECT_EQ(cfg.ownAddress, "10.99.0.3");
  EXPECT_EQ(cfg.peerAddress, "10.99.0.2");
  EXPECT_EQ(cfg.port, 9443);
  EXPECT_EQ(cfg.serverName, "vpn.campus.example.edu");  // the gateway certificate's name
  EXPECT_EQ(cfg.describe(), "edge1-a (10.99.0.2:9443)");
  auto stranger = peerConfigOf(p, "edge9", files);
  ASSERT_FALSE(stranger.ok());
  EXPECT_NE(stranger.error().message.find("'edge9'"), std::string::npos);
  // Without control addresses: no pair operations (each node applied on its own).
  auto none = peerConfigOf(pairPolicy(false), "edge1-a", files);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace bulwark::daemon
