// Validator diagnostics: cross references, addresses, VLANs, VPN pools, rule order, NAT.
// Each test checks the complete list of diagnostics, exactly as `bulwarkctl validate`
// prints them, so a missing, extra or reworded diagnostic fails.
#include <gtest/gtest.h>

#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::diags;
using test::Lines;

TEST(ValidatorErrors, MissingGatewaySection) {
  EXPECT_EQ(diags(R"(segments:
  - { name: lan, interface: eth1, ipv4: { subnet: 10.0.0.0/24 } }
)"),
            (Lines{"t.yaml:1:1: error: the policy has no 'gateway' section\n"
                   "  hint: add 'gateway: { uplink: <interface> }' to one of its files"}));
}

TEST(ValidatorErrors, MissingGatewaySectionInADirectoryPointsAtTheFirstFile) {
  auto r = loadPolicy(std::vector<Source>{{"a.yaml", "segments: []\n"}, {"b.yaml", "hosts: []\n"}});
  validatePolicy(r.policy, r.diagnostics);
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{"a.yaml:1:1: error: the policy has no 'gateway' section\n"
                   "  hint: add 'gateway: { uplink: <interface> }' to one of its files"}));
}

TEST(ValidatorErrors, NoMissingGatewayErrorWhenAFileDidNotParse) {
  // The gateway section may be in the unparsable part: only the syntax error is reported.
  EXPECT_EQ(diags("gateway:\n  uplink: eth0 : : [\n"),
            (Lines{"t.yaml:2:16: error: YAML syntax: illegal map value"}));
  auto r = loadPolicy(std::vector<Source>{{"a.yaml", "segments: []\n"}, {"b.yaml", "gateway: { uplink: [\n"}});
  validatePolicy(r.policy, r.diagnostics);
  ASSERT_EQ(r.diagnostics.items().size(), 1u) << ::testing::PrintToString(test::strs(r.diagnostics));
  EXPECT_EQ(r.diagnostics.items()[0].message.rfind("YAML syntax: ", 0), 0u);
}

TEST(ValidatorErrors, TrunkSameAsUplink) {
  EXPECT_EQ(diags("gateway: { uplink: eth0, trunk: eth0 }\n"),
            (Lines{"t.yaml:1:33: error: the trunk and the uplink are the same interface 'eth0'"}));
}

TEST(ValidatorErrors, DuplicateNamesOfTheSameKind) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
  - { name: lan, vlan: 11, ipv4: { subnet: 10.1.0.0/24 } }
services:
  - { name: web, ports: [tcp/80] }
  - { name: web, ports: [tcp/8080] }
rules:
  - { name: r, from: lan, to: internet, services: [web], action: allow }
  - { name: r, from: lan, to: internet, services: [tcp/22], action: deny }
)"),
            (Lines{"t.yaml:4:13: error: duplicate name 'lan': already used by the segment at t.yaml:3:13",
                   "t.yaml:7:13: error: duplicate name 'web': already used by the service at t.yaml:6:13",
                   "t.yaml:10:13: error: duplicate name 'r': already used by the rule at t.yaml:9:13"}));
}

TEST(ValidatorErrors, DuplicateNamesAcrossKinds) {
  // Segments, hosts, zones and VPN groups share one namespace; services do not.
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: lan, segment: dmz, addresses: [10.1.0.5] }
services:
  - { name: dmz, ports: [tcp/80] }
zones:
  - { name: inside, segments: [lan] }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: inside, pool: 10.250.0.0/24, access: [{ to: internet, services: [dmz] }] }
)"),
            (Lines{"t.yaml:6:13: error: duplicate name 'lan': already used by the segment at t.yaml:3:13",
                   "t.yaml:15:15: error: duplicate name 'inside': already used by the zone at t.yaml:10:13"}));
}

TEST(ValidatorErrors, ReservedNames) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: any, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
  - { name: lan, vlan: 11, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: internet, segment: lan, addresses: [10.1.0.5] }
services:
  - { name: any, ports: [tcp/80] }
zones:
  - { name: internet, segments: [lan] }
)"),
            (Lines{"t.yaml:3:13: error: 'any' is a reserved name\n"
                   "  hint: choose another name for this segment",
                   "t.yaml:6:13: error: 'internet' is a reserved name\n"
                   "  hint: choose another name for this host",
                   "t.yaml:8:13: error: 'any' is a reserved service name",
                   "t.yaml:10:13: error: 'internet' is a reserved name\n"
                   "  hint: choose another name for this zone"}));
}

TEST(ValidatorErrors, UnknownSegmentOfHost) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: web, segment: dmx, addresses: [10.1.0.5] }
  - { name: db, segment: backend, addresses: [10.1.0.6] }
)"),
            (Lines{"t.yaml:5:27: error: unknown segment 'dmx'\n"
                   "  hint: did you mean 'dmz'?",
                   "t.yaml:6:26: error: unknown segment 'backend'"}));
}

TEST(ValidatorErrors, UnknownRuleEndpointsAndServices) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.5] }
services:
  - { name: https, ports: [tcp/443] }
rules:
  - name: in
    from: internt
    to: [wbe, dmz]
    services: [htps, tcp/80]
    action: allow
  - { name: out, from: dmz, to: elsewhere, services: [smtp], action: allow }
)"),
            (Lines{"t.yaml:10:11: error: unknown zone, segment, host or VPN group 'internt'\n"
                   "  hint: did you mean 'internet'?",
                   "t.yaml:11:10: error: unknown zone, segment, host or VPN group 'wbe'\n"
                   "  hint: did you mean 'web'?",
                   "t.yaml:12:16: error: unknown service 'htps'\n"
                   "  hint: did you mean 'https'?",
                   "t.yaml:14:33: error: unknown zone, segment, host or VPN group 'elsewhere'",
                   "t.yaml:14:55: error: unknown service 'smtp'"}));
}

// A zone's segments and VPN groups: each known, and in one zone alone.
TEST(ValidatorErrors, UnknownAndDoubledZoneMembers) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: ops, pool: 10.250.0.0/24, access: [{ to: lan, services: [any] }] }
zones:
  - { name: inside, segments: [lan, lam], vpn_groups: [opz, ops] }
  - { name: admins, vpn_groups: [ops] }
)"),
            (Lines{"t.yaml:10:37: error: unknown segment 'lam'\n"
                   "  hint: did you mean 'lan'?",
                   "t.yaml:10:56: error: unknown VPN group 'opz'\n"
                   "  hint: did you mean 'ops'?",
                   "t.yaml:11:34: error: VPN group 'ops' is already in zone 'inside'"}));
}

TEST(ValidatorErrors, SegmentInTwoZones) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
zones:
  - { name: a, segments: [lan] }
  - { name: b, segments: [lan] }
)"),
            (Lines{"t.yaml:6:27: error: segment 'lan' is already in zone 'a'\n"
                   "  hint: a segment belongs to one zone"}));
}

TEST(ValidatorErrors, UnknownDnatTarget) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.5] }
rules:
  - { name: in, from: internet, to: web, services: [tcp/443], action: allow }
nat:
  dnat:
    - { name: d1, vip: 198.51.100.1, service: tcp/443, to: wbe }
)"),
            (Lines{"t.yaml:10:60: error: unknown host 'wbe'\n"
                   "  hint: did you mean 'web'?"}));
}

TEST(ValidatorErrors, UnknownNamesInSnatAndExpectations) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
nat:
  snat:
    - { name: out, from: [lam], to: masquerade }
expect:
  - { from: lan, to: internt, service: htp, verdict: deny }
)"),
            (Lines{"t.yaml:6:27: error: unknown zone, segment, host or VPN group 'lam'\n"
                   "  hint: did you mean 'lan'?",
                   "t.yaml:8:22: error: unknown zone, segment, host or VPN group 'internt'\n"
                   "  hint: did you mean 'internet'?",
                   "t.yaml:8:40: error: unknown service 'htp'"}));
}

TEST(ValidatorErrors, OverlappingSubnets) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/16 }
    ipv6: { subnet: 2001:db8::/48 }
  - name: dmz
    vlan: 20
    ipv4: { subnet: 10.0.1.0/24 }
    ipv6: { subnet: 2001:db8:0:1::/64 }
)"),
            (Lines{"t.yaml:9:11: error: subnet 10.0.1.0/24 of segment 'dmz' overlaps subnet "
                   "10.0.0.0/16 of segment 'lan' at t.yaml:5:11",
                   "t.yaml:10:11: error: subnet 2001:db8:0:1::/64 of segment 'dmz' overlaps subnet "
                   "2001:db8::/48 of segment 'lan' at t.yaml:6:11"}));
}

TEST(ValidatorErrors, VlanIdReused) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }
  - name: dmz
    vlan: 10
    ipv4: { subnet: 10.1.0.0/24 }
)"),
            (Lines{"t.yaml:7:11: error: VLAN 10 of segment 'dmz' is already used by segment 'lan' at t.yaml:4:11"}));
}

TEST(ValidatorErrors, VlanWithoutGatewayTrunk) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0 }
segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }
)"),
            (Lines{"t.yaml:4:11: error: segment 'lan' has a VLAN id but the gateway has no 'trunk'\n"
                   "  hint: name the trunk interface in 'gateway: { trunk: ... }'"}));
}

TEST(ValidatorErrors, SegmentWithBothVlanAndInterface) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: both
    vlan: 12
    interface: eth2
    ipv4: { subnet: 10.2.0.0/24 }
)"),
            (Lines{"t.yaml:3:11: error: segment 'both' needs exactly one of 'vlan' or 'interface'\n"
                   "  hint: a VLAN segment lives on the gateway's trunk; drop 'interface'"}));
}

TEST(ValidatorErrors, SegmentWithNeitherVlanNorInterface) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: neither
    ipv4: { subnet: 10.4.0.0/24 }
)"),
            (Lines{"t.yaml:3:11: error: segment 'neither' needs exactly one of 'vlan' or 'interface'\n"
                   "  hint: give its 802.1Q 'vlan' id on the trunk, or the plain 'interface' it uses"}));
}

TEST(ValidatorErrors, SegmentWithoutAddresses) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0 }
segments:
  - name: lan
    interface: eth1
)"),
            (Lines{"t.yaml:3:11: error: segment 'lan' has no addresses\n"
                   "  hint: give it an 'ipv4' and/or 'ipv6' subnet"}));
}

TEST(ValidatorErrors, SegmentInterfaceClashes) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: a, interface: eth0, ipv4: { subnet: 10.0.0.0/24 } }
  - { name: b, interface: eth1, ipv4: { subnet: 10.1.0.0/24 } }
  - { name: c, interface: eth2, ipv4: { subnet: 10.2.0.0/24 } }
  - { name: d, interface: eth2, ipv4: { subnet: 10.3.0.0/24 } }
)"),
            (Lines{"t.yaml:3:27: error: segment 'a' uses interface 'eth0', which is the gateway's uplink",
                   "t.yaml:4:27: error: segment 'b' uses interface 'eth1', which is the gateway's trunk",
                   "t.yaml:6:27: error: interface 'eth2' of segment 'd' is already used by segment 'c'"}));
}

TEST(ValidatorErrors, SegmentGatewayAddress) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: a, vlan: 10, ipv4: { subnet: 10.0.0.0/24, gateway: 10.9.0.1 } }
  - { name: b, vlan: 11, ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.0 } }
  - { name: c, vlan: 12, ipv4: { subnet: 10.2.0.0/24, gateway: 10.2.0.255 } }
  - { name: d, vlan: 13, ipv6: { subnet: 2001:db8::/64, gateway: 2001:db9::1 } }
  - { name: e, vlan: 14, ipv4: { subnet: 10.4.0.0/31, gateway: 10.4.0.0 } }
)"),
            (Lines{"t.yaml:3:32: error: gateway address 10.9.0.1 of segment 'a' is outside its subnet 10.0.0.0/24",
                   "t.yaml:4:32: error: gateway address 10.1.0.0 of segment 'b' is the network or broadcast "
                   "address of 10.1.0.0/24",
                   "t.yaml:5:32: error: gateway address 10.2.0.255 of segment 'c' is the network or broadcast "
                   "address of 10.2.0.0/24",
                   "t.yaml:6:32: error: gateway address 2001:db9::1 of segment 'd' is outside its subnet "
                   "2001:db8::/64"}));
}

TEST(ValidatorErrors, HostOutsideItsSegmentSubnet) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
hosts:
  - { name: pc, segment: lan, addresses: [10.0.1.5] }
)"),
            (Lines{"t.yaml:5:43: error: address 10.0.1.5 of host 'pc' is outside its segment 'lan' (10.0.0.0/24)\n"
                   "  hint: fix the address or move the host to the segment that holds it"}));
}

TEST(ValidatorErrors, HostOnGatewayNetworkOrBroadcastAddress) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24, gateway: 10.0.0.1 } }
hosts:
  - { name: a, segment: lan, addresses: [10.0.0.1] }
  - { name: b, segment: lan, addresses: [10.0.0.0] }
  - { name: c, segment: lan, addresses: [10.0.0.255] }
)"),
            (Lines{"t.yaml:5:42: error: address 10.0.0.1 of host 'a' is the gateway's own address on segment 'lan'",
                   "t.yaml:6:42: error: address 10.0.0.0 of host 'b' is the network or broadcast address of 10.0.0.0/24",
                   "t.yaml:7:42: error: address 10.0.0.255 of host 'c' is the network or broadcast address of "
                   "10.0.0.0/24"}));
}

TEST(ValidatorErrors, HostAddressOfAFamilyTheSegmentLacks) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
hosts:
  - { name: pc, segment: lan, addresses: [10.0.0.5, 2001:db8::5] }
)"),
            (Lines{"t.yaml:5:53: error: host 'pc' has an IPv6 address but segment 'lan' has no IPv6 subnet"}));
}

TEST(ValidatorErrors, DuplicateHostAddress) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 }, ipv6: { subnet: 2001:db8::/64 } }
hosts:
  - { name: a, segment: lan, addresses: [10.0.0.7, 2001:db8::7] }
  - { name: b, segment: lan, addresses: [10.0.0.8, 2001:db8::7] }
)"),
            (Lines{"t.yaml:6:52: error: address 2001:db8::7 of host 'b' is also host 'a's"}));
}

TEST(ValidatorErrors, VpnPoolOverlappingASegment) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - name: ops
      pool: 10.0.0.128/25
      access:
        - { to: lan, services: [any] }
)"),
            (Lines{"t.yaml:9:13: error: pool 10.0.0.128/25 of VPN group 'ops' overlaps subnet 10.0.0.0/24 of "
                   "segment 'lan'"}));
}

TEST(ValidatorErrors, VpnPoolOverlappingAnotherPool) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - name: dba
      pool: 10.250.0.0/24
      access: [{ to: lan, services: [tcp/3306] }]
    - name: dev
      pool: 10.250.0.0/25
      access: [{ to: lan, services: [tcp/22] }]
)"),
            (Lines{"t.yaml:12:13: error: pool 10.250.0.0/25 of VPN group 'dev' overlaps pool 10.250.0.0/24 of "
                   "group 'dba'"}));
}

TEST(ValidatorErrors, VpnPoolTooSmall) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: tiny, pool: 10.251.0.0/31, access: [{ to: lan, services: [tcp/22] }] }
    - { name: tiny6, pool: "2001:db8:ff::/127", access: [{ to: lan, services: [tcp/22] }] }
    - { name: ok, pool: 10.252.0.0/30, access: [{ to: lan, services: [tcp/22] }] }
)"),
            (Lines{"t.yaml:8:27: error: pool 10.251.0.0/31 of VPN group 'tiny' is too small\n"
                   "  hint: give it at least a /30 (IPv4) or /126 (IPv6)",
                   "t.yaml:9:28: error: pool 2001:db8:ff::/127 of VPN group 'tiny6' is too small\n"
                   "  hint: give it at least a /30 (IPv4) or /126 (IPv6)"}));
}

TEST(ValidatorErrors, VpnGroupWithoutAccessAndVpnWithoutGroups) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0 }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: idle, pool: 10.252.0.0/24 }
)"),
            (Lines{"t.yaml:6:15: warning: VPN group 'idle' has no 'access': its admins reach nothing"}));
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0 }
vpn:
  ca: CA
  local_id: vpn.example
  groups: []
)"),
            (Lines{"t.yaml:5:11: error: the VPN has no admin groups"}));
}

constexpr std::string_view kVpnZone = R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
  - { name: mgmt, vlan: 99, ipv4: { subnet: 10.99.0.0/24 } }
zones:
  - { name: admins, segments: [mgmt], vpn_groups: [ops] }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: ops, pool: 10.250.0.0/24, access: [{ to: mgmt, services: [any] }] }
    - { name: dba, pool: 10.251.0.0/24, access: [{ to: lan, services: [tcp/3306] }] }
rules:
)";  // rules start on line 14

TEST(ValidatorErrors, RuleTowardsAVpnPoolIsAWarning) {
  EXPECT_EQ(diags(std::string(kVpnZone) +
                  "  - { name: to-ops, from: lan, to: ops, services: [tcp/22], action: allow }\n"
                  "  - { name: to-dba, from: lan, to: [10.251.0.7], services: [tcp/22], action: allow }\n"),
            (Lines{"t.yaml:14:36: warning: rule 'to-ops' names VPN group 'ops' as a destination; connections "
                   "towards admins' virtual IPs are not opened by Bulwark (only replies to the admins' own "
                   "connections pass)\n"
                   "  hint: remove it from 'to'",
                   "t.yaml:15:37: warning: rule 'to-dba' names VPN group 'dba' as a destination; connections "
                   "towards admins' virtual IPs are not opened by Bulwark (only replies to the admins' own "
                   "connections pass)\n"
                   "  hint: remove it from 'to'"}));
}

// A segment that shares its zone with a VPN group is not the group's pool.
TEST(ValidatorErrors, RuleTowardsASegmentInAZoneWithAVpnGroupIsFine) {
  EXPECT_EQ(diags(std::string(kVpnZone) +
                  "  - { name: lan-to-mgmt, from: lan, to: mgmt, services: [tcp/22], action: allow }\n"
                  "  - { name: lan-to-host, from: lan, to: 10.99.0.5, services: [tcp/443], action: allow }\n"),
            Lines{});
}

constexpr std::string_view kRuleBase = R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.10] }
rules:
)";  // rules start on line 8

std::string withRules(std::string_view rules) { return std::string(kRuleBase) + std::string(rules); }

TEST(ValidatorErrors, RuleContradictedByAnEarlierRuleIsAnError) {
  EXPECT_EQ(diags(withRules(R"(  - { name: a, from: lan, to: any, services: [tcp/1-1024], action: allow }
  - { name: b, from: lan, to: web, services: [tcp/443], action: deny }
)")),
            (Lines{"t.yaml:9:5: error: rule 'b' denies flows that rule 'a' at t.yaml:8:5 already allows: the "
                   "same flows are both allowed and denied\n"
                   "  hint: first match wins; move 'b' above 'a' or narrow 'a'"}));
  EXPECT_EQ(diags(withRules(R"(  - { name: block, from: any, to: dmz, services: [any], action: reject }
  - { name: open, from: internet, to: web, services: [tcp/443], action: allow }
)")),
            (Lines{"t.yaml:9:5: error: rule 'open' allows flows that rule 'block' at t.yaml:8:5 already denies: "
                   "the same flows are both allowed and denied\n"
                   "  hint: first match wins; move 'open' above 'block' or narrow 'block'"}));
}

TEST(ValidatorErrors, RuleShadowedWithTheSameActionIsAWarning) {
  EXPECT_EQ(diags(withRules(R"(  - { name: a, from: lan, to: any, services: [tcp/1-1024], action: allow }
  - { name: c, from: lan, to: dmz, services: [tcp/80], action: allow }
  - { name: d, from: any, to: any, services: [any], action: deny }
  - { name: e, from: lan, to: internet, services: [udp/53], action: reject }
)")),
            (Lines{"t.yaml:9:5: warning: rule 'c' is shadowed by rule 'a' at t.yaml:8:5 and never matches\n"
                   "  hint: remove it, or move it above 'a' if it should decide first",
                   "t.yaml:11:5: warning: rule 'e' is shadowed by rule 'd' at t.yaml:10:5 and never matches\n"
                   "  hint: remove it, or move it above 'd' if it should decide first"}));
}

TEST(ValidatorErrors, PartlyOverlappingRulesAreFine) {
  // Narrow first, broad after: the usual exception-then-rule pattern.
  EXPECT_EQ(diags(withRules(R"(  - { name: narrow, from: lan, to: web, services: [tcp/22], action: deny }
  - { name: broad, from: lan, to: dmz, services: [tcp/1-1024], action: allow }
  - { name: other-ports, from: lan, to: dmz, services: [tcp/1000-2000], action: allow }
  - { name: literal, from: 10.0.0.0/25, to: 198.51.100.0/24, services: [any], action: allow }
  - { name: wider, from: 10.0.0.0/24, to: 198.51.100.0/24, services: [any], action: deny }
)")),
            Lines{});
}

TEST(ValidatorErrors, LimitOnADenyRule) {
  EXPECT_EQ(diags(withRules(R"(  - name: no-ssh
    from: internet
    to: dmz
    services: [tcp/22]
    action: deny
    limit: { connections: 10 }
)")),
            (Lines{"t.yaml:13:12: error: rule 'no-ssh' sets a limit but does not allow anything\n"
                   "  hint: limits apply to the connections an allow rule lets through"}));
}

TEST(ValidatorErrors, ServiceListingOverlappingPorts) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0 }
services:
  - { name: web, ports: [tcp/80-90, tcp/85, udp/85] }
)"),
            (Lines{"t.yaml:3:25: warning: service 'web' lists tcp/85, which overlaps tcp/80-90"}));
}

constexpr std::string_view kNatBase = R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.10] }
  - { name: web2, segment: dmz, addresses: [10.1.0.11] }
services:
  - { name: https, ports: [tcp/443] }
  - { name: web-ports, ports: [tcp/80, tcp/443] }
rules:
  - { name: in, from: internet, to: web, services: [https, tcp/8080], action: allow }
nat:
  dnat:
)";  // dnat entries start on line 14

std::string withDnat(std::string_view dnat) { return std::string(kNatBase) + std::string(dnat); }

TEST(ValidatorErrors, DnatVipEqualToAHostAddress) {
  EXPECT_EQ(diags(withDnat("    - { name: d1, vip: 10.1.0.11, service: https, to: web }\n")),
            (Lines{"t.yaml:14:24: error: VIP 10.1.0.11 of dnat 'd1' is host 'web2's address\n"
                   "  hint: a VIP is an address only the gateway answers for"}));
}

TEST(ValidatorErrors, DnatToUnknownHost) {
  EXPECT_EQ(diags(withDnat("    - { name: d1, vip: 198.51.100.1, service: https, to: nohost }\n")),
            (Lines{"t.yaml:14:58: error: unknown host 'nohost'"}));
}

TEST(ValidatorErrors, DnatOverlappingAnotherDnat) {
  EXPECT_EQ(diags(withDnat(R"(    - { name: d1, vip: 198.51.100.2, service: https, to: web }
    - { name: d2, vip: 198.51.100.2, service: tcp/400-500, to: web }
    - { name: d3, vip: 198.51.100.3, service: tcp/400-500, to: web }
)")),
            (Lines{"t.yaml:15:7: warning: dnat 'd2' sends tcp/400-500 to host 'web', but no rule allows internet "
                   "to reach it there\n"
                   "  hint: add a rule from internet to web for tcp/400-500",
                   "t.yaml:15:47: error: dnat 'd2' and dnat 'd1' at t.yaml:14:7 both translate VIP 198.51.100.2 "
                   "tcp/400-500",
                   "t.yaml:16:7: warning: dnat 'd3' sends tcp/400-500 to host 'web', but no rule allows internet "
                   "to reach it there\n"
                   "  hint: add a rule from internet to web for tcp/400-500"}));
}

TEST(ValidatorErrors, DnatWithNoAllowingRuleIsAWarning) {
  EXPECT_EQ(diags(withDnat(R"(    - { name: ok, vip: 198.51.100.1, service: https, to: web }
    - { name: moved, vip: 198.51.100.1, service: tcp/80, to: web, port: 8080 }
    - { name: nope, vip: 198.51.100.1, service: tcp/22, to: web2 }
)")),
            (Lines{"t.yaml:16:7: warning: dnat 'nope' sends tcp/22 to host 'web2', but no rule allows internet "
                   "to reach it there\n"
                   "  hint: add a rule from internet to web2 for tcp/22"}));
}

TEST(ValidatorErrors, DnatBlockedByAnEarlierDenyIsAWarning) {
  EXPECT_EQ(diags(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.10] }
rules:
  - { name: closed, from: any, to: dmz, services: [tcp/443], action: deny }
  - { name: open, from: internet, to: [web, 10.1.0.0/24], services: [tcp/1-1000], action: allow }
nat:
  dnat:
    - { name: d, vip: 198.51.100.1, service: tcp/443, to: web }
)"),
            (Lines{"t.yaml:11:7: warning: dnat 'd' sends tcp/443 to host 'web', but no rule allows internet to "
                   "reach it there\n"
                   "  hint: add a rule from internet to web for tcp/443"}));
}

TEST(ValidatorErrors, DnatServiceShapes) {
  EXPECT_EQ(diags(withDnat(R"(    - { name: a, vip: 198.51.100.4, service: any, to: web }
    - { name: b, vip: 198.51.100.5, service: tcp/1000-1010, to: web, port: 8080 }
    - { name: c, vip: 198.51.100.6, service: web-ports, to: web, port: 443 }
    - { name: d, vip: 2001:db8::1, service: https, to: web }
)")),
            (Lines{"t.yaml:14:46: error: dnat 'a' needs a specific service, not 'any'",
                   "t.yaml:15:76: error: dnat 'b' translates to one port, but its service tcp/1000-1010 is a range",
                   "t.yaml:16:72: error: dnat 'c' translates to one port, but its service has 2 ports\n"
                   "  hint: write one dnat entry per port",
                   "t.yaml:17:56: error: dnat 'd' sends an IPv6 VIP to host 'web', which has no such address"}));
}

// syn_limit counts TCP SYNs: on a service without a TCP port it would limit nothing.
TEST(ValidatorErrors, DnatSynLimitNeedsATcpPort) {
  EXPECT_EQ(diags(withDnat(
                R"(    - { name: e, vip: 198.51.100.7, service: udp/53, to: web, syn_limit: { rate: 100/second } }
    - { name: f, vip: 198.51.100.8, service: https, to: web, syn_limit: { rate: 100/second } }
    - { name: g, vip: 198.51.100.9, service: udp/53, to: web, syn_limit: off }
)")),
            (Lines{"t.yaml:14:7: warning: dnat 'e' sends udp/53 to host 'web', but no rule allows internet to reach it "
                   "there\n"
                   "  hint: add a rule from internet to web for udp/53",
                   "t.yaml:14:74: error: dnat 'e' has a syn_limit, but its service udp/53 has no TCP port\n"
                   "  hint: syn_limit counts new TCP connections; remove it",
                   "t.yaml:16:7: warning: dnat 'g' sends udp/53 to host 'web', but no rule allows internet to reach it "
                   "there\n"
                   "  hint: add a rule from internet to web for udp/53"}));
}

TEST(ValidatorErrors, CampusExampleIsClean) {
  auto r = loadAndValidate(test::campusPath());
  EXPECT_EQ(test::strs(r.diagnostics), Lines{});
  EXPECT_EQ(r.policy.segments.size(), 5u);
}

}  // namespace
}  // namespace bulwark::policies
