// The firewall of an HA pair (policies/examples/campus-ha): VRRP and the state sync accepted
// on the sync link between the two nodes only, the stateful guards kept, SNAT to the
// floating uplink address; and what the offline evaluator (`why`) says about it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "bulwark/firewall/evaluator.h"
#include "bulwark/firewall/render.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

using testing::compileExample;

std::vector<std::string> rendered(const Chain& c) {
  std::vector<std::string> out;
  for (const auto& r : c.rules) out.push_back(renderRule(r));
  return out;
}

std::vector<std::string> matching(const std::vector<std::string>& lines, const std::string& what) {
  std::vector<std::string> out;
  std::copy_if(lines.begin(), lines.end(), std::back_inserter(out),
               [&](const std::string& l) { return l.find(what) != std::string::npos; });
  return out;
}

TEST(CompileHa, InputAcceptsVrrpAndStateSyncFromTheOtherNodeOnTheSyncLinkOnly) {
  auto c = compileExample("campus-ha");
  ASSERT_TRUE(c.result.ok());
  auto input = rendered(*c.result.ruleset.findChain("input"));
  auto ha = matching(input, "ha-");
  // (campus-ha's control API rules, "ha-control:", are the next test's.)
  ha.erase(std::remove_if(ha.begin(), ha.end(), [](const auto& l) { return l.find("ha-control:") != l.npos; }),
           ha.end());
  ASSERT_EQ(ha.size(), 4u) << ::testing::PrintToString(input);
  EXPECT_EQ(ha[0],
            "iifname \"eth2\" meta nfproto ipv4 ip saddr 10.255.0.2 ip daddr 10.255.0.1 meta l4proto 112 counter accept "
            "comment \"ha.yaml:33 ha-vrrp:edge1-b\"");
  EXPECT_EQ(ha[1],
            "iifname \"eth2\" meta nfproto ipv4 ip saddr 10.255.0.2 ip daddr 10.255.0.1 meta l4proto udp th dport 3780 "
            "counter accept comment \"ha.yaml:33 ha-conntrackd:edge1-b\"");
  EXPECT_NE(ha[2].find("ip saddr 10.255.0.1 ip daddr 10.255.0.2 meta l4proto 112"), std::string::npos);
  EXPECT_NE(ha[3].find("ip saddr 10.255.0.1 ip daddr 10.255.0.2 meta l4proto udp th dport 3780"), std::string::npos);
  // Before the drop at the end of the chain.
  auto pos = std::find(input.begin(), input.end(), ha[3]) - input.begin();
  EXPECT_EQ(input.size() - static_cast<std::size_t>(pos), 3u);
  // Nothing of it in a policy without ha.
  auto single = compileExample("campus.yaml");
  EXPECT_TRUE(matching(rendered(*single.result.ruleset.findChain("input")), "ha-").empty());
}

// campus-ha as shipped: gateway.control and each node's control address (the pair apply).
testing::Compiled compilePairWithControl() { return compileExample("campus-ha"); }

TEST(CompileHa, EachNodesControlApiIsOpenToTheOtherNodesControlAddressOnly) {
  auto c = compilePairWithControl();
  ASSERT_TRUE(c.result.ok());
  auto input = rendered(*c.result.ruleset.findChain("input"));
  auto peer = matching(input, "ha-control:");
  ASSERT_EQ(peer.size(), 2u) << ::testing::PrintToString(input);
  EXPECT_NE(peer[0].find("iifname \"eth1.99\" meta nfproto ipv4 ip saddr 10.99.0.3 ip daddr 10.99.0.2 meta l4proto tcp "
                         "th dport 9443 counter accept"),
            std::string::npos)
      << peer[0];
  EXPECT_NE(peer[0].find("ha-control:edge1-b"), std::string::npos);
  EXPECT_NE(peer[1].find("ip saddr 10.99.0.2 ip daddr 10.99.0.3 meta l4proto tcp th dport 9443"), std::string::npos);
  // What `why` says: the peer's node reaches this node's control port; another host on the
  // management segment does not (only the floating gateway.control address is open to it).
  auto routes = routesFromPolicy(c.policy);
  auto eval = [&](const char* src, const char* dst) {
    Packet p;
    p.iif = "eth1.99";
    p.src = *policies::IpAddress::parse(src);
    p.dst = *policies::IpAddress::parse(dst);
    p.proto = 6;
    p.dport = 9443;
    return evaluate(c.result.ruleset, routes, p);
  };
  auto fromPeer = eval("10.99.0.3", "10.99.0.2");
  EXPECT_TRUE(fromPeer.accepted && fromPeer.local) << fromPeer.decidingRule;
  EXPECT_EQ(fromPeer.decidedBy.what, "ha-control:edge1-b");
  EXPECT_FALSE(eval("10.99.0.10", "10.99.0.2").accepted);
}

TEST(CompileHa, NewMustBeSynAndInvalidDropAreKeptAndNothingRejectsAMidStreamPacket) {
  auto c = compileExample("campus-ha");
  auto pre = rendered(*c.result.ruleset.findChain("prerouting"));
  // A TCP packet without state that is not a SYN (one that arrives after the floating
  // addresses moved but before its connection's state) is dropped silently and retransmitted
  // by its sender once the state is there, never answered with a reset.
  EXPECT_EQ(matching(pre, "new-not-syn"),
            std::vector<std::string>{"meta l4proto tcp tcp flags & (fin | syn | rst | ack) != syn ct state new counter drop "
                                     "comment \"bulwark: new-not-syn\""});
  EXPECT_EQ(matching(pre, "bulwark: invalid").size(), 1u);
  EXPECT_EQ(matching(rendered(*c.result.ruleset.findChain("forward")), "bulwark: invalid").size(), 1u);
  EXPECT_EQ(matching(rendered(*c.result.ruleset.findChain("input")), "bulwark: invalid").size(), 1u);
  // The prerouting hook (filter, -150) runs before any chain that could reject.
  EXPECT_LT(c.result.ruleset.findChain("prerouting")->base->priority, c.result.ruleset.findChain("forward")->base->priority);
  for (const auto& line : pre) EXPECT_EQ(line.find("reject"), std::string::npos) << line;
}

TEST(CompileHa, MasqueradeBecomesTheFloatingUplinkAddress) {
  auto ha = rendered(*compileExample("campus-ha").result.ruleset.findChain("postrouting_nat"));
  ASSERT_EQ(ha.size(), 1u);
  EXPECT_NE(ha[0].find("snat ip to 198.51.100.1"), std::string::npos) << ha[0];
  EXPECT_EQ(ha[0].find("masquerade"), std::string::npos);
  auto single = rendered(*compileExample("campus.yaml").result.ruleset.findChain("postrouting_nat"));
  EXPECT_NE(single[0].find("masquerade"), std::string::npos);
}

TEST(CompileHa, TheEvaluatorAgrees) {
  auto c = compileExample("campus-ha");
  auto routes = routesFromPolicy(c.policy);
  auto ip = [](const char* s) { return *policies::IpAddress::parse(s); };
  auto eval = [&](const char* iif, const char* src, const char* dst, std::uint8_t proto, std::uint16_t port) {
    return evaluate(c.result.ruleset, routes, Packet{iif, ip(src), ip(dst), proto, port, false});
  };
  auto sync = eval("eth2", "10.255.0.2", "10.255.0.1", 17, 3780);
  EXPECT_TRUE(sync.accepted);
  EXPECT_TRUE(sync.local);
  EXPECT_EQ(sync.decidedBy.what, "ha-conntrackd:edge1-b");
  auto vrrp = eval("eth2", "10.255.0.1", "10.255.0.2", 112, 0);
  EXPECT_TRUE(vrrp.accepted);
  EXPECT_EQ(vrrp.decidedBy.what, "ha-vrrp:edge1-a");
  EXPECT_FALSE(eval("eth2", "10.255.0.1", "10.255.0.1", 112, 0).accepted);     // not from the other node
  EXPECT_FALSE(eval("eth0", "198.51.100.3", "198.51.100.2", 112, 0).accepted);  // not on the sync link
  EXPECT_FALSE(eval("eth1.20", "10.20.0.11", "10.255.0.1", 17, 3780).accepted);
  EXPECT_FALSE(eval("eth2", "10.255.0.2", "10.255.0.1", 6, 22).accepted);       // nothing else on it
  // The floating addresses and both nodes' own are the gateway's: ping to them is for it.
  for (const char* a : {"198.51.100.1", "10.20.0.1", "10.20.0.2", "10.20.0.3"}) {
    auto e = eval("eth1.20", "10.20.0.11", a, 1, 0);
    EXPECT_TRUE(e.local) << a;
    EXPECT_TRUE(e.accepted) << a;
  }
  // The VIP is DNATed before the gateway could take it as its own.
  auto vip = eval("eth0", "198.51.100.7", "203.0.113.10", 6, 443);
  EXPECT_TRUE(vip.accepted);
  EXPECT_FALSE(vip.local);
  ASSERT_TRUE(vip.dnatTo);
  EXPECT_EQ(vip.dnatTo->str(), "203.0.113.11");
}

}  // namespace
}  // namespace bulwark::firewall
