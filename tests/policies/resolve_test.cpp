// Name resolution (resolve.h) and the zone matrix (matrix.h).
#include "bulwark/policies/resolve.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "bulwark/policies/matrix.h"
#include "test_support.h"

namespace bulwark::policies {
namespace {

// lan and dmz are zones of their own; app and db share the zone "inside"; two VPN groups,
// one alone, one in the zone "admins" with a segment.
constexpr std::string_view kPolicy = R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
  - name: dmz
    vlan: 20
    ipv4: { subnet: 10.1.0.0/24 }
    ipv6: { subnet: "2001:db8:1::/64" }
  - { name: app, vlan: 30, ipv4: { subnet: 10.30.0.0/24 } }
  - { name: db, vlan: 40, ipv4: { subnet: 10.40.0.0/24 } }
  - { name: mgmt, vlan: 99, ipv4: { subnet: 10.99.0.0/24 } }
hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.10, "2001:db8:1::10"] }
  - { name: sql, segment: db, addresses: [10.40.0.5] }
services:
  - { name: web, description: "not a clash: services and endpoints are apart", ports: [tcp/80, tcp/443] }
  - { name: dns, ports: [udp/53, tcp/53] }
zones:
  - { name: inside, segments: [app, db] }
  - { name: admins, segments: [mgmt], vpn_groups: [ops] }
rules:
  - { name: r1, from: internet, to: web, services: [web], action: allow }
vpn:
  ca: CA
  local_id: vpn.example
  groups:
    - { name: ops, pool: 10.250.0.0/24, access: [{ to: inside, services: [any] }] }
    - { name: dba, pool: 10.251.0.0/24, access: [{ to: db, services: [tcp/3306] }] }
)";

class Resolve : public ::testing::Test {
 protected:
  Resolve() : loaded_(test::loadValid(kPolicy)), index_(loaded_.policy) {}

  ResolvedEndpoint ep(const std::string& text) {
    Endpoint e{text, {}, std::nullopt};
    if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) ||
                          text.find(':') != std::string::npos)) {
      e.literal = Prefix::parse(text);
      EXPECT_TRUE(e.literal) << text;
    }
    auto r = index_.endpoint(e);
    EXPECT_TRUE(r) << text;
    return r.value_or(ResolvedEndpoint{});
  }

  ServiceSet svc(const std::string& text) {
    ServiceRef s{text, {}, std::nullopt};
    if (text.find('/') != std::string::npos || text == "icmp") s.literal = parsePortSpec(text).spec;
    auto r = index_.service(s);
    EXPECT_TRUE(r) << text;
    return r.value_or(ServiceSet{});
  }

  static std::string atoms(const ResolvedEndpoint& r) {
    std::string s;
    for (const auto& a : r.atoms) {
      s += (s.empty() ? "" : " ") + a.zone + (a.prefix ? "@" + a.prefix->str() : "");
    }
    return s;
  }

  LoadResult loaded_;
  PolicyIndex index_;
};

TEST_F(Resolve, ZonesInDisplayOrder) {
  EXPECT_EQ(index_.zones(),
            (std::vector<std::string>{"inside", "admins", "lan", "dmz", "dba", "internet"}));
}

TEST_F(Resolve, ZoneOfSegmentAndGroup) {
  EXPECT_EQ(index_.zoneOfSegment("lan"), "lan");
  EXPECT_EQ(index_.zoneOfSegment("app"), "inside");
  EXPECT_EQ(index_.zoneOfSegment("db"), "inside");
  EXPECT_EQ(index_.zoneOfSegment("mgmt"), "admins");
  EXPECT_EQ(index_.zoneOfGroup("ops"), "admins");
  EXPECT_EQ(index_.zoneOfGroup("dba"), "dba");
}

TEST_F(Resolve, HostResolvesToItsAddressesInItsSegmentsZone) {
  auto r = ep("web");
  EXPECT_EQ(r.kind, EndpointKind::Host);
  EXPECT_EQ(atoms(r), "dmz@10.1.0.10/32 dmz@2001:db8:1::10/128");
  EXPECT_EQ(atoms(ep("sql")), "inside@10.40.0.5/32");
}

TEST_F(Resolve, SegmentAloneInItsZoneIsTheWholeZone) {
  auto r = ep("lan");
  EXPECT_EQ(r.kind, EndpointKind::Segment);
  EXPECT_EQ(atoms(r), "lan");
  EXPECT_EQ(atoms(ep("dmz")), "dmz");
}

TEST_F(Resolve, SegmentSharingAZoneIsItsSubnets) {
  auto r = ep("db");
  EXPECT_EQ(r.kind, EndpointKind::Segment);
  EXPECT_EQ(atoms(r), "inside@10.40.0.0/24");
  EXPECT_EQ(atoms(ep("mgmt")), "admins@10.99.0.0/24");
}

TEST_F(Resolve, ZoneIsTheWholeZone) {
  auto r = ep("inside");
  EXPECT_EQ(r.kind, EndpointKind::Zone);
  EXPECT_EQ(atoms(r), "inside");
}

TEST_F(Resolve, VpnGroup) {
  auto alone = ep("dba");
  EXPECT_EQ(alone.kind, EndpointKind::VpnGroup);
  EXPECT_EQ(atoms(alone), "dba");
  auto shared = ep("ops");
  EXPECT_EQ(shared.kind, EndpointKind::VpnGroup);
  EXPECT_EQ(atoms(shared), "admins@10.250.0.0/24");
}

TEST_F(Resolve, AnyIsEveryZoneAndInternetIsOne) {
  auto any = ep("any");
  EXPECT_EQ(any.kind, EndpointKind::Any);
  EXPECT_EQ(atoms(any), "inside admins lan dmz dba internet");
  auto internet = ep("internet");
  EXPECT_EQ(internet.kind, EndpointKind::Internet);
  EXPECT_EQ(atoms(internet), "internet");
}

TEST_F(Resolve, LiteralInsideOneSegment) {
  auto r = ep("10.1.0.128/25");
  EXPECT_EQ(r.kind, EndpointKind::Literal);
  EXPECT_EQ(atoms(r), "dmz@10.1.0.128/25");
  EXPECT_EQ(atoms(ep("10.40.0.5")), "inside@10.40.0.5/32");
  EXPECT_EQ(atoms(ep("10.250.0.7")), "admins@10.250.0.7/32");
  EXPECT_EQ(atoms(ep("2001:db8:1::/120")), "dmz@2001:db8:1::/120");
}

TEST_F(Resolve, LiteralOnTheInternet) {
  EXPECT_EQ(atoms(ep("198.51.100.0/24")), "internet@198.51.100.0/24");
  EXPECT_EQ(atoms(ep("2001:db8:2::/64")), "internet@2001:db8:2::/64");
}

TEST_F(Resolve, LiteralSpanningInternalSegmentsAndTheInternet) {
  auto r = ep("10.0.0.0/8");
  EXPECT_EQ(r.kind, EndpointKind::Literal);
  EXPECT_EQ(atoms(r),
            "lan@10.0.0.0/24 dmz@10.1.0.0/24 inside@10.30.0.0/24 inside@10.40.0.0/24 "
            "admins@10.99.0.0/24 admins@10.250.0.0/24 dba@10.251.0.0/24 internet@10.0.0.0/8");
  auto v6 = ep("2001:db8::/32");
  EXPECT_EQ(atoms(v6), "dmz@2001:db8:1::/64 internet@2001:db8::/32");
}

TEST_F(Resolve, UnknownNameResolvesToNothing) {
  EXPECT_FALSE(index_.endpoint(Endpoint{"nowhere", {}, std::nullopt}));
  EXPECT_FALSE(index_.service(ServiceRef{"gopher", {}, std::nullopt}));
}

TEST_F(Resolve, ZoneOfAddress) {
  auto zone = [&](std::string_view a) { return index_.zoneOfAddress(IpAddress::parse(a).value()); };
  EXPECT_EQ(zone("10.0.0.7"), "lan");
  EXPECT_EQ(zone("10.1.0.10"), "dmz");
  EXPECT_EQ(zone("2001:db8:1::10"), "dmz");
  EXPECT_EQ(zone("10.30.0.1"), "inside");
  EXPECT_EQ(zone("10.40.0.255"), "inside");
  EXPECT_EQ(zone("10.250.0.9"), "admins");  // VPN pool in a declared zone
  EXPECT_EQ(zone("10.251.0.9"), "dba");
  EXPECT_EQ(zone("10.2.0.1"), "internet");
  EXPECT_EQ(zone("198.51.100.7"), "internet");
  EXPECT_EQ(zone("2001:db8:2::1"), "internet");
}

TEST_F(Resolve, Services) {
  auto named = svc("web");
  EXPECT_FALSE(named.any);
  EXPECT_EQ(named.str(), "tcp/80,tcp/443");
  auto literal = svc("udp/5000-5100");
  EXPECT_EQ(literal.str(), "udp/5000-5100");
  auto any = svc("any");
  EXPECT_TRUE(any.any);
  EXPECT_EQ(any.str(), "any");
  EXPECT_EQ(svc("icmp").str(), "icmp");
}

TEST_F(Resolve, ServiceSetCoversAndOverlaps) {
  auto web = svc("web");
  auto https = svc("tcp/443");
  auto dns = svc("dns");
  auto any = svc("any");
  auto low = svc("tcp/1-1024");
  EXPECT_TRUE(web.covers(https));
  EXPECT_FALSE(https.covers(web));
  EXPECT_TRUE(low.covers(web));
  EXPECT_FALSE(web.covers(dns));
  EXPECT_TRUE(any.covers(web));
  EXPECT_TRUE(any.covers(any));
  EXPECT_FALSE(web.covers(any));
  EXPECT_TRUE(web.overlaps(https));
  EXPECT_TRUE(https.overlaps(web));
  EXPECT_TRUE(low.overlaps(dns));  // tcp/53
  EXPECT_FALSE(svc("udp/53").overlaps(https));
  EXPECT_FALSE(web.overlaps(svc("udp/80")));
  EXPECT_TRUE(any.overlaps(dns));
  EXPECT_TRUE(dns.overlaps(any));
  ServiceSet two{false, {parsePortSpec("tcp/80").spec.value(), parsePortSpec("tcp/443").spec.value()}};
  EXPECT_TRUE(web.covers(two));
  EXPECT_TRUE(two.covers(web));
}

TEST(Atom, CoversAndOverlaps) {
  Atom zone{"dmz", std::nullopt};
  Atom subnet{"dmz", Prefix::parse("10.1.0.0/24")};
  Atom host{"dmz", Prefix::parse("10.1.0.10")};
  Atom otherHost{"dmz", Prefix::parse("10.1.0.11")};
  Atom elsewhere{"lan", std::nullopt};
  EXPECT_TRUE(zone.covers(subnet));
  EXPECT_TRUE(zone.covers(zone));
  EXPECT_TRUE(subnet.covers(host));
  EXPECT_FALSE(host.covers(subnet));
  EXPECT_FALSE(subnet.covers(zone));
  EXPECT_FALSE(host.covers(otherHost));
  EXPECT_FALSE(zone.covers(elsewhere));
  EXPECT_TRUE(subnet.overlaps(zone));
  EXPECT_TRUE(host.overlaps(subnet));
  EXPECT_FALSE(host.overlaps(otherHost));
  EXPECT_FALSE(zone.overlaps(elsewhere));
}

TEST(EndpointKind, Names) {
  EXPECT_EQ(endpointKindName(EndpointKind::Any), "any");
  EXPECT_EQ(endpointKindName(EndpointKind::Internet), "internet");
  EXPECT_EQ(endpointKindName(EndpointKind::Zone), "zone");
  EXPECT_EQ(endpointKindName(EndpointKind::Segment), "segment");
  EXPECT_EQ(endpointKindName(EndpointKind::Host), "host");
  EXPECT_EQ(endpointKindName(EndpointKind::VpnGroup), "VPN group");
  EXPECT_EQ(endpointKindName(EndpointKind::Literal), "address");
}

TEST_F(Resolve, FlowRulesAreTheRulesThenVpnAccess) {
  auto rules = flowRules(loaded_.policy);
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].name, "r1");
  EXPECT_EQ(rules[0].rule, &loaded_.policy.rules[0]);
  EXPECT_EQ(rules[1].name, "vpn:ops#1");
  EXPECT_EQ(rules[1].action, Action::Allow);
  EXPECT_EQ(rules[1].rule, nullptr);
  ASSERT_EQ(rules[1].from.size(), 1u);
  EXPECT_EQ(rules[1].from[0].text, "ops");
  EXPECT_EQ(rules[2].name, "vpn:dba#1");
  EXPECT_EQ(rules[2].where.str(), "t.yaml:27:50");
}

// --- the campus example ------------------------------------------------------------------

class Campus : public ::testing::Test {
 protected:
  Campus() : loaded_(loadAndValidate(test::campusPath())), index_(loaded_.policy) {}

  [[nodiscard]] const std::vector<MatrixEntry>* cell(const ZoneMatrix& m, const std::string& from,
                                                     const std::string& to) const {
    auto it = m.cells.find({from, to});
    return it == m.cells.end() ? nullptr : &it->second;
  }
  static const MatrixEntry* entry(const std::vector<MatrixEntry>* cell, const std::string& service) {
    if (!cell) return nullptr;
    auto it = std::find_if(cell->begin(), cell->end(),
                           [&](const MatrixEntry& e) { return e.service == service; });
    return it == cell->end() ? nullptr : &*it;
  }

  LoadResult loaded_;
  PolicyIndex index_;
};

TEST_F(Campus, Zones) {
  ASSERT_TRUE(loaded_.ok());
  EXPECT_EQ(index_.zones(), (std::vector<std::string>{"dmz", "app", "db", "storage", "mgmt", "netops",
                                                      "dba", "internet"}));
  auto zone = [&](std::string_view a) { return index_.zoneOfAddress(IpAddress::parse(a).value()); };
  EXPECT_EQ(zone("203.0.113.10"), "dmz");  // the VIP lives in the public segment
  EXPECT_EQ(zone("2001:db8:10::11"), "dmz");
  EXPECT_EQ(zone("10.250.0.130"), "dba");
  EXPECT_EQ(zone("10.250.0.5"), "netops");
  EXPECT_EQ(zone("198.51.100.7"), "internet");
}

TEST_F(Campus, MatrixInternetToDmzHasHttps) {
  auto m = buildZoneMatrix(index_);
  EXPECT_EQ(m.zones, index_.zones());
  const auto* c = cell(m, "internet", "dmz");
  ASSERT_NE(c, nullptr);
  const auto* https = entry(c, "https");
  ASSERT_NE(https, nullptr);
  EXPECT_EQ(https->rule, "public-web");
  EXPECT_EQ(https->action, Action::Allow);
  EXPECT_TRUE(https->partial);  // only lb1 and lb2, not the whole zone
  EXPECT_NE(entry(c, "http"), nullptr);
  EXPECT_NE(entry(c, "rtmp"), nullptr);
  EXPECT_EQ(entry(c, "ssh"), nullptr);
}

TEST_F(Campus, MatrixMgmtToInternetHasDns) {
  auto m = buildZoneMatrix(index_);
  const auto* c = cell(m, "mgmt", "internet");
  ASSERT_NE(c, nullptr);
  const auto* dns = entry(c, "dns");
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->rule, "egress");
  EXPECT_FALSE(dns->partial);
  std::vector<std::string> services;
  for (const auto& e : *c) services.push_back(e.service);
  EXPECT_EQ(services, (std::vector<std::string>{"http", "https", "dns", "ntp"}));
}

TEST_F(Campus, MatrixHasNoCellForWhatNothingAllows) {
  auto m = buildZoneMatrix(index_);
  EXPECT_EQ(cell(m, "internet", "db"), nullptr);
  EXPECT_EQ(cell(m, "internet", "mgmt"), nullptr);
  EXPECT_EQ(cell(m, "dmz", "internet"), nullptr);  // the load balancers do not need it
  EXPECT_EQ(cell(m, "dba", "mgmt"), nullptr);
  EXPECT_EQ(cell(m, "storage", "db"), nullptr);
}

TEST_F(Campus, MatrixVpnAccess) {
  auto m = buildZoneMatrix(index_);
  const auto* c = cell(m, "netops", "mgmt");
  ASSERT_NE(c, nullptr);
  const auto* any = entry(c, "any");
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->rule, "vpn:netops#1");
  EXPECT_FALSE(any->partial);
  const auto* dba = cell(m, "dba", "db");
  ASSERT_NE(dba, nullptr);
  EXPECT_NE(entry(dba, "mysql"), nullptr);
  EXPECT_NE(entry(dba, "ssh"), nullptr);
  EXPECT_EQ(entry(dba, "mysql")->rule, "vpn:dba#1");
}

TEST_F(Campus, MatrixEntriesOfHostRulesArePartial) {
  auto m = buildZoneMatrix(index_);
  const auto* c = cell(m, "app", "db");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].service, "mysql");
  EXPECT_EQ((*c)[0].rule, "web-to-db");
  EXPECT_TRUE((*c)[0].partial);
}

}  // namespace
}  // namespace bulwark::policies
