// The `ha:` section: what it loads to, what floats by default, and every diagnostic of the
// loader and the validator exactly as `bulwarkctl validate` prints it.
#include <gtest/gtest.h>

#include "bulwark/policies/formatter.h"
#include "bulwark/policies/ha.h"
#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::diags;
using test::Lines;

// A small pair: an uplink, two segments, a dedicated sync interface. `ha` is appended.
constexpr std::string_view kBase = R"(gateway: { uplink: eth0 }
segments:
  - { name: app, interface: eth1, ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 } }
  - name: mgmt
    interface: eth3
    ipv4: { subnet: 10.99.0.0/24, gateway: 10.99.0.1 }
    ipv6: { subnet: 2001:db8:99::/64, gateway: 2001:db8:99::1 }
hosts:
  - { name: web1, segment: app, addresses: [10.20.0.11] }
)";

constexpr std::string_view kPair = R"(ha:
  nodes:
    - name: a
      uplink: 198.51.100.2/24
      sync: 10.255.0.1/30
      segments: { app: 10.20.0.2, mgmt: [10.99.0.2, 2001:db8:99::2] }
    - name: b
      uplink: 198.51.100.3/24
      sync: 10.255.0.2/30
      segments: { app: 10.20.0.3, mgmt: [10.99.0.3, 2001:db8:99::3] }
  uplink: 198.51.100.1/24
  sync: { interface: eth2 }
  vrrp: { id: 51, advert: 0.1 }
)";

std::string policy(std::string_view ha) { return std::string(kBase) + std::string(ha); }

// kPair with one line replaced (the test names what it changes).
std::string pairWith(std::string_view from, std::string_view to) {
  std::string s(kPair);
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return policy(s);
}

std::vector<std::string> strs(const std::vector<FloatingAddress>& v) {
  std::vector<std::string> out;
  for (const auto& f : v) out.push_back(f.address.str() + " " + f.interface + " " + f.segment + " (" + f.origin + ")");
  return out;
}

TEST(Ha, LoadsAndDerivesWhatFloats) {
  auto r = test::loadValid(policy(kPair));
  ASSERT_TRUE(r.policy.ha);
  const auto& ha = *r.policy.ha;
  ASSERT_EQ(ha.nodes.size(), 2u);
  EXPECT_EQ(ha.nodes[0].name, "a");
  EXPECT_EQ(ha.nodes[0].uplink[0].str(), "198.51.100.2/24");
  EXPECT_EQ(ha.advertCentis, 10);
  EXPECT_EQ(ha.vrrpId, 51);
  EXPECT_EQ(ha.failback, HaFailback::NoPreempt);
  EXPECT_EQ(strs(floatingAddresses(r.policy)),
            (Lines{"198.51.100.1/24 eth0  (ha.uplink)", "10.20.0.1/24 eth1 app (gateway of segment 'app')",
                   "10.99.0.1/24 eth3 mgmt (gateway of segment 'mgmt')",
                   "2001:db8:99::1/64 eth3 mgmt (gateway of segment 'mgmt')"}));
  EXPECT_EQ(floatingInterfaces(r.policy), (Lines{"eth0", "eth1", "eth3"}));
  EXPECT_EQ(haSyncInterface(r.policy), "eth2");
  ASSERT_TRUE(haSyncAddress(r.policy, ha.nodes[1]));
  EXPECT_EQ(haSyncAddress(r.policy, ha.nodes[1])->str(), "10.255.0.2");
  EXPECT_EQ(haPeer(ha, ha.nodes[0]), &ha.nodes[1]);
  Lines own;
  for (const auto& a : nodeAddresses(r.policy, ha.nodes[0])) own.push_back(a.address.str() + " " + a.interface);
  EXPECT_EQ(own, (Lines{"198.51.100.2/24 eth0", "10.20.0.2/24 eth1", "10.99.0.2/24 eth3", "2001:db8:99::2/64 eth3",
                        "10.255.0.1/30 eth2"}));
}

TEST(Ha, DnatVipsFloatOnTheUplinkOnce) {
  auto text = std::string(kBase) + R"(services: [{ name: http, ports: [tcp/80] }]
rules: [{ name: in, from: internet, to: web1, services: [http], action: allow }]
nat:
  dnat:
    - { name: v1, vip: 203.0.113.10, service: http, to: web1 }
    - { name: v2, vip: 203.0.113.10, service: tcp/8080, to: web1, port: 80 }
)" + std::string(kPair);
  auto r = test::loadValid(text);
  auto f = strs(floatingAddresses(r.policy));
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f.back(), "203.0.113.10/32 eth0  (VIP of dnat 'v1')");
}

TEST(Ha, ListedFloatingReplacesTheDerivedOnes) {
  auto r = test::loadValid(policy(std::string(kPair) + R"(  floating:
    - { address: 198.51.100.1/24, uplink: true }
    - { address: 10.20.0.1, segment: app }
    - { address: 10.99.0.1, segment: mgmt }
    - { address: 2001:db8:99::1, segment: mgmt }
)"));
  EXPECT_EQ(strs(floatingAddresses(r.policy)),
            (Lines{"198.51.100.1/24 eth0  (ha.floating)", "10.20.0.1/24 eth1 app (ha.floating)",
                   "10.99.0.1/24 eth3 mgmt (ha.floating)", "2001:db8:99::1/64 eth3 mgmt (ha.floating)"}));
}

TEST(Ha, SyncOverASegment) {
  auto text = std::string(kBase) + R"(  - { name: hasync, interface: eth2, ipv4: { subnet: 10.255.0.0/30 } }
ha:
  nodes:
    - { name: a, uplink: 198.51.100.2/24, segments: { app: 10.20.0.2, mgmt: [10.99.0.2, 2001:db8:99::2], hasync: 10.255.0.1 } }
    - { name: b, uplink: 198.51.100.3/24, segments: { app: 10.20.0.3, mgmt: [10.99.0.3, 2001:db8:99::3], hasync: 10.255.0.2 } }
  uplink: 198.51.100.1/24
  sync: { segment: hasync }
)";
  // the sync segment goes in front of `hosts:`
  auto at = text.find("hosts:");
  auto seg = text.find("  - { name: hasync");
  text = text.substr(0, at) + text.substr(seg, text.find('\n', seg) + 1 - seg) + text.substr(at, seg - at) +
         text.substr(text.find('\n', seg) + 1);
  auto r = test::loadValid(text);
  EXPECT_EQ(haSyncInterface(r.policy), "eth2");
  ASSERT_TRUE(haSyncAddress(r.policy, r.policy.ha->nodes[0]));
  EXPECT_EQ(haSyncAddress(r.policy, r.policy.ha->nodes[0])->str(), "10.255.0.1");
}

// ---- loader ---------------------------------------------------------------------------------
TEST(HaLoader, AddressesOnTheUplinkNeedTheirLength) {
  EXPECT_EQ(test::loadDiags(pairWith("uplink: 198.51.100.2/24", "uplink: 198.51.100.2")),
            (Lines{"t.yaml:13:15: error: '198.51.100.2' needs its prefix length\n"
                   "  hint: write it as 198.51.100.2/24 with the length of the subnet it sits on"}));
  EXPECT_EQ(test::loadDiags(pairWith("uplink: 198.51.100.1/24", "uplink: 198.51.100.1/33")),
            (Lines{"t.yaml:20:11: error: invalid interface address '198.51.100.1/33'\n"
                   "  hint: write it as address/length, e.g. 198.51.100.2/24"}));
}

TEST(HaLoader, BadValues) {
  EXPECT_EQ(test::loadDiags(pairWith("advert: 0.1", "advert: 0.125")),
            (Lines{"t.yaml:22:27: error: 'advert' must be a number of seconds from 0.01 to 40.95 with at most two "
                   "decimals, got '0.125'\n"
                   "  hint: VRRPv3 counts the advert interval in centiseconds, e.g. 0.1 or 1"}));
  EXPECT_EQ(test::loadDiags(pairWith("id: 51", "id: 300")),
            (Lines{"t.yaml:22:15: error: 'id' 300 is out of range (1-255)"}));
  EXPECT_EQ(test::loadDiags(policy(std::string(kPair) + "  failback: sometimes\n")),
            (Lines{"t.yaml:23:13: error: 'failback' must be nopreempt or preempt, got 'sometimes'"}));
  EXPECT_EQ(test::loadDiags(pairWith("segments: { app: 10.20.0.2,", "segments: { app: 10.20.0.2/24,")),
            (Lines{"t.yaml:15:24: error: invalid IP address '10.20.0.2/24'\n"
                   "  hint: a node's segment addresses take the segment's prefix length: write them without one"}));
}

TEST(HaLoader, TheSyncLinkIsOneInterfaceOrOneSegment) {
  EXPECT_EQ(test::loadDiags(pairWith("sync: { interface: eth2 }", "sync: {}")),
            (Lines{"t.yaml:21:9: error: 'sync' names no link\n"
                   "  hint: give the dedicated sync 'interface' (e.g. eth2) or the 'segment' the nodes sync over"}));
  EXPECT_EQ(test::loadDiags(pairWith("sync: { interface: eth2 }", "sync: { interface: eth2, segment: app }")),
            (Lines{"t.yaml:21:28: error: 'sync' gives both an interface and a segment\n"
                   "  hint: the state sync runs over one link: keep one of them"}));
  EXPECT_EQ(test::loadDiags(pairWith("sync: { interface: eth2 }", "sync: { interface: eth/2 }")),
            (Lines{"t.yaml:21:22: error: invalid interface name 'eth/2'\n"
                   "  hint: Linux interface names have 1-15 characters, without '/', ':' or spaces"}));
}

TEST(HaLoader, FloatingEntries) {
  EXPECT_EQ(test::loadDiags(policy(std::string(kPair) + R"(  floating:
    - { address: 10.20.0.1 }
    - { address: 10.20.0.1, segment: app, uplink: true }
    - { address: 198.51.100.1/24, uplink: false }
)")),
            (Lines{"t.yaml:24:7: error: a floating address needs exactly one of 'segment' and 'uplink'\n"
                   "  hint: name the segment it floats on, or write 'uplink: true'",
                   "t.yaml:25:7: error: a floating address needs exactly one of 'segment' and 'uplink'\n"
                   "  hint: name the segment it floats on, or write 'uplink: true'",
                   "t.yaml:26:43: error: 'uplink: false' says nothing\n"
                   "  hint: write 'uplink: true', or name the 'segment' the address floats on"}));
}

TEST(HaLoader, IsGivenOnce) {
  auto r = loadPolicy(std::vector<Source>{{"a.yaml", policy(kPair)}, {"b.yaml", std::string(kPair)}});
  EXPECT_EQ(test::strs(r.diagnostics), (Lines{"b.yaml:1:1: error: 'ha' is given more than once\n"
                                              "  hint: first given at a.yaml:10:1; keep it in one file"}));
}

// ---- validator ------------------------------------------------------------------------------
TEST(HaValidator, ExactlyTwoNodesWithDistinctNames) {
  auto one = policy(R"(ha:
  nodes:
    - { name: a, uplink: 198.51.100.2/24, sync: 10.255.0.1/30, segments: { app: 10.20.0.2, mgmt: [10.99.0.2, 2001:db8:99::2] } }
  uplink: 198.51.100.1/24
  sync: { interface: eth2 }
)");
  EXPECT_EQ(diags(one), (Lines{"t.yaml:12:5: error: an HA pair has exactly two nodes, got 1\n"
                               "  hint: list this gateway and its peer under 'nodes'"}));
  EXPECT_EQ(diags(pairWith("name: b", "name: a")),
            (Lines{"t.yaml:16:13: error: duplicate node name 'a': already used at t.yaml:12:13"}));
}

TEST(HaValidator, NodeAddressesOnTheSegments) {
  EXPECT_EQ(diags(pairWith("segments: { app: 10.20.0.3,", "segments: { app: 10.21.0.3, web: 10.20.0.5, apps: 10.20.0.6,")),
            (Lines{"t.yaml:16:13: error: node 'b' has no IPv4 address of its own on segment 'app', where 10.20.0.1 floats\n"
                   "  hint: give it one in 10.20.0.0/24 under 'segments: { app: ... }'",
                   "t.yaml:19:24: error: address 10.21.0.3 of node 'b' is outside its segment 'app' (10.20.0.0/24)",
                   "t.yaml:19:35: error: unknown segment 'web'",
                   "t.yaml:19:51: error: unknown segment 'apps'\n  hint: did you mean 'app'?"}));
}

TEST(HaValidator, AMissingPeerAddress) {
  EXPECT_EQ(diags(pairWith("mgmt: [10.99.0.3, 2001:db8:99::3]", "mgmt: 10.99.0.3")),
            (Lines{"t.yaml:16:13: error: node 'b' has no IPv6 address of its own on segment 'mgmt', where "
                   "2001:db8:99::1 floats\n"
                   "  hint: give it one in 2001:db8:99::/64 under 'segments: { mgmt: ... }'"}));
  EXPECT_EQ(diags(pairWith("uplink: 198.51.100.3/24", "uplink: 2001:db8:ffff::3/64")),
            (Lines{"t.yaml:16:13: error: node 'b' has no IPv4 address of its own on the uplink, where 198.51.100.1 "
                   "floats\n"
                   "  hint: give it one in 198.51.100.0/24 under 'uplink'"}));
}

TEST(HaValidator, AFloatingAddressIsNoNodesAddress) {
  EXPECT_EQ(diags(pairWith("segments: { app: 10.20.0.2,", "segments: { app: 10.20.0.1,")),
            (Lines{"t.yaml:15:24: error: address 10.20.0.1 of node 'a' is also a floating address (gateway of "
                   "segment 'app' at t.yaml:3:41)\n"
                   "  hint: a node's own address and the address that moves between the nodes must differ"}));
}

TEST(HaValidator, DuplicateAndHostAddresses) {
  EXPECT_EQ(diags(pairWith("segments: { app: 10.20.0.3,", "segments: { app: [10.20.0.2, 10.20.0.11],")),
            (Lines{"t.yaml:19:25: error: address 10.20.0.2 of node 'b' is also node 'a''s at t.yaml:15:24",
                   "t.yaml:19:36: error: address 10.20.0.11 of node 'b' is host 'web1''s address"}));
}

TEST(HaValidator, TheSyncLink) {
  EXPECT_EQ(diags(pairWith("sync: { interface: eth2 }", "sync: { interface: eth0 }")),
            (Lines{"t.yaml:21:22: error: the sync interface 'eth0' is the gateway's uplink\n"
                   "  hint: the state sync and the VRRP adverts need a link of their own (or a segment: 'segment: "
                   "NAME')"}));
  EXPECT_EQ(diags(pairWith("sync: { interface: eth2 }", "sync: { interface: eth1 }")),
            (Lines{"t.yaml:21:22: error: the sync interface 'eth1' is segment 'app''s interface\n"
                   "  hint: to sync over that segment, write 'sync: { segment: app }'"}));
  EXPECT_EQ(diags(pairWith("sync: { interface: eth2 }", "sync: { segment: ap }")),
            (Lines{"t.yaml:21:20: error: unknown segment 'ap'\n  hint: did you mean 'app'?"}));
  EXPECT_EQ(diags(pairWith("sync: 10.255.0.2/30", "sync: 10.255.0.6/30")),
            (Lines{"t.yaml:18:13: error: the sync address 10.255.0.6/30 of node 'b' is not on the same subnet as "
                   "node 'a''s 10.255.0.1/30\n"
                   "  hint: the nodes reach each other directly on the sync link: one subnet, the same length"}));
  EXPECT_EQ(diags(pairWith("      sync: 10.255.0.2/30\n", "")),
            (Lines{"t.yaml:16:13: error: node 'b' has no 'sync' address on the sync interface 'eth2'\n"
                   "  hint: give it one with its prefix length, e.g. 'sync: 10.255.0.1/30'"}));
  EXPECT_EQ(diags(pairWith("sync: 10.255.0.2/30", "sync: fd00::2/64")),
            (Lines{"t.yaml:18:13: error: the sync address fd00::2/64 of node 'b' is not IPv4\n"
                   "  hint: keepalived sends its VRRP adverts and conntrackd its state to the peer over IPv4"}));
}

TEST(HaValidator, VrrpIdsAndFailback) {
  EXPECT_EQ(diags(pairWith("id: 51", "id: 254")),
            (Lines{"t.yaml:22:15: error: VRRP ids 254-256 (one per interface with a floating address) go past 255\n"
                   "  hint: start at 253 or lower"}));
  EXPECT_EQ(diags(policy(std::string(kPair) + "  failback: preempt\n")),
            (Lines{"t.yaml:23:13: error: plain 'preempt' with 0.1 s adverts takes over before conntrackd has resent "
                   "the connection state\n"
                   "  hint: the returning node would commit an empty table and drop every established connection: use "
                   "'preempt_delay: 5' (or more), or 'failback: nopreempt'"}));
  EXPECT_EQ(diags(policy(std::string(kPair) + "  failback: preempt\n  preempt_delay: 3\n")),
            (Lines{"t.yaml:24:18: error: preempt_delay 3 s is shorter than 5 s\n"
                   "  hint: a returning node must wait until conntrackd has resent the connection state, or it takes "
                   "over with an empty table and drops every established connection"}));
  EXPECT_EQ(diags(policy(std::string(kPair) + "  preempt_delay: 10\n")),
            (Lines{"t.yaml:23:18: error: 'preempt_delay' needs 'failback: preempt'\n"
                   "  hint: with the default 'failback: nopreempt' a returning node stays standby"}));
  EXPECT_EQ(diags(policy(std::string(kPair) + "  failback: preempt\n  preempt_delay: 5\n")), Lines{});
  EXPECT_EQ(diags(pairWith("advert: 0.1", "advert: 2") + "  failback: preempt\n"), Lines{});
}

TEST(HaValidator, ListedFloatingAddresses) {
  EXPECT_EQ(diags(policy(std::string(kPair) + R"(  floating:
    - { address: 198.51.100.1/24, uplink: true }
    - { address: 10.30.0.1, segment: app }
    - { address: 10.20.0.11, segment: app }
    - { address: 198.51.100.1, uplink: true }
)")),
            (Lines{"t.yaml:3:41: warning: gateway address 10.20.0.1 of segment 'app' does not float: after a failover "
                   "its hosts have no gateway\n"
                   "  hint: add '{ address: 10.20.0.1, segment: app }' to 'ha.floating'",
                   "t.yaml:6:11: warning: gateway address 10.99.0.1 of segment 'mgmt' does not float: after a failover "
                   "its hosts have no gateway\n"
                   "  hint: add '{ address: 10.99.0.1, segment: mgmt }' to 'ha.floating'",
                   "t.yaml:7:11: warning: gateway address 2001:db8:99::1 of segment 'mgmt' does not float: after a "
                   "failover its hosts have no gateway\n"
                   "  hint: add '{ address: 2001:db8:99::1, segment: mgmt }' to 'ha.floating'",
                   "t.yaml:25:18: error: floating address 10.30.0.1 is outside segment 'app' (10.20.0.0/24)",
                   "t.yaml:26:7: error: floating address 10.20.0.11 is host 'web1''s address\n"
                   "  hint: a floating address belongs to whichever node is active, never to a server",
                   "t.yaml:27:7: error: address 198.51.100.1 floats twice: also as ha.floating at t.yaml:24:7"}));
}

TEST(HaValidator, ControlAddress) {
  EXPECT_EQ(diags(pairWith("      sync: 10.255.0.1/30\n", "      sync: 10.255.0.1/30\n      control: 10.99.0.2\n")),
            (Lines{"t.yaml:15:16: error: node 'a' has a 'control' address but the gateway has no 'control'\n"
                   "  hint: the nodes reach each other's control API with the settings of 'gateway.control'"}));
}

TEST(HaValidator, ControlAddressOnBothNodesOrNeither) {
  std::string pair(kPair);
  pair.replace(pair.find("      sync: 10.255.0.1/30\n"), 26, "      sync: 10.255.0.1/30\n      control: 10.99.0.2\n");
  std::string p = policy(pair);
  p.replace(p.find("gateway: { uplink: eth0 }"), 25,
            "gateway: { uplink: eth0, control: { listen: 10.99.0.1, change: [netops] } }");
  EXPECT_EQ(diags(p), (Lines{"t.yaml:17:7: error: node 'b' has no 'control' address but node 'a' has one "
                             "(t.yaml:15:16)\n"
                             "  hint: give both nodes a 'control' address (pair applies reach the peer there) or "
                             "neither"}));
  auto both = p;
  both.replace(both.find("      sync: 10.255.0.2/30\n"), 26, "      sync: 10.255.0.2/30\n      control: 10.99.0.3\n");
  EXPECT_EQ(diags(both), Lines{});
}

TEST(HaFormat, CanonicalKeyOrder) {
  auto f = formatPolicyText(R"(ha:
  failback: nopreempt
  vrrp: { advert: 0.1, id: 51 }
  sync: { interface: eth2 }
  floating:
    - segment: app
      address: 10.20.0.1
  nodes:
    - segments: { app: 10.20.0.2 }
      uplink: 198.51.100.2/24
      name: a
)",
                            "t.yaml");
  EXPECT_EQ(test::strs(f.diagnostics), Lines{});
  EXPECT_EQ(f.text, R"(ha:
  nodes:
    - name: a
      uplink: 198.51.100.2/24
      segments: { app: 10.20.0.2 }
  sync: { interface: eth2 }
  vrrp: { id: 51, advert: 0.1 }
  failback: nopreempt
  floating:
    - { address: 10.20.0.1, segment: app }
)");
}

}  // namespace
}  // namespace bulwark::policies
