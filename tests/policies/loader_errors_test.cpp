// Loader diagnostics: one test per kind of mistake, checking the exact text the user sees
// (file:line:col: error: message, and the hint when there is one).
#include <gtest/gtest.h>

#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::diags;
using test::Lines;
using test::loadDiags;

TEST(LoaderErrors, YamlSyntaxError) {
  EXPECT_EQ(loadDiags("gateway: { uplink: eth0, trunk: eth1\n"
                      "segments: []\n"),
            (Lines{"t.yaml:2:9: error: YAML syntax: end of map flow not found"}));
  auto r = loadPolicyText("gateway:\n  uplink: eth0\n   trunk: eth1\n", "t.yaml");
  ASSERT_EQ(r.diagnostics.items().size(), 1u);
  EXPECT_EQ(r.diagnostics.items()[0].str(), "t.yaml:3:9: error: YAML syntax: illegal map value");
  EXPECT_FALSE(r.ok());
}

TEST(LoaderErrors, TwoYamlDocumentsInOneFile) {
  EXPECT_EQ(loadDiags("gateway: { uplink: eth0 }\n"
                      "---\n"
                      "segments: []\n"),
            (Lines{"t.yaml:3:1: error: a policy file holds one YAML document, this is the second\n"
                   "  hint: remove the '---' separator or split the file"}));
}

// A file may open with the document marker; a second one after it is still a second document.
TEST(LoaderErrors, LeadingDocumentMarkerIsOneDocument) {
  EXPECT_EQ(loadDiags("---\ngateway: { uplink: eth0 }\n"), Lines{});
  EXPECT_EQ(loadDiags("--- # policy\n\ngateway: { uplink: eth0 }\n...\n"), Lines{});
  EXPECT_EQ(loadDiags("---\ngateway: { uplink: eth0 }\n---\nsegments: []\n"),
            (Lines{"t.yaml:4:1: error: a policy file holds one YAML document, this is the second\n"
                   "  hint: remove the '---' separator or split the file"}));
  EXPECT_EQ(loadDiags("---\ngateway: { uplink: eth0 }\n...\n]\n"),
            (Lines{"t.yaml:4:1: error: YAML syntax: illegal flow end"}));
}

TEST(LoaderErrors, UnknownKeyWithDidYouMean) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlna: 10
    ipv4: { subnet: 10.0.0.0/24 }
)"),
            (Lines{"t.yaml:3:11: error: segment 'lan' needs exactly one of 'vlan' or 'interface'\n"
                   "  hint: give its 802.1Q 'vlan' id on the trunk, or the plain 'interface' it uses",
                   "t.yaml:4:5: error: unknown key 'vlna' in a segment\n"
                   "  hint: did you mean 'vlan'?"}));
}

TEST(LoaderErrors, UnknownKeyWithoutCloseMatchListsAllowedKeys) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, colour: blue }
)"),
            (Lines{"t.yaml:1:26: error: unknown key 'colour' in gateway\n"
                   "  hint: allowed keys: name, uplink, trunk, control, web, syn_limit"}));
  EXPECT_EQ(loadDiags("gateway: { uplink: eth0 }\nsegmnts: []\n"),
            (Lines{"t.yaml:2:1: error: unknown key 'segmnts' in the policy\n"
                   "  hint: did you mean 'segments'?"}));
}

// The suggestion is the closest key within two edits (the first one on a tie), whatever the
// lengths: the search gives up early on candidates that cannot be that close.
TEST(LoaderErrors, DidYouMeanPicksTheClosestKeyWithinTwoEdits) {
  EXPECT_EQ(loadDiags("gateway: { uplink: eth0, trnk: eth1 }\n"),
            (Lines{"t.yaml:1:26: error: unknown key 'trnk' in gateway\n"
                   "  hint: did you mean 'trunk'?"}));
  // 'uplnk' is one edit from 'uplink'; 'name' (two edits from 'nm') comes first in the list
  // but 'nme' is one edit from it.
  EXPECT_EQ(loadDiags("gateway: { uplnk: eth0, nme: gw }\n"),
            (Lines{"t.yaml:1:10: error: gateway is missing required key 'uplink'",
                   "t.yaml:1:12: error: unknown key 'uplnk' in gateway\n"
                   "  hint: did you mean 'uplink'?",
                   "t.yaml:1:25: error: unknown key 'nme' in gateway\n"
                   "  hint: did you mean 'name'?"}));
  // Two edits away, lengths two apart: still suggested. Three away: the allowed keys.
  EXPECT_EQ(loadDiags("gateway: { uplink: eth0, webxx: {} }\n")[0],
            "t.yaml:1:26: error: unknown key 'webxx' in gateway\n"
            "  hint: did you mean 'web'?");
  EXPECT_EQ(loadDiags("gateway: { uplink: eth0, webxxx: {} }\n")[0],
            "t.yaml:1:26: error: unknown key 'webxxx' in gateway\n"
            "  hint: allowed keys: name, uplink, trunk, control, web, syn_limit");
  // A key of 1,000 characters (YAML's bound for a simple key): no hint but the list, and no
  // 1,000 x N table to get there.
  EXPECT_EQ(loadDiags("gateway: { uplink: eth0, " + std::string(1000, 'n') + ": 1 }\n")[0],
            "t.yaml:1:26: error: unknown key '" + std::string(1000, 'n') + "' in gateway\n"
            "  hint: allowed keys: name, uplink, trunk, control, web, syn_limit");
}

TEST(LoaderErrors, DuplicateKey) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    vlan: 11
    ipv4: { subnet: 10.0.0.0/24 }
)"),
            (Lines{"t.yaml:5:5: error: duplicate key 'vlan' in a segment\n"
                   "  hint: first given at t.yaml:4:5"}));
}

TEST(LoaderErrors, MissingRequiredKey) {
  EXPECT_EQ(loadDiags(R"(gateway: { trunk: eth1 }
segments:
  - vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }
hosts:
  - { name: pc, segment: lan }
)"),
            (Lines{"t.yaml:1:10: error: gateway is missing required key 'uplink'",
                   "t.yaml:3:5: error: a segment is missing required key 'name'",
                   "t.yaml:6:5: error: a host is missing required key 'addresses'"}));
}

TEST(LoaderErrors, ListWhereASingleValueBelongs) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: [10]
    ipv4: { subnet: 10.0.0.0/24 }
)"),
            (Lines{"t.yaml:4:11: error: 'vlan' must be a single value, got a list"}));
}

TEST(LoaderErrors, MappingExpected) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    ipv4: 10.0.0.0/24
)"),
            (Lines{"t.yaml:5:11: error: ipv4 must be a mapping (key: value), got a scalar\n"
                   "  hint: allowed keys: subnet, gateway"}));
  EXPECT_EQ(loadDiags("- gateway\n- segments\n"),
            (Lines{"t.yaml:1:1: error: the policy must be a mapping (key: value), got a list\n"
                   "  hint: allowed keys: gateway, segments, hosts, services, checks, zones, rules, nat, "
                   "vpn, ha, invariants, expect"}));
  EXPECT_EQ(loadDiags("gateway: eth0\n"),
            (Lines{"t.yaml:1:10: error: gateway must be a mapping (key: value), got a scalar\n"
                   "  hint: allowed keys: name, uplink, trunk, control, web, syn_limit"}));
}

TEST(LoaderErrors, ListOfEntriesExpected) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  name: lan
)"),
            (Lines{"t.yaml:3:3: error: 'segments' must be a list of entries, got a mapping\n"
                   "  hint: start each entry with '- '"}));
}

TEST(LoaderErrors, ListExpected) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
rules:
  - name: r
    from: { zone: lan }
    to: internet
    services: []
    action: allow
)"),
            (Lines{"t.yaml:4:11: error: 'from' must be a list, got a mapping\n"
                   "  hint: write it as [a, b]",
                   "t.yaml:6:15: error: 'services' is an empty list"}));
}

TEST(LoaderErrors, EmptyValue) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
hosts:
  - name:
    segment: lan
    addresses: [10.0.0.5]
)"),
            (Lines{"t.yaml:3:5: error: 'name' has no value"}));
}

TEST(LoaderErrors, BadName) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: 1lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }
services:
  - { name: "web server", ports: [tcp/80] }
  - { name: abcdefghijabcdefghijabcdefghijabc, ports: [tcp/81] }
)"),
            (Lines{"t.yaml:3:11: error: invalid name '1lan'\n"
                   "  hint: names start with a letter and hold up to 32 letters, digits, '-' or '_'",
                   "t.yaml:7:13: error: invalid name 'web server'\n"
                   "  hint: names start with a letter and hold up to 32 letters, digits, '-' or '_'",
                   "t.yaml:8:13: error: invalid name 'abcdefghijabcdefghijabcdefghijabc'\n"
                   "  hint: names start with a letter and hold up to 32 letters, digits, '-' or '_'"}));
}

TEST(LoaderErrors, BadInterfaceName) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0/1, trunk: averyveryverylongname }
)"),
            (Lines{"t.yaml:1:20: error: invalid interface name 'eth0/1'\n"
                   "  hint: Linux interface names have 1-15 characters, without '/', ':' or spaces",
                   "t.yaml:1:35: error: invalid interface name 'averyveryverylongname'\n"
                   "  hint: Linux interface names have 1-15 characters, without '/', ':' or spaces"}));
}

TEST(LoaderErrors, VlanOutOfRange) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: a
    vlan: 0
    ipv4: { subnet: 10.0.0.0/24 }
  - name: b
    vlan: 4095
    ipv4: { subnet: 10.1.0.0/24 }
)"),
            (Lines{"t.yaml:4:11: error: 'vlan' 0 is out of range (1-4094)",
                   "t.yaml:7:11: error: 'vlan' 4095 is out of range (1-4094)"}));
}

TEST(LoaderErrors, InvalidInteger) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: a
    vlan: ten
    ipv4: { subnet: 10.0.0.0/24 }
  - name: b
    vlan: 12.5
    ipv4: { subnet: 10.1.0.0/24 }
)"),
            (Lines{"t.yaml:4:11: error: 'vlan' must be a whole number, got 'ten'",
                   "t.yaml:7:11: error: 'vlan' must be a whole number, got '12.5'"}));
}

TEST(LoaderErrors, MtuOutOfRange) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: a
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }
    mtu: 500
  - name: b
    vlan: 11
    ipv4: { subnet: 10.1.0.0/24 }
    mtu: 100000
  - name: c
    vlan: 12
    ipv4: { subnet: 10.2.0.0/24 }
    mtu: 99999999999999999999999
)"),
            (Lines{"t.yaml:6:10: error: 'mtu' 500 is out of range (576-9216)",
                   "t.yaml:10:10: error: 'mtu' 100000 is out of range (576-9216)",
                   "t.yaml:14:10: error: 'mtu' 99999999999999999999999 is out of range (576-9216)"}));
}

TEST(LoaderErrors, InvalidIpAddress) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24, gateway: 10.0.0.300 }
  - name: dmz
    vlan: 11
    ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1/24 }
hosts:
  - { name: h1, segment: lan, addresses: [10.0.0.5/24] }
  - { name: h2, segment: lan, addresses: [bogus] }
nat:
  dnat:
    - { name: d, vip: 203.0.113.300, service: tcp/80, to: h2 }
)"),
            (Lines{"t.yaml:5:43: error: invalid IP address '10.0.0.300'",
                   "t.yaml:8:43: error: invalid IP address '10.1.0.1/24'\n"
                   "  hint: write the address without a prefix length",
                   "t.yaml:10:43: error: invalid IP address '10.0.0.5/24'\n"
                   "  hint: host addresses are written without a prefix length",
                   "t.yaml:11:43: error: invalid IP address 'bogus'",
                   "t.yaml:14:23: error: invalid IP address '203.0.113.300'"}));
}

TEST(LoaderErrors, WrongAddressFamily) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 2001:db8::/64 }
    ipv6: { subnet: 2001:db8:1::/64, gateway: 10.0.0.1 }
)"),
            (Lines{"t.yaml:5:21: error: ipv4 subnet 2001:db8::/64 is not an IPv4 prefix",
                   "t.yaml:6:47: error: ipv6 gateway 10.0.0.1 is of the wrong address family"}));
}

TEST(LoaderErrors, InvalidPrefix) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: a
    vlan: 10
    ipv4: { subnet: 10.2.0.0/33 }
  - name: b
    vlan: 11
    ipv4: { subnet: 10.3.0.0 }
rules:
  - { name: r, from: a, to: 300.1.2.0/24, services: [any], action: allow }
)"),
            (Lines{"t.yaml:5:21: error: invalid prefix '10.2.0.0/33'",
                   "t.yaml:8:21: error: 'subnet' must be a prefix like 10.20.0.0/24, got '10.3.0.0'",
                   "t.yaml:10:29: error: invalid address or prefix '300.1.2.0/24'"}));
}

TEST(LoaderErrors, PrefixWithHostBitsHasAHint) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.1.0.1/24 }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: ops, pool: 10.250.0.9/29 }
rules:
  - { name: r, from: lan, to: 198.51.100.7/24, services: [any], action: allow }
)"),
            (Lines{"t.yaml:5:21: error: prefix '10.1.0.1/24' has host bits set\n"
                   "  hint: did you mean 10.1.0.0/24?",
                   "t.yaml:10:26: error: prefix '10.250.0.9/29' has host bits set\n"
                   "  hint: did you mean 10.250.0.8/29?",
                   "t.yaml:12:31: error: invalid address or prefix '198.51.100.7/24'\n"
                   "  hint: did you mean 198.51.100.0/24?"}));
}

TEST(LoaderErrors, BadPorts) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
services:
  - { name: a, ports: [tcp/http] }
  - { name: b, ports: [tcp/70000] }
  - { name: c, ports: [tcp/200-100] }
  - { name: d, ports: [icmp/8] }
  - { name: e, ports: [gre] }
  - { name: f, ports: [tcp/0] }
)"),
            (Lines{"t.yaml:3:24: error: invalid port 'tcp/http': malformed port 'http' (expected N or N-M)\n"
                   "  hint: write ports as tcp/443, udp/10000-20000 or icmp",
                   "t.yaml:4:24: error: invalid port 'tcp/70000': port out of range in '70000' (1-65535)\n"
                   "  hint: write ports as tcp/443, udp/10000-20000 or icmp",
                   "t.yaml:5:24: error: invalid port 'tcp/200-100': empty port range '200-100' (first port above last)\n"
                   "  hint: write ports as tcp/443, udp/10000-20000 or icmp",
                   "t.yaml:6:24: error: invalid port 'icmp/8': icmp has no ports\n"
                   "  hint: write ports as tcp/443, udp/10000-20000 or icmp",
                   "t.yaml:7:24: error: invalid port 'gre': unknown protocol 'gre' (expected tcp, udp, sctp, icmp or icmpv6)\n"
                   "  hint: write ports as tcp/443, udp/10000-20000 or icmp",
                   "t.yaml:8:24: error: invalid port 'tcp/0': port out of range in '0' (1-65535)\n"
                   "  hint: write ports as tcp/443, udp/10000-20000 or icmp"}));
}

TEST(LoaderErrors, BadServiceLiteralsInRules) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
rules:
  - { name: r1, from: any, to: internet, services: [udp/99999], action: allow }
  - { name: r2, from: any, to: internet, services: [icmp/3], action: allow }
  - { name: r3, from: any, to: internet, services: [tcp/9-1], action: allow }
)"),
            (Lines{"t.yaml:3:53: error: invalid service 'udp/99999': port out of range in '99999' (1-65535)",
                   "t.yaml:4:53: error: invalid service 'icmp/3': icmp has no ports",
                   "t.yaml:5:53: error: invalid service 'tcp/9-1': empty port range '9-1' (first port above last)"}));
}

TEST(LoaderErrors, DnatPortOutOfRange) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
nat:
  dnat:
    - { name: d, vip: 203.0.113.10, service: tcp/80, to: web, port: 65536 }
)"),
            (Lines{"t.yaml:4:69: error: 'port' 65536 is out of range (1-65535)"}));
}

TEST(LoaderErrors, InvalidRate) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
rules:
  - name: r1
    from: any
    to: internet
    services: [tcp/80]
    action: allow
    limit: { rate: 10/fortnight }
  - name: r2
    from: any
    to: internet
    services: [tcp/81]
    action: allow
    limit: { rate: 0/second, connections: 0 }
  - name: r3
    from: any
    to: internet
    services: [tcp/82]
    action: allow
    limit: { rate: abc }
)"),
            (Lines{"t.yaml:8:20: error: invalid rate '10/fortnight'\n"
                   "  hint: write it as N/second, N/minute or N/hour with N from 1 to 1000000",
                   "t.yaml:14:20: error: invalid rate '0/second'\n"
                   "  hint: write it as N/second, N/minute or N/hour with N from 1 to 1000000",
                   "t.yaml:14:43: error: 'connections' 0 is out of range (1-1000000)",
                   "t.yaml:20:20: error: invalid rate 'abc'\n"
                   "  hint: write it as N/second, N/minute or N/hour with N from 1 to 1000000"}));
}

TEST(LoaderErrors, IncompleteLimits) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
rules:
  - { name: r1, from: any, to: internet, services: [tcp/80], action: allow, limit: { burst: 5 } }
  - { name: r2, from: any, to: internet, services: [tcp/81], action: allow, limit: {} }
)"),
            (Lines{"t.yaml:3:93: error: 'burst' needs a 'rate'",
                   "t.yaml:4:84: error: empty 'limit'\n"
                   "  hint: give a 'rate' and/or 'connections'"}));
}

TEST(LoaderErrors, GoodRateIsRead) {
  auto r = loadPolicyText(R"(gateway: { uplink: eth0 }
rules:
  - name: r
    from: any
    to: internet
    services: [tcp/80]
    action: allow
    limit: { rate: 20/minute, burst: 40, connections: 7 }
    log: true
)",
                          "t.yaml");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(test::strs(r.diagnostics));
  ASSERT_EQ(r.policy.rules.size(), 1u);
  const auto& rule = r.policy.rules[0];
  ASSERT_TRUE(rule.limits);
  ASSERT_TRUE(rule.limits->rate);
  EXPECT_EQ(rule.limits->rate->count, 20u);
  EXPECT_EQ(rule.limits->rate->per, "minute");
  EXPECT_EQ(rule.limits->rate->burst, 40u);
  EXPECT_EQ(rule.limits->connections, 7u);
  EXPECT_TRUE(rule.log);
}

TEST(LoaderErrors, BadAction) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
rules:
  - { name: r, from: any, to: internet, services: [tcp/80], action: permit }
expect:
  - { from: any, to: internet, service: tcp/80, verdict: reject }
)"),
            (Lines{"t.yaml:3:69: error: 'action' must be allow, deny or reject, got 'permit'",
                   "t.yaml:5:58: error: 'verdict' must be allow or deny, got 'reject'"}));
}

// "single" names the mode a DNAT with one backend gets; it is not one to write.
TEST(LoaderErrors, DnatModeSingleIsNotWritten) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
nat:
  dnat:
    - { name: d, vip: 203.0.113.3, service: tcp/80, to: h, mode: single }
)"),
            (Lines{"t.yaml:4:66: error: unknown dnat mode 'single'\n"
                   "  hint: use failover or balance"}));
}

TEST(LoaderErrors, BadBoolean) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
rules:
  - { name: r, from: any, to: internet, services: [tcp/80], action: deny, log: yes }
)"),
            (Lines{"t.yaml:3:80: error: 'log' must be true or false, got 'yes'"}));
}

TEST(LoaderErrors, ZoneWithoutMembers) {
  EXPECT_EQ(loadDiags(R"(gateway: { uplink: eth0 }
zones:
  - { name: empty, description: nothing in it }
)"),
            (Lines{"t.yaml:3:5: error: zone 'empty' has no members\n"
                   "  hint: list its 'segments' and/or 'vpn_groups'"}));
}

TEST(LoaderErrors, GatewayGivenTwiceAcrossFiles) {
  auto r = loadPolicy(std::vector<Source>{
      {"a.yaml", "gateway: { uplink: eth0 }\n"},
      {"b.yaml", "# the edge\ngateway:\n  uplink: eth1\n"}});
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{"b.yaml:2:1: error: 'gateway' is given more than once\n"
                   "  hint: first given at a.yaml:1:1; keep it in one file"}));
  ASSERT_TRUE(r.policy.gateway);
  EXPECT_EQ(r.policy.gateway->uplink, "eth0");  // the first one is kept
  EXPECT_EQ(r.policy.files, (std::vector<std::string>{"a.yaml", "b.yaml"}));
}

TEST(LoaderErrors, GatewayGivenTwiceInADirectory) {
  test::TempDir dir;
  dir.write("10-edge.yaml", "gateway: { uplink: eth0, trunk: eth1 }\n");
  dir.write("20-more.yml", "segments: []\n\ngateway:\n  uplink: eth2\n");
  dir.write("notes.txt", "gateway: not a policy file\n");
  auto r = loadAndValidate(dir.path());
  auto first = (dir.path() / "10-edge.yaml").string();
  auto second = (dir.path() / "20-more.yml").string();
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{second + ":3:1: error: 'gateway' is given more than once\n"
                            "  hint: first given at " + first + ":1:1; keep it in one file"}));
  EXPECT_EQ(r.policy.files, (std::vector<std::string>{first, second}));
}

TEST(LoaderErrors, VpnGivenTwiceAcrossFiles) {
  auto r = loadPolicy(std::vector<Source>{
      {"a.yaml", "vpn: { ca: CA, local_id: x, groups: [] }\n"},
      {"b.yaml", "vpn: { ca: CA, local_id: y, groups: [] }\n"}});
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{"b.yaml:1:1: error: 'vpn' is given more than once\n"
                   "  hint: first given at a.yaml:1:1; keep it in one file"}));
}

TEST(LoaderErrors, PathThatDoesNotExist) {
  test::TempDir dir;
  auto missing = dir.path() / "nope.yaml";
  auto r = loadPolicy(missing);
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{missing.string() + ": error: no such file or directory"}));
  auto empty = loadPolicy(dir.path());
  EXPECT_EQ(test::strs(empty.diagnostics),
            (Lines{dir.path().string() + ": error: no *.yaml or *.yml files in this directory"}));
}

TEST(LoaderErrors, ListPolicyFilesIsSortedAndFiltered) {
  test::TempDir dir;
  dir.write("b.yml", "");
  dir.write("a.yaml", "");
  dir.write("c.txt", "");
  std::filesystem::create_directory(dir.path() / "sub.yaml");
  auto listed = listPolicyFiles(dir.path());
  EXPECT_EQ(listed.error, "");
  EXPECT_EQ(listed.files,
            (std::vector<std::filesystem::path>{dir.path() / "a.yaml", dir.path() / "b.yml"}));
  auto single = listPolicyFiles(dir.path() / "c.txt");  // a file named explicitly is read
  EXPECT_EQ(single.files, (std::vector<std::filesystem::path>{dir.path() / "c.txt"}));
}

TEST(LoaderErrors, EmptyFileIsAnEmptyFragment) {
  EXPECT_EQ(loadDiags(""), Lines{});
  EXPECT_EQ(loadDiags("# nothing yet\n"), Lines{});
  auto r = loadPolicy(std::vector<Source>{{"a.yaml", "gateway: { uplink: eth0 }\n"}, {"b.yaml", ""}});
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(r.policy.files.size(), 2u);
}

TEST(LoaderErrors, SyntaxErrorInOneFileStillReadsTheOthers) {
  auto r = loadPolicy(std::vector<Source>{
      {"a.yaml", "gateway: { uplink: eth0 }\nsegments: [\n"},
      {"b.yaml", "hosts:\n  - { name: pc, segment: lan, addresses: [10.0.0.5], colour: red }\n"}});
  r.diagnostics.sort();
  ASSERT_EQ(r.diagnostics.items().size(), 2u) << ::testing::PrintToString(test::strs(r.diagnostics));
  EXPECT_EQ(r.diagnostics.items()[0].where.file, "a.yaml");
  EXPECT_EQ(r.diagnostics.items()[0].message.rfind("YAML syntax: ", 0), 0u);
  EXPECT_EQ(r.diagnostics.items()[1].str(),
            "b.yaml:2:54: error: unknown key 'colour' in a host\n"
            "  hint: allowed keys: name, description, segment, addresses, checks");
  EXPECT_EQ(r.policy.hosts.size(), 1u);
}

}  // namespace
}  // namespace bulwark::policies
