// The canonical formatter: key order, layout, comments, quoting, refusals, round trips.
#include "bulwark/policies/formatter.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::Lines;

// Formats and expects success.
std::string fmt(std::string_view text) {
  auto r = formatPolicyText(text, "t.yaml");
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(test::strs(r.diagnostics));
  return r.text;
}

// Everything the loader read, as text, so two policies can be compared for equality.
std::string summary(const Policy& p) {
  std::string s;
  auto line = [&](const std::string& x) { s += x + "\n"; };
  if (p.gateway) line("gateway " + p.gateway->name + " " + p.gateway->uplink + " " + p.gateway->trunk);
  for (const auto& x : p.segments) {
    line("segment " + x.name + " [" + x.description + "] vlan=" + (x.vlan ? std::to_string(*x.vlan) : "-") +
         " if=" + x.interface + " v4=" + (x.ipv4 ? x.ipv4->subnet.str() : "-") +
         " gw4=" + (x.ipv4 && x.ipv4->gateway ? x.ipv4->gateway->str() : "-") +
         " v6=" + (x.ipv6 ? x.ipv6->subnet.str() : "-") + " mtu=" + std::to_string(x.mtu));
  }
  for (const auto& x : p.hosts) {
    std::string a;
    for (const auto& ip : x.addresses) a += ip.str() + ",";
    for (const auto& c : x.checks) a += " check=" + c.name;
    line("host " + x.name + " [" + x.description + "] " + x.segment.name + " " + a);
  }
  for (const auto& x : p.services) {
    std::string ports;
    for (const auto& sp : x.ports) ports += sp.str() + ",";
    line("service " + x.name + " [" + x.description + "] " + ports);
  }
  for (const auto& x : p.checks) {
    std::string expect;
    for (auto e : x.expect) expect += std::to_string(e) + ",";
    line("check " + x.name + " [" + x.description + "] " + std::string(checkTypeName(x.type)) + " " +
         (x.service ? x.service->text : "-") + " " + x.path + " " + x.host + " " + expect + " " +
         std::to_string(x.intervalMs) + "/" + std::to_string(x.timeoutMs) + " " + std::to_string(x.rise) + "/" +
         std::to_string(x.fall));
  }
  for (const auto& x : p.zones) {
    std::string m;
    for (const auto& r : x.segments) m += r.name + ",";
    for (const auto& r : x.vpnGroups) m += "vpn:" + r.name + ",";
    line("zone " + x.name + " " + m);
  }
  for (const auto& x : p.rules) {
    std::string f, t, sv;
    for (const auto& e : x.from) f += e.text + ",";
    for (const auto& e : x.to) t += e.text + ",";
    for (const auto& e : x.services) sv += e.text + ",";
    std::string lim;
    if (x.limits) {
      if (x.limits->rate) lim += std::to_string(x.limits->rate->count) + "/" + x.limits->rate->per + "b" +
                                 std::to_string(x.limits->rate->burst);
      if (x.limits->connections) lim += " c" + std::to_string(*x.limits->connections);
    }
    line("rule " + x.name + " [" + x.description + "] " + f + " -> " + t + " " + sv + " " +
         std::string(actionName(x.action)) + " " + lim + (x.log ? " log" : ""));
  }
  for (const auto& x : p.dnat) {
    std::string to;
    for (const auto& b : x.to) to += b.text + ",";
    line("dnat " + x.name + " " + x.vip.str() + " " + x.service.text + " " + to + " " +
         std::string(dnatModeName(x.mode)) + " " + (x.check ? x.check->name : "-") +
         (x.port ? " " + std::to_string(*x.port) : ""));
  }
  for (const auto& x : p.snat) {
    std::string f;
    for (const auto& e : x.from) f += e.text + ",";
    line("snat " + x.name + " " + f + (x.masquerade ? " masquerade" : " " + x.address->str()));
  }
  if (p.vpn) {
    line("vpn " + p.vpn->caName + " " + p.vpn->localId);
    for (const auto& g : p.vpn->groups) {
      std::string acc;
      for (const auto& a : g.access) {
        for (const auto& e : a.to) acc += e.text + ",";
        acc += ":";
        for (const auto& e : a.services) acc += e.text + ",";
        acc += ";";
      }
      line("group " + g.name + " [" + g.description + "] " + g.pool.str() + " " + acc);
    }
  }
  for (const auto& x : p.expectations) {
    line("expect " + x.from.text + " " + x.to.text + " " + x.service.text + " " +
         std::string(actionName(x.verdict)));
  }
  return s;
}

constexpr std::string_view kMessy = R"(# A policy written by hand, in no particular order.

rules:
    # the public side
    - action: allow   # let it in
      services: [ https, "tcp/8443" ]
      to: web
      from: internet
      name: web-in
      limit: {connections: 100, rate: 10/second}
    - {action: deny, name: no-db, services: [any], to: [db], from: internet}
hosts:
    - addresses:
        - 10.1.0.10
      segment: dmz   # the DMZ
      name: web
    - {segment: dmz, name: web2, addresses: [10.1.0.11], description: "second, spare"}
segments:
    -   ipv4:
            gateway: 10.1.0.1
            subnet: 10.1.0.0/24
        vlan: 20
        name: dmz
        description: servers the internet may reach
    - name: db
      vlan: "30"
      ipv4: {subnet: 10.30.0.0/24}
services:
  - {ports: ["tcp/443"], name: https}
gateway: {trunk: eth1, uplink: eth0}   # edge router
nat:
  snat: [{from: [dmz], to: masquerade, name: out}]
  dnat:
  - {to: web, service: https, vip: 198.51.100.10, name: vip}
# trailing comment
)";

TEST(Formatter, ReordersKeysToCanonicalOrder) {
  EXPECT_EQ(fmt(R"(rules:
  - action: allow
    services: [https]
    to: web
    from: internet
    name: web-in
hosts:
  - addresses: [10.1.0.10]
    segment: dmz
    name: web
segments:
  - ipv4:
      gateway: 10.1.0.1
      subnet: 10.1.0.0/24
    vlan: 20
    name: dmz
services:
  - {ports: [tcp/443], name: https}
gateway: {trunk: eth1, uplink: eth0}
)"),
            R"(gateway:
  uplink: eth0
  trunk: eth1

segments:
  - name: dmz
    vlan: 20
    ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1 }

hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.10] }

services:
  - { name: https, ports: [tcp/443] }

rules:
  - name: web-in
    from: internet
    to: web
    services: [https]
    action: allow
)");
}

TEST(Formatter, MessyInputToCanonicalForm) {
  EXPECT_EQ(fmt(kMessy), R"(gateway:  # edge router
  uplink: eth0
  trunk: eth1

segments:
  - name: dmz
    description: servers the internet may reach
    vlan: 20
    ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1 }
  - name: db
    vlan: "30"
    ipv4: { subnet: 10.30.0.0/24 }

hosts:
  - name: web
    segment: dmz  # the DMZ
    addresses: [10.1.0.10]
  - { name: web2, description: "second, spare", segment: dmz, addresses: [10.1.0.11] }

services:
  - { name: https, ports: ["tcp/443"] }

# A policy written by hand, in no particular order.

rules:
  # the public side
  - name: web-in
    from: internet
    to: web
    services: [https, "tcp/8443"]
    action: allow  # let it in
    limit: { rate: 10/second, connections: 100 }
  - name: no-db
    from: internet
    to: [db]
    services: [any]
    action: deny

nat:
  dnat:
    - { name: vip, vip: 198.51.100.10, service: https, to: web }
  snat:
    - { name: out, from: [dmz], to: masquerade }

# trailing comment
)");
}

TEST(Formatter, IsIdempotentOnMessyInput) {
  auto once = fmt(kMessy);
  ASSERT_FALSE(once.empty());
  EXPECT_NE(once, kMessy);
  EXPECT_EQ(fmt(once), once);
}

TEST(Formatter, OutputReloadsToAnEqualPolicy) {
  auto before = loadPolicyText(kMessy, "t.yaml");
  ASSERT_TRUE(before.ok()) << ::testing::PrintToString(test::strs(before.diagnostics));
  auto after = loadPolicyText(fmt(kMessy), "t.yaml");
  ASSERT_TRUE(after.ok()) << ::testing::PrintToString(test::strs(after.diagnostics));
  EXPECT_EQ(after.policy.segments.size(), 2u);
  EXPECT_EQ(after.policy.hosts.size(), 2u);
  EXPECT_EQ(after.policy.rules.size(), 2u);
  EXPECT_EQ(summary(after.policy), summary(before.policy));
  ASSERT_EQ(after.policy.hosts.size(), 2u);
  EXPECT_EQ(after.policy.hosts[1].description, "second, spare");
}

TEST(Formatter, CampusReloadsToAnEqualPolicy) {
  auto text = test::readFile(test::campusPath());
  auto before = loadPolicyText(text, "campus.yaml");
  auto after = loadPolicyText(fmt(text), "campus.yaml");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.policy.segments.size(), before.policy.segments.size());
  EXPECT_EQ(after.policy.hosts.size(), before.policy.hosts.size());
  EXPECT_EQ(after.policy.rules.size(), before.policy.rules.size());
  EXPECT_EQ(summary(after.policy), summary(before.policy));
  EXPECT_FALSE(summary(after.policy).empty());
}

TEST(Formatter, KeepsCommentsInPlaceWhenKeysAreReordered) {
  EXPECT_EQ(fmt(R"(# header

rules:
  # first rule
  - action: allow  # allowed
    # where from
    from: lan
    name: r1
    to: internet
    services: [any]

gateway:
  # the uplink
  uplink: eth0   # towards the ISP
  name: edge  # its name
)"),
            R"(gateway:
  name: edge  # its name
  # the uplink
  uplink: eth0  # towards the ISP

# header

rules:
  # first rule
  - name: r1
    # where from
    from: lan
    to: internet
    services: [any]
    action: allow  # allowed
)");
}

TEST(Formatter, KeepsCommentsAboveListItems) {
  EXPECT_EQ(fmt(R"(gateway: { uplink: eth0 }
hosts:
  # the first
  - { name: a, segment: lan, addresses: [10.0.0.1] }
  # the second
  - { name: b, segment: lan, addresses: [10.0.0.2] }
  - { name: c, segment: lan, addresses: [10.0.0.3] }  # the third
)"),
            R"(gateway:
  uplink: eth0

hosts:
  # the first
  - { name: a, segment: lan, addresses: [10.0.0.1] }

  # the second
  - { name: b, segment: lan, addresses: [10.0.0.2] }
  - { name: c, segment: lan, addresses: [10.0.0.3] }  # the third
)");
}

// A comment above the first item of a block list used to make fmt refuse the file.
TEST(Formatter, KeepsCommentAboveTheFirstItemOfABlockList) {
  const std::string text = R"(gateway:
  uplink: eth0

services:
  - name: web
    ports:
      # plain HTTP, redirects only
      - tcp/80
      - tcp/443
)";
  EXPECT_EQ(fmt(text), text);
}

// End-of-line comments on the lines inside an item used to be merged onto one line.
TEST(Formatter, KeepsEndOfLineCommentsOnTheirOwnLines) {
  const std::string text = R"(gateway:
  uplink: eth0

segments:
  - name: lan
    interface: eth1
    ipv4:
      subnet: 10.0.0.0/24  # office
      gateway: 10.0.0.1  # the router

services:
  - name: web
    ports:
      - tcp/80  # plain
      - tcp/443  # TLS
)";
  EXPECT_EQ(fmt(text), text);
  EXPECT_EQ(fmt(R"(gateway: { uplink: eth0 }
services:
  - name: web
    ports: [
      tcp/80,   # plain
      tcp/443   # TLS
    ]
)"),
            R"(gateway:
  uplink: eth0

services:
  - name: web
    ports:
      - tcp/80  # plain
      - tcp/443  # TLS
)");
}

TEST(Formatter, KeepsCommentAboveAnItemOfAMultiLineFlowList) {
  EXPECT_EQ(fmt(R"(gateway: { uplink: eth0 }
services:
  - name: web
    ports: [tcp/80,
      # TLS
      tcp/443]
)"),
            R"(gateway:
  uplink: eth0

services:
  - name: web
    ports:
      - tcp/80

      # TLS
      - tcp/443
)");
}

TEST(Formatter, QuotedScalarsStayQuoted) {
  const std::string text = R"(gateway: { uplink: eth0, name: 'edge' }
segments:
  - name: lan
    vlan: "10"
    interface: eth1
    mtu: 9000
    ipv4: { subnet: 10.0.0.0/24 }
services:
  - { name: web, description: "80", ports: ['tcp/80'] }
  - { name: flag, description: "true", ports: [tcp/81] }
)";
  auto out = fmt(text);
  EXPECT_EQ(out, R"(gateway:
  name: "edge"
  uplink: eth0

segments:
  - name: lan
    vlan: "10"
    interface: eth1
    ipv4: { subnet: 10.0.0.0/24 }
    mtu: 9000

services:
  - { name: web, description: "80", ports: ["tcp/80"] }
  - { name: flag, description: "true", ports: [tcp/81] }
)");
  EXPECT_EQ(fmt(out), out);
}

TEST(Formatter, QuotesWhatWouldOtherwiseChangeMeaning) {
  auto out = fmt(R"(gateway: { uplink: eth0 }
services:
  - name: web
    description: web, and more
    ports: [tcp/80]
  - name: odd
    description: "# not a comment"
    ports: [tcp/81]
  - name: multi
    description: |
      two
      lines
    ports: [tcp/82]
)");
  EXPECT_EQ(out, R"(gateway:
  uplink: eth0

services:
  - { name: web, description: "web, and more", ports: [tcp/80] }
  - { name: odd, description: "# not a comment", ports: [tcp/81] }
  - { name: multi, description: "two\nlines\n", ports: [tcp/82] }
)");
  auto r = loadPolicyText(out, "t.yaml");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.policy.services.size(), 3u);
  EXPECT_EQ(r.policy.services[0].description, "web, and more");
  EXPECT_EQ(r.policy.services[1].description, "# not a comment");
  EXPECT_EQ(r.policy.services[2].description, "two\nlines\n");
}

TEST(Formatter, LongItemsStayInBlockStyle) {
  const std::string text = R"(gateway:
  uplink: eth0

hosts:
  - name: cluster
    description: a host with many addresses that do not fit on one line at all
    segment: lan
    addresses: [10.0.0.11, 10.0.0.12, 10.0.0.13]
)";
  EXPECT_EQ(fmt(text), text);
}

TEST(Formatter, RefusesACommentInsideAMultiLineFlowList) {
  auto r = formatPolicyText(R"(gateway: { uplink: eth0 }
services:
  - name: web
    ports: [
      tcp/80,
      tcp/443
      # after the last port
    ]
  - name: ssh
    ports: [tcp/22]
)",
                            "t.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{"t.yaml:7:7: error: fmt cannot keep this comment in place; nothing was rewritten\n"
                   "  hint: put the comment on its own line above the key or list item it describes"}));
}

TEST(Formatter, RefusesACommentAfterAClosingBracket) {
  auto r = formatPolicyText(R"(gateway: { uplink: eth0 }
services:
  - name: web
    ports: [
      tcp/80,
      tcp/443
    ]  # web ports
)",
                            "t.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{"t.yaml:7:8: error: fmt cannot keep this comment in place; nothing was rewritten\n"
                   "  hint: put the comment on its own line above the key or list item it describes"}));
}

TEST(Formatter, RefusesAFileWithASyntaxError) {
  auto r = formatPolicyText("gateway: { uplink: eth0\nsegments: []\n", "t.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{"t.yaml:2:9: error: YAML syntax: end of map flow not found"}));
}

TEST(Formatter, RefusesTwoDocuments) {
  auto r = formatPolicyText("gateway: { uplink: eth0 }\n---\nsegments: []\n", "t.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{"t.yaml:3:1: error: a policy file holds one YAML document, this is the second"}));
}

TEST(Formatter, EmptyAndCommentOnlyFiles) {
  EXPECT_EQ(fmt(""), "");
  EXPECT_EQ(fmt("# nothing here yet\n"), "# nothing here yet\n");
}

TEST(Formatter, EmptySectionsAndLists) {
  EXPECT_EQ(fmt("gateway: { uplink: eth0 }\nhosts:\nsegments: []\n"),
            "gateway:\n  uplink: eth0\n\nsegments: []\n\nhosts:\n");
}

TEST(Formatter, UnknownKeysAreKeptLastInSourceOrder) {
  // The loader reports them; the formatter must not lose them.
  EXPECT_EQ(fmt("gateway: { zeta: 1, uplink: eth0, alpha: 2 }\n"),
            "gateway:\n  uplink: eth0\n  zeta: 1\n  alpha: 2\n");
}

TEST(Formatter, AQuoteInsideAPlainScalarOpensNoString) {
  // Found by fuzz_policy_loader: the apostrophe in "ingest 'nd" was taken for a quote, which
  // hid the comment block down to the next apostrophe ("VIP's"); each run of fmt lost a line.
  const std::string in =
      "segments:\n"
      "  - { name: wowza, description: RTMP ingest 'nd HLS origin, segment: app }\n"
      "# decides which of them gets the VIP's new connections\n"
      "# a row, i.e. within 1.5 s\n"
      "checks:\n";
  const std::string want =
      "segments:\n"
      "  - name: wowza\n"
      "    description: RTMP ingest 'nd HLS origin\n"
      "    segment: app\n"
      "\n"
      "# decides which of them gets the VIP's new connections\n"
      "# a row, i.e. within 1.5 s\n"
      "checks:\n";
  EXPECT_EQ(fmt(in), want);
  EXPECT_EQ(fmt(want), want);
  // A quote where a scalar starts still opens one: its '#' is no comment.
  EXPECT_EQ(fmt("gateway: { name: 'a # b', uplink: eth0 }\n"), "gateway:\n  name: \"a # b\"\n  uplink: eth0\n");
}

}  // namespace
}  // namespace bulwark::policies
