// desiredLinks and diff over hand-built kernel states (no sockets, no root).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bulwark/policies/loader.h"
#include "bulwark/vlan/links.h"
#include "fake_kernel.h"

namespace bulwark::vlan {
namespace {

using test::canon;
using test::findLink;
using test::simulate;

policies::Policy load(const std::string& text) {
  auto r = policies::loadPolicyText(text, "t.yaml");
  EXPECT_TRUE(r.ok()) << (r.diagnostics.items().empty() ? "" : r.diagnostics.items()[0].str());
  return r.policy;
}

policies::Policy campus() {
  auto r = policies::loadPolicy(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  EXPECT_TRUE(r.ok());
  return r.policy;
}

const char* kTwoVlans = R"(gateway: { name: gw, uplink: eth0, trunk: eth1 }
segments:
  - name: app
    vlan: 20
    ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 }
    ipv6: { subnet: 2001:db8:20::/64, gateway: 2001:db8:20::1 }
  - name: db
    vlan: 30
    ipv4: { subnet: 10.30.0.0/24, gateway: 10.30.0.1 }
    mtu: 9000
)";

const char* kPlain = R"(gateway: { name: gw, uplink: eth0 }
segments:
  - name: lan
    interface: veth-lan
    ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1 }
    mtu: 1400
)";

ObservedLink link(int index, std::string name, std::uint32_t mtu = 1500, bool up = true) {
  ObservedLink l;
  l.index = index;
  l.name = std::move(name);
  l.mtu = mtu;
  l.up = up;
  return l;
}

ObservedState hostWithTrunk(std::uint32_t trunkMtu = 9000) {
  ObservedState st;
  st.links = {link(1, "lo", 65536), link(2, "eth0"), link(3, "eth1", trunkMtu)};
  for (int i = 1; i <= 3; ++i) {
    st.conf.emplace_back(i, LinkConf{0, 0, 0});
  }
  return st;
}

Address addr(const char* ip, int len) { return Address{*policies::IpAddress::parse(ip), len}; }

std::vector<std::string> descriptions(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) {
    out.push_back(op.description());
  }
  return out;
}

// Applies ops to the fake kernel, checking each is accepted.
void applyAll(ObservedState& st, const std::vector<Op>& ops) {
  for (const auto& op : ops) {
    ASSERT_TRUE(simulate(st, op)) << op.description();
  }
}

// Every op's undo, applied newest first, restores the state before the run.
void expectUndoRestores(const ObservedState& before, const std::vector<Op>& ops) {
  ObservedState st = before;
  applyAll(st, ops);
  for (std::size_t j = ops.size(); j-- > 0;) {
    for (const auto& u : ops[j].undo) {
      ASSERT_TRUE(simulate(st, u)) << "undo of " << ops[j].description() << ": " << u.description();
    }
  }
  EXPECT_EQ(canon(st), canon(before));
}

// ---- desiredLinks ----------------------------------------------------------------------------
TEST(DesiredLinks, CampusHasOneVlanPerSegmentWithGatewayAddresses) {
  auto set = desiredLinks(campus());
  EXPECT_TRUE(set.problems.empty());
  EXPECT_EQ(set.trunk, "eth1");
  ASSERT_EQ(set.links.size(), 5u);
  const auto& pub = set.links[0];
  EXPECT_EQ(pub.segment, "public");
  EXPECT_EQ(pub.name, "eth1.10");
  EXPECT_EQ(pub.kind, LinkKind::Vlan);
  EXPECT_EQ(pub.parent, "eth1");
  EXPECT_EQ(pub.vlanId, 10);
  EXPECT_EQ(pub.mtu, 1500u);
  EXPECT_TRUE(pub.ipv6);
  EXPECT_TRUE(pub.where.str().ends_with("campus.yaml:18:11")) << pub.where.str();
  ASSERT_EQ(pub.addresses.size(), 2u);
  EXPECT_EQ(pub.addresses[0].str(), "203.0.113.1/27");
  EXPECT_EQ(pub.addresses[1].str(), "2001:db8:10::1/64");
  EXPECT_EQ(set.links[3].name, "eth1.40");
  EXPECT_EQ(set.links[3].mtu, 9000u);
  EXPECT_EQ(set.links[4].name, "eth1.99");
  EXPECT_FALSE(set.links[4].ipv6);
}

TEST(DesiredLinks, PlainInterfaceSegment) {
  auto set = desiredLinks(load(kPlain));
  ASSERT_EQ(set.links.size(), 1u);
  EXPECT_EQ(set.links[0].kind, LinkKind::Existing);
  EXPECT_EQ(set.links[0].name, "veth-lan");
  EXPECT_EQ(set.links[0].mtu, 1400u);
  EXPECT_EQ(set.links[0].where.str(), "t.yaml:4:16");
}

TEST(DesiredLinks, VlanWithoutTrunkIsAProblem) {
  auto set = desiredLinks(load("gateway: { name: gw, uplink: eth0 }\nsegments:\n  - name: a\n    vlan: 5\n"
                               "    ipv4: { subnet: 10.5.0.0/24, gateway: 10.5.0.1 }\n"));
  ASSERT_EQ(set.problems.size(), 1u);
  EXPECT_EQ(set.problems[0], "t.yaml:4:11: segment 'a' has VLAN 5 but the gateway names no trunk");
  auto ops = diff(set, hostWithTrunk());
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.error().code, Error::Code::InvalidPolicy);
}

TEST(DesiredLinks, SysctlsAreForwardingAndLooseRpFilter) {
  auto set = desiredLinks(load(kTwoVlans));
  auto s = linkSysctls(set.links[0]);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], (std::pair<std::string, std::string>{"net/ipv4/conf/eth1.20/forwarding", "1"}));
  EXPECT_EQ(s[1], (std::pair<std::string, std::string>{"net/ipv4/conf/eth1.20/rp_filter", "2"}));
  EXPECT_EQ(s[2], (std::pair<std::string, std::string>{"net/ipv6/conf/eth1.20/forwarding", "1"}));
  EXPECT_EQ(linkSysctls(set.links[1]).size(), 2u);  // no IPv6 on db
}

// ---- marks -----------------------------------------------------------------------------------
TEST(Marks, RoundTrip) {
  Mark m{"lan", true, {addr("10.1.0.1", 24), addr("2001:db8::1", 64)}};
  EXPECT_EQ(formatMark(m), "bulwark:lan adopted 10.1.0.1/24 2001:db8::1/64");
  auto back = parseMark(formatMark(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->segment, "lan");
  EXPECT_TRUE(back->adopted);
  EXPECT_EQ(back->recorded, m.recorded);
  EXPECT_EQ(formatMark(Mark{"app", false, {}}), "bulwark:app");
  EXPECT_FALSE(parseMark(""));
  EXPECT_FALSE(parseMark("uplink to core"));
  EXPECT_FALSE(parseMark("bulwark:"));
  EXPECT_FALSE(parseMark("Bulwark:app"));
}

// ---- diff ------------------------------------------------------------------------------------
TEST(Diff, FromNothingCreatesThenConfiguresInOrder) {
  auto set = desiredLinks(load(kTwoVlans));
  auto ops = diff(set, hostWithTrunk());
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_EQ(descriptions(*ops),
            (std::vector<std::string>{
                "ip link add link eth1 name eth1.20 mtu 1500 type vlan id 20 && ip link set dev eth1.20 alias "
                "bulwark:app",
                "ip link set dev eth1.20 up",
                "ip address add 10.20.0.1/24 dev eth1.20",
                "ip address add 2001:db8:20::1/64 dev eth1.20",
                "sysctl -w net.ipv4.conf.eth1/20.forwarding=1",
                "sysctl -w net.ipv4.conf.eth1/20.rp_filter=2",
                "sysctl -w net.ipv6.conf.eth1/20.forwarding=1",
                "ip link add link eth1 name eth1.30 mtu 9000 type vlan id 30 && ip link set dev eth1.30 alias "
                "bulwark:db",
                "ip link set dev eth1.30 up",
                "ip address add 10.30.0.1/24 dev eth1.30",
                "sysctl -w net.ipv4.conf.eth1/30.forwarding=1",
                "sysctl -w net.ipv4.conf.eth1/30.rp_filter=2",
            }));
  EXPECT_EQ((*ops)[0].where.str(), "t.yaml:4:11");
}

TEST(Diff, SecondReconcileIsEmpty) {
  auto set = desiredLinks(load(kTwoVlans));
  ObservedState st = hostWithTrunk();
  auto ops = diff(set, st);
  ASSERT_TRUE(ops.ok());
  applyAll(st, *ops);
  auto again = diff(set, st);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->empty()) << ::testing::PrintToString(descriptions(*again));
}

TEST(Diff, UndoRestoresTheStartingState) {
  auto set = desiredLinks(load(kTwoVlans));
  ObservedState st = hostWithTrunk();
  auto ops = diff(set, st);
  ASSERT_TRUE(ops.ok());
  expectUndoRestores(st, *ops);
}

TEST(Diff, MissingTrunkNamesThePolicyLine) {
  ObservedState st = hostWithTrunk();
  st.links.pop_back();  // no eth1
  auto ops = diff(desiredLinks(campus()), st);
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.error().code, Error::Code::Missing);
  EXPECT_TRUE(ops.error().message.ends_with(
      "campus.yaml:18:11: cannot create VLAN 10 on eth1: trunk interface eth1 does not exist"))
      << ops.error().message;
}

TEST(Diff, MtuAboveTrunkIsRefusedBeforeAnyWrite) {
  auto ops = diff(desiredLinks(load(kTwoVlans)), hostWithTrunk(1500));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.error().message,
            "t.yaml:8:11: cannot create VLAN 30 on eth1: MTU 9000 of segment 'db' exceeds the MTU 1500 of "
            "trunk eth1 (raise the trunk's MTU first)");
}

TEST(Diff, ForeignLinkWithTheNameIsAConflictNotATakeover) {
  ObservedState st = hostWithTrunk();
  ObservedLink foreign = link(7, "eth1.20");
  foreign.kind = "vlan";
  foreign.parentIndex = 3;
  foreign.vlanId = 20;
  st.links.push_back(foreign);
  auto ops = diff(desiredLinks(load(kTwoVlans)), st);
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.error().code, Error::Code::Conflict);
  EXPECT_EQ(ops.error().message,
            "t.yaml:4:11: cannot create VLAN 20 on eth1: a link named eth1.20 already exists and is not "
            "Bulwark's; Bulwark does not take over links it did not create: remove or rename it");
}

TEST(Diff, SameVlanIdUnderAnotherNameIsAConflict) {
  ObservedState st = hostWithTrunk();
  ObservedLink other = link(7, "app-vlan");
  other.kind = "vlan";
  other.parentIndex = 3;
  other.vlanId = 20;
  st.links.push_back(other);
  auto ops = diff(desiredLinks(load(kTwoVlans)), st);
  ASSERT_FALSE(ops.ok());
  EXPECT_NE(ops.error().message.find("link app-vlan already carries VLAN 20 on eth1 (not Bulwark's)"),
            std::string::npos)
      << ops.error().message;
}

TEST(Diff, RemovedSegmentDeletesOnlyItsOwnedLink) {
  auto two = desiredLinks(load(kTwoVlans));
  ObservedState st = hostWithTrunk();
  applyAll(st, *diff(two, st));
  // A foreign VLAN and a foreign link marked by someone else stay untouched.
  ObservedLink foreign = link(50, "eth1.77");
  foreign.kind = "vlan";
  foreign.parentIndex = 3;
  foreign.vlanId = 77;
  st.links.push_back(foreign);
  auto one = two;
  one.links.pop_back();  // db removed
  auto ops = diff(one, st);
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_EQ(descriptions(*ops), std::vector<std::string>{"ip link delete dev eth1.30"});
  EXPECT_EQ((*ops)[0].segment, "db");
  expectUndoRestores(st, *ops);
}

TEST(Diff, OwnedLinkDriftIsRepaired) {
  auto set = desiredLinks(load(kTwoVlans));
  ObservedState st = hostWithTrunk();
  applyAll(st, *diff(set, st));
  auto* l = findLink(st, "eth1.20");
  l->mtu = 1400;
  l->up = false;
  l->addresses.push_back(addr("192.0.2.9", 24));  // not in the policy: ours to remove
  l->addresses.push_back(addr("fe80::1", 64));     // link-local: the kernel's, kept
  st.conf[3].second.rpFilter = 1;                   // index 4 = eth1.20
  auto ops = diff(set, st);
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(descriptions(*ops), (std::vector<std::string>{
                                    "ip link set dev eth1.20 mtu 1500",
                                    "ip link set dev eth1.20 up",
                                    "ip address del 192.0.2.9/24 dev eth1.20",
                                    "sysctl -w net.ipv4.conf.eth1/20.rp_filter=2",
                                }));
  expectUndoRestores(st, *ops);
}

// A pair (policy ha:): each node's links carry its own addresses; the floating gateway
// addresses are keepalived's, neither added nor removed.
const char* kPairHa = R"(ha:
  nodes:
    - { name: a, uplink: 198.51.100.2/24, sync: 10.255.0.1/30, segments: { app: [10.20.0.2, 2001:db8:20::2], db: 10.30.0.2 } }
    - { name: b, uplink: 198.51.100.3/24, sync: 10.255.0.2/30, segments: { app: [10.20.0.3, 2001:db8:20::3], db: 10.30.0.3 } }
  uplink: 198.51.100.1/24
  sync: { interface: eth2 }
)";

TEST(DesiredLinks, APairsNodeHasItsOwnAddressesAndLeavesTheFloatingOnes) {
  auto policy = load(std::string(kTwoVlans) + kPairHa);
  auto set = desiredLinks(policy, "b");
  ASSERT_TRUE(set.problems.empty()) << set.problems.front();
  const auto& app = set.links[0];
  EXPECT_EQ(app.addresses, (std::vector<Address>{addr("10.20.0.3", 24), addr("2001:db8:20::3", 64)}));
  EXPECT_EQ(app.tolerated, (std::vector<Address>{addr("10.20.0.1", 24), addr("2001:db8:20::1", 64)}));
  auto none = desiredLinks(policy);
  ASSERT_EQ(none.problems.size(), 1u);
  EXPECT_EQ(none.problems[0], "t.yaml:11:1: the links of an HA pair's node need its name");
  EXPECT_EQ(desiredLinks(policy, "c").problems, std::vector<std::string>{"t.yaml:11:1: 'c' is not one of ha.nodes"});
}

TEST(Diff, APairsFloatingAddressesAreLeftToKeepalived) {
  auto set = desiredLinks(load(std::string(kTwoVlans) + kPairHa), "a");
  ObservedState st = hostWithTrunk();
  applyAll(st, *diff(set, st));
  auto* l = findLink(st, "eth1.20");
  EXPECT_EQ(l->addresses, (std::vector<Address>{addr("10.20.0.2", 24), addr("2001:db8:20::2", 64)}));
  l->addresses.push_back(addr("10.20.0.1", 24));    // keepalived made this node active
  l->addresses.push_back(addr("192.0.2.9", 24));    // anything else on an owned link: removed
  auto ops = diff(set, st);
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(descriptions(*ops), std::vector<std::string>{"ip address del 192.0.2.9/24 dev eth1.20"});
}

TEST(Diff, OwnedLinkWithWrongVlanIdIsRecreated) {
  auto set = desiredLinks(load(kTwoVlans));
  ObservedState st = hostWithTrunk();
  applyAll(st, *diff(set, st));
  findLink(st, "eth1.20")->vlanId = 21;
  auto ops = diff(set, st);
  ASSERT_TRUE(ops.ok());
  ASSERT_GE(ops->size(), 2u);
  EXPECT_EQ((*ops)[0].description(), "ip link delete dev eth1.20");
  EXPECT_EQ((*ops)[1].kind, OpKind::CreateVlan);
  applyAll(st, *ops);
  EXPECT_TRUE(diff(set, st)->empty());
}

TEST(Diff, RenamedSegmentReMarksItsLink) {
  auto set = desiredLinks(load(kTwoVlans));
  ObservedState st = hostWithTrunk();
  applyAll(st, *diff(set, st));
  set.links[0].segment = "web";
  auto ops = diff(set, st);
  ASSERT_TRUE(ops.ok());
  EXPECT_EQ(descriptions(*ops), std::vector<std::string>{"ip link set dev eth1.20 alias bulwark:web"});
}

// ---- plain interfaces ------------------------------------------------------------------------
ObservedState hostWithVeth(std::string alias = "") {
  ObservedState st;
  st.links = {link(1, "lo", 65536), link(2, "veth-lan", 1500, false)};
  st.links[1].kind = "veth";
  st.links[1].alias = std::move(alias);
  st.links[1].addresses = {addr("192.168.7.1", 24)};  // the admin's own address: never removed
  st.conf = {{1, LinkConf{0, 0, 0}}, {2, LinkConf{0, 0, 0}}};
  return st;
}

TEST(Diff, PlainInterfaceIsAdoptedAndConfigured) {
  auto set = desiredLinks(load(kPlain));
  ObservedState st = hostWithVeth();
  auto ops = diff(set, st);
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_EQ(descriptions(*ops), (std::vector<std::string>{
                                    "ip link set dev veth-lan mtu 1400",
                                    "ip link set dev veth-lan up",
                                    "ip link set dev veth-lan alias \"bulwark:lan adopted 10.1.0.1/24\"",
                                    "ip address add 10.1.0.1/24 dev veth-lan",
                                    "sysctl -w net.ipv4.conf.veth-lan.forwarding=1",
                                    "sysctl -w net.ipv4.conf.veth-lan.rp_filter=2",
                                }));
  expectUndoRestores(st, *ops);
  applyAll(st, *ops);
  EXPECT_TRUE(diff(set, st)->empty());

  // The gateway address changes: the old one (recorded) goes, the admin's stays.
  auto changed = load(std::string(kPlain).replace(std::string(kPlain).find("10.1.0.1"), 8, "10.1.0.9"));
  auto ops2 = diff(desiredLinks(changed), st);
  ASSERT_TRUE(ops2.ok());
  EXPECT_EQ(descriptions(*ops2), (std::vector<std::string>{
                                     "ip address del 10.1.0.1/24 dev veth-lan",
                                     "ip link set dev veth-lan alias \"bulwark:lan adopted 10.1.0.9/24\"",
                                     "ip address add 10.1.0.9/24 dev veth-lan",
                                 }));

  // The segment goes: its recorded address and the mark go; the link and the admin's address stay.
  LinkSet none;
  auto ops3 = diff(none, st);
  ASSERT_TRUE(ops3.ok());
  EXPECT_EQ(descriptions(*ops3), (std::vector<std::string>{
                                     "ip address del 10.1.0.1/24 dev veth-lan",
                                     "ip link set dev veth-lan alias \"\"",
                                 }));
  expectUndoRestores(st, *ops3);
}

TEST(Diff, PlainInterfaceMarkedBySomeoneElseIsRefused) {
  auto ops = diff(desiredLinks(load(kPlain)), hostWithVeth("uplink to the lab"));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.error().code, Error::Code::Conflict);
  EXPECT_EQ(ops.error().message,
            "t.yaml:4:16: cannot configure interface veth-lan of segment 'lan': it is marked 'uplink to the "
            "lab' by someone else; Bulwark does not take it over (clear its alias to hand it to Bulwark)");
}

TEST(Diff, MissingPlainInterface) {
  ObservedState st = hostWithVeth();
  st.links.pop_back();
  auto ops = diff(desiredLinks(load(kPlain)), st);
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.error().code, Error::Code::Missing);
  EXPECT_EQ(ops.error().message, "t.yaml:4:16: cannot configure interface veth-lan of segment 'lan': it does not exist");
}

TEST(Diff, AllConflictsAreReportedAtOnce) {
  ObservedState st = hostWithTrunk();
  for (int vid : {20, 30}) {
    ObservedLink f = link(40 + vid, "eth1." + std::to_string(vid));
    f.kind = "vlan";
    f.parentIndex = 3;
    f.vlanId = static_cast<std::uint16_t>(vid);
    st.links.push_back(f);
  }
  auto ops = diff(desiredLinks(load(kTwoVlans)), st);
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(std::count(ops.error().message.begin(), ops.error().message.end(), '\n'), 1);
}

}  // namespace
}  // namespace bulwark::vlan
