// Diagnostics formatting and ordering; port specs; model look-ups.
#include <gtest/gtest.h>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/model.h"
#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::Lines;

TEST(Diagnostics, StrIsFileLineColSeverityMessage) {
  Diagnostic d{Severity::Error, {"t.yaml", 3, 7}, "something is wrong", ""};
  EXPECT_EQ(d.str(), "t.yaml:3:7: error: something is wrong");
  d.severity = Severity::Warning;
  EXPECT_EQ(d.str(), "t.yaml:3:7: warning: something is wrong");
  d.hint = "fix it";
  EXPECT_EQ(d.str(), "t.yaml:3:7: warning: something is wrong\n  hint: fix it");
}

TEST(Diagnostics, LocationWithoutLineOrColumn) {
  EXPECT_EQ((Location{"a.yaml", 0, 0}.str()), "a.yaml");
  EXPECT_EQ((Location{"a.yaml", 4, 0}.str()), "a.yaml:4");
  EXPECT_EQ((Location{"", 4, 2}.str()), "<input>:4:2");
}

TEST(Diagnostics, CountsAndSortsStably) {
  Diagnostics d;
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.hasErrors());
  d.warning({"b.yaml", 1, 1}, "w1");
  d.error({"a.yaml", 9, 1}, "e1");
  d.error({"a.yaml", 2, 5}, "e2");
  d.error({"a.yaml", 2, 5}, "e3");  // same place: insertion order kept
  d.warning({"a.yaml", 2, 1}, "w2");
  EXPECT_EQ(d.errorCount(), 3u);
  EXPECT_EQ(d.warningCount(), 2u);
  EXPECT_TRUE(d.hasErrors());
  d.sort();
  EXPECT_EQ(test::strs(d), (Lines{"a.yaml:2:1: warning: w2", "a.yaml:2:5: error: e2",
                                     "a.yaml:2:5: error: e3", "a.yaml:9:1: error: e1",
                                     "b.yaml:1:1: warning: w1"}));
  Diagnostics more;
  more.append(d);
  more.append(d);
  EXPECT_EQ(more.items().size(), 10u);
}

TEST(PortSpec, ParsesProtocolsAndRanges) {
  auto tcp = parsePortSpec("tcp/443");
  ASSERT_TRUE(tcp.spec) << tcp.error;
  EXPECT_EQ(tcp.spec->protocol, Protocol::Tcp);
  EXPECT_EQ(tcp.spec->ports, (PortRange{443, 443}));
  EXPECT_EQ(tcp.spec->str(), "tcp/443");

  auto udp = parsePortSpec("udp/10000-20000");
  ASSERT_TRUE(udp.spec) << udp.error;
  EXPECT_EQ(udp.spec->ports, (PortRange{10000, 20000}));
  EXPECT_EQ(udp.spec->str(), "udp/10000-20000");

  auto all = parsePortSpec("sctp");
  ASSERT_TRUE(all.spec);
  EXPECT_TRUE(all.spec->ports.all());
  EXPECT_EQ(all.spec->str(), "sctp");

  auto icmp = parsePortSpec("icmp");
  ASSERT_TRUE(icmp.spec);
  EXPECT_EQ(icmp.spec->protocol, Protocol::Icmp);
  EXPECT_FALSE(protocolHasPorts(Protocol::Icmp));
  EXPECT_EQ(icmp.spec->str(), "icmp");
  EXPECT_EQ(parsePortSpec("icmpv6").spec->str(), "icmpv6");

  EXPECT_EQ(parsePortSpec("tcp/1-65535").spec->str(), "tcp/1-65535");  // port 0 is not in it
  EXPECT_TRUE(all.spec->contains(*parsePortSpec("sctp/1-65535").spec));
  EXPECT_EQ(parsePortSpec("udp/53-53").spec->str(), "udp/53");
}

TEST(PortSpec, ReportsWhatIsWrong) {
  auto err = [](std::string_view s) {
    auto r = parsePortSpec(s);
    EXPECT_FALSE(r.spec) << s;
    return r.error;
  };
  EXPECT_EQ(err("gre"), "unknown protocol 'gre' (expected tcp, udp, sctp, icmp or icmpv6)");
  EXPECT_EQ(err("TCP/80"), "unknown protocol 'TCP' (expected tcp, udp, sctp, icmp or icmpv6)");
  EXPECT_EQ(err("tcp/http"), "malformed port 'http' (expected N or N-M)");
  EXPECT_EQ(err("tcp/"), "malformed port '' (expected N or N-M)");
  EXPECT_EQ(err("tcp/80-"), "malformed port '80-' (expected N or N-M)");
  EXPECT_EQ(err("tcp/-80"), "malformed port '-80' (expected N or N-M)");
  EXPECT_EQ(err("tcp/0"), "port out of range in '0' (1-65535)");
  EXPECT_EQ(err("tcp/65536"), "port out of range in '65536' (1-65535)");
  EXPECT_EQ(err("udp/99999999999"), "malformed port '99999999999' (expected N or N-M)");
  EXPECT_EQ(err("tcp/200-100"), "empty port range '200-100' (first port above last)");
  EXPECT_EQ(err("icmp/8"), "icmp has no ports");
  EXPECT_EQ(err("icmpv6/128"), "icmpv6 has no ports");
}

TEST(PortSpec, ContainsAndOverlaps) {
  auto spec = [](std::string_view s) { return parsePortSpec(s).spec.value(); };
  EXPECT_TRUE(spec("tcp/1-1024").contains(spec("tcp/443")));
  EXPECT_FALSE(spec("tcp/443").contains(spec("tcp/1-1024")));
  EXPECT_FALSE(spec("tcp/1-1024").contains(spec("udp/53")));
  EXPECT_TRUE(spec("tcp").contains(spec("tcp/8080")));
  EXPECT_TRUE(spec("tcp/100-200").overlaps(spec("tcp/200-300")));
  EXPECT_FALSE(spec("tcp/100-199").overlaps(spec("tcp/200-300")));
  EXPECT_FALSE(spec("tcp/53").overlaps(spec("udp/53")));
}

TEST(Names, ProtocolAndActionNames) {
  EXPECT_EQ(protocolName(Protocol::Udp), "udp");
  EXPECT_EQ(actionName(Action::Allow), "allow");
  EXPECT_EQ(actionName(Action::Deny), "deny");
  EXPECT_EQ(actionName(Action::Reject), "reject");
}

// Every enumerator has its own spelling, and parsing that spelling gives it back: the names and
// the loader read one table.
template <class E, class Name, class Parse>
void expectRoundTrips(E last, Name name, Parse parse) {
  for (int i = 0; i <= static_cast<int>(last); ++i) {
    auto v = static_cast<E>(i);
    SCOPED_TRACE(i);
    EXPECT_NE(name(v), "?");
    EXPECT_EQ(parse(name(v)), v);
  }
}

TEST(Names, EveryEnumeratorRoundTrips) {
  expectRoundTrips(Protocol::Icmpv6, protocolName, protocolFromName);
  expectRoundTrips(Action::Reject, actionName, actionFromName);
  expectRoundTrips(CheckType::Tls, checkTypeName, checkTypeFromName);
  expectRoundTrips(DnatMode::Balance, dnatModeName, dnatModeFromName);
  EXPECT_EQ(protocolFromName("ICMP"), std::nullopt);
  EXPECT_EQ(actionFromName(""), std::nullopt);
}

TEST(Names, SpellingsAndProtocolNumbers) {
  std::string all;
  for (auto p : {Protocol::Tcp, Protocol::Udp, Protocol::Sctp, Protocol::Icmp, Protocol::Icmpv6}) {
    all += std::string(protocolName(p)) + "=" + std::to_string(protocolNumber(p)) + " ";
    EXPECT_EQ(protocolFromNumber(protocolNumber(p)), p);
  }
  EXPECT_EQ(all, "tcp=6 udp=17 sctp=132 icmp=1 icmpv6=58 ");
  EXPECT_EQ(protocolFromNumber(50), std::nullopt);
  std::string names;
  for (auto t : {CheckType::Tcp, CheckType::Http, CheckType::Https, CheckType::Tls}) {
    names += std::string(checkTypeName(t)) + " ";
  }
  for (auto m : {DnatMode::Single, DnatMode::Failover, DnatMode::Balance}) names += std::string(dnatModeName(m)) + " ";
  EXPECT_EQ(names, "tcp http https tls single failover balance ");
}

TEST(Policy, FindsElementsByName) {
  auto r = test::loadValid(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
hosts:
  - { name: pc, segment: lan, addresses: [10.0.0.5] }
services:
  - { name: ssh, ports: [tcp/22] }
zones:
  - { name: inside, segments: [lan] }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: ops, pool: 10.250.0.0/24, access: [{ to: lan, services: [ssh] }] }
)");
  const auto& p = r.policy;
  ASSERT_NE(p.findSegment("lan"), nullptr);
  EXPECT_EQ(p.findSegment("lan")->vlan, 10);
  EXPECT_EQ(p.findSegment("pc"), nullptr);
  ASSERT_NE(p.findHost("pc"), nullptr);
  EXPECT_EQ(p.findHost("pc")->segment.name, "lan");
  ASSERT_NE(p.findService("ssh"), nullptr);
  EXPECT_EQ(p.findService("ssh")->ports.size(), 1u);
  ASSERT_NE(p.findZone("inside"), nullptr);
  ASSERT_NE(p.findVpnGroup("ops"), nullptr);
  EXPECT_EQ(p.findVpnGroup("ops")->pool.str(), "10.250.0.0/24");
  EXPECT_EQ(p.findVpnGroup("lan"), nullptr);
}

TEST(Policy, RemembersWhereEachFieldWasWritten) {
  auto r = test::loadValid(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }
    mtu: 9000
)");
  ASSERT_EQ(r.policy.segments.size(), 1u);
  const auto& s = r.policy.segments[0];
  EXPECT_EQ(s.where.str(), "t.yaml:3:5");
  EXPECT_EQ(s.at("name").str(), "t.yaml:3:11");
  EXPECT_EQ(s.at("vlan").str(), "t.yaml:4:11");
  EXPECT_EQ(s.at("mtu").str(), "t.yaml:6:10");
  EXPECT_EQ(s.at("interface").str(), "t.yaml:3:5");  // not written: the element itself
  EXPECT_EQ(s.mtu, 9000);
  ASSERT_TRUE(r.policy.gateway);
  EXPECT_EQ(r.policy.gateway->where.str(), "t.yaml:1:1");
  EXPECT_EQ(r.policy.files, (std::vector<std::string>{"t.yaml"}));
}

}  // namespace
}  // namespace bulwark::policies
