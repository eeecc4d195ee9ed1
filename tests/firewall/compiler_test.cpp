#include <gtest/gtest.h>

#include <algorithm>

#include "bulwark/firewall/render.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

using testing::compileExample;
using testing::compileText;

std::string replaceFirst(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

const Chain& chainOf(const Ruleset& rs, const std::string& name) {
  const Chain* c = rs.findChain(name);
  if (!c) throw std::runtime_error("no chain " + name);  // a test bug, not a policy error
  return *c;
}

TEST(Compiler, CampusHasBaseChainsWithDefaultDrop) {
  auto c = compileExample("campus.yaml");
  ASSERT_TRUE(c.result.ok());
  const auto& rs = c.result.ruleset;
  const auto& fwd = chainOf(rs, "forward");
  ASSERT_TRUE(fwd.base);
  EXPECT_EQ(fwd.base->hook, Hook::Forward);
  EXPECT_TRUE(fwd.base->policyDrop);
  EXPECT_TRUE(chainOf(rs, "input").base->policyDrop);
  EXPECT_FALSE(chainOf(rs, "output").base->policyDrop);
  EXPECT_EQ(chainOf(rs, "prerouting_nat").base->type, ChainType::Nat);
  EXPECT_EQ(chainOf(rs, "postrouting_nat").base->hook, Hook::Postrouting);
  // Fast path first (counted per zone pair, then the rest), then invalid.
  ASSERT_GE(fwd.rules.size(), 4u);
  EXPECT_EQ(renderRule(fwd.rules[0]),
            "ct state established,related ct direction original iifname . oifname vmap @flow_original "
            "comment \"bulwark: established by pair\"");
  EXPECT_EQ(renderRule(fwd.rules[1]),
            "ct state established,related ct direction reply oifname . iifname vmap @flow_reply "
            "comment \"bulwark: established-reply by pair\"");
  EXPECT_EQ(renderRule(fwd.rules[2]), "ct state established,related counter accept comment \"bulwark: established\"");
  EXPECT_EQ(renderRule(fwd.rules[3]), "ct state invalid counter drop comment \"bulwark: invalid\"");
}

// Established traffic is counted per zone pair: every interface pair the dispatch map knows
// leads, in each direction, to a chain of one counted accept whose comment names the pair
// that opened the connection (replies are keyed oifname . iifname, so they land there too).
TEST(Compiler, EstablishedTrafficCountedPerZonePairInBothDirections) {
  auto c = compileExample("campus.yaml");
  const auto& rs = c.result.ruleset;
  const SetDef* dispatch = rs.findSet("dispatch");
  ASSERT_NE(dispatch, nullptr);
  for (bool reply : {false, true}) {
    const SetDef* m = rs.findSet(reply ? "flow_reply" : "flow_original");
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->verdictMap);
    // The dispatch map's interface pairs first (then the VPN's TUN device's, tested below).
    ASSERT_GE(m->elements.size(), dispatch->elements.size());
    for (std::size_t i = 0; i < dispatch->elements.size(); ++i) {
      const auto& e = m->elements[i];
      EXPECT_EQ(e.key, dispatch->elements[i].key);
      // The same pair as the dispatch of the connection's first packet.
      const auto pairChainName = dispatch->elements[i].jumpTo;
      const auto sep = pairChainName.find("__");
      const auto from = pairChainName.substr(0, sep), to = pairChainName.substr(sep + 2);
      EXPECT_EQ(e.jumpTo, std::string(reply ? "flow-reply." : "flow.") + from + "." + to);
      const Chain* target = rs.findChain(e.jumpTo);
      ASSERT_NE(target, nullptr) << e.jumpTo;
      // Ends in its one counted accept (the uplink zone's test the VPN pools first).
      ASSERT_FALSE(target->rules.empty());
      const auto& last = target->rules.back();
      auto flow = pairOfFlowComment(last.comment());
      ASSERT_TRUE(flow.has_value()) << last.comment();
      EXPECT_EQ(flow->from, from);
      EXPECT_EQ(flow->to, to);
      EXPECT_EQ(flow->reply, reply);
      EXPECT_EQ(renderRule(last), "counter accept comment \"" + last.comment() + "\"");
      EXPECT_EQ(target->rules.size(), from == "internet" ? 3u : 1u);
    }
  }
  // The flow chains are not pair chains: no default drop of their own.
  for (const auto& ch : rs.chains) {
    if (ch.name.rfind("flow", 0) != 0) continue;
    for (const auto& r : ch.rules) EXPECT_FALSE(pairOfDropComment(r.comment()).has_value()) << ch.name;
  }
}

TEST(Compiler, DispatchCoversEveryInterfacePairAndJumpsToExistingChains) {
  auto c = compileExample("campus.yaml");
  const auto& rs = c.result.ruleset;
  const SetDef* dispatch = rs.findSet("dispatch");
  ASSERT_NE(dispatch, nullptr);
  EXPECT_TRUE(dispatch->verdictMap);
  // 5 VLAN segments + the uplink = 6 interfaces, 36 ordered pairs.
  EXPECT_EQ(dispatch->elements.size(), 36u);
  for (const auto& e : dispatch->elements) {
    EXPECT_NE(rs.findChain(e.jumpTo), nullptr) << e.jumpTo;
  }
  bool found = std::any_of(dispatch->elements.begin(), dispatch->elements.end(), [](const SetElement& e) {
    return std::get<std::string>(e.key[0]) == "eth0" && std::get<std::string>(e.key[1]) == "eth1.10" &&
           e.jumpTo == "internet__dmz";
  });
  EXPECT_TRUE(found);
}

TEST(Compiler, EveryPolicyRuleIsTraceableToItsLine) {
  auto c = compileExample("campus.yaml");
  const auto& rs = c.result.ruleset;
  for (const auto& rule : c.policy.rules) {
    bool seen = false;
    for (const auto& ch : rs.chains) {
      for (const auto& r : ch.rules) {
        if (r.origin.what == rule.name) {
          EXPECT_EQ(r.origin.where, rule.where);
          seen = true;
        }
      }
    }
    EXPECT_TRUE(seen) << rule.name;
  }
  const auto& pair = chainOf(rs, "internet__dmz");
  EXPECT_EQ(pair.rules.front().comment(), "campus.yaml:92 public-web");
}

TEST(Compiler, AdminVpnOnlyThroughIpsecInBothModes) {
  auto c = compileExample("campus.yaml");
  const auto& fwd = chainOf(c.result.ruleset, "forward");
  std::vector<std::string> lines;
  for (const auto& r : fwd.rules) lines.push_back(renderRule(r));
  auto has = [&](const std::string& text) {
    return std::find(lines.begin(), lines.end(), text) != lines.end();
  };
  EXPECT_TRUE(has("meta nfproto ipv4 ip saddr 10.250.0.0/25 meta ipsec exists oifname vmap @egress_netops "
                  "comment \"campus.yaml:154 vpn:netops\""));
  EXPECT_TRUE(has("iifname \"ipsec0\" meta nfproto ipv4 ip saddr 10.250.0.0/25 oifname vmap @egress_netops "
                  "comment \"campus.yaml:154 vpn:netops\""));
  // A pool address that did not come through IPsec is dropped before zone dispatch.
  auto poolDrop = std::find(lines.begin(), lines.end(),
                            "meta nfproto ipv4 ip saddr 10.250.0.0/25 counter drop comment \"campus.yaml:154 "
                            "vpn-pool-without-ipsec:netops\"");
  auto dispatch = std::find(lines.begin(), lines.end(), "iifname . oifname vmap @dispatch comment \"bulwark: dispatch\"");
  ASSERT_NE(poolDrop, lines.end());
  ASSERT_NE(dispatch, lines.end());
  EXPECT_LT(poolDrop, dispatch);
  // netops may reach mgmt (any service); dba has no chain rule into mgmt.
  EXPECT_FALSE(chainOf(c.result.ruleset, "netops__mgmt").rules.size() <= 2);
  EXPECT_EQ(chainOf(c.result.ruleset, "dba__mgmt").rules.size(), 2u);  // log + drop only
}

// The admin VPN's established traffic enters through the uplink (XFRM) or charon's TUN device
// ("ipsec0"): the uplink zone's flow chains hand a pool's packets to its group's pair, by
// source address for originals and by destination address for replies.
TEST(Compiler, VpnEstablishedTrafficCountedUnderItsGroupsZone) {
  auto c = compileExample("campus.yaml");
  const auto& rs = c.result.ruleset;
  auto lines = [&](const std::string& chain) {
    std::vector<std::string> out;
    for (const auto& r : chainOf(rs, chain).rules) out.push_back(renderRule(r));
    return out;
  };
  EXPECT_EQ(lines("flow.internet.db"),
            (std::vector<std::string>{
                "meta nfproto ipv4 ip saddr 10.250.0.0/25 goto flow.netops.db comment \"campus.yaml:154 vpn:netops\"",
                "meta nfproto ipv4 ip saddr 10.250.0.128/25 goto flow.dba.db comment \"campus.yaml:160 vpn:dba\"",
                "counter accept comment \"bulwark: flow internet>db\""}));
  EXPECT_EQ(lines("flow-reply.internet.db"),
            (std::vector<std::string>{
                "meta nfproto ipv4 ip daddr 10.250.0.0/25 goto flow-reply.netops.db comment \"campus.yaml:154 vpn:netops\"",
                "meta nfproto ipv4 ip daddr 10.250.0.128/25 goto flow-reply.dba.db comment \"campus.yaml:160 vpn:dba\"",
                "counter accept comment \"bulwark: flow-reply internet>db\""}));
  EXPECT_EQ(lines("flow-reply.dba.db"), std::vector<std::string>{"counter accept comment \"bulwark: flow-reply dba>db\""});
  // Other zones' flow chains test no pool.
  EXPECT_EQ(lines("flow.app.db"), std::vector<std::string>{"counter accept comment \"bulwark: flow app>db\""});
  // The TUN device leads to the uplink zone's chains, in both maps.
  for (const char* map : {"flow_original", "flow_reply"}) {
    const SetDef* m = rs.findSet(map);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->elements.size(), 36u + 6u);  // 6 interfaces squared, + ipsec0 to each
    const bool reply = std::string(map) == "flow_reply";
    bool tun = std::any_of(m->elements.begin(), m->elements.end(), [&](const SetElement& e) {
      return std::get<std::string>(e.key[0]) == "ipsec0" && std::get<std::string>(e.key[1]) == "eth1.30" &&
             e.jumpTo == std::string(reply ? "flow-reply" : "flow") + ".internet.db";
    });
    EXPECT_TRUE(tun) << map;
  }
}

TEST(Compiler, PerSourceLimitsLiveInTheRuleChain) {
  auto c = compileExample("campus.yaml");
  const auto& chain = chainOf(c.result.ruleset, "rule_public-web");
  std::vector<std::string> lines;
  for (const auto& r : chain.rules) lines.push_back(renderRule(r));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "meta nfproto ipv4 ct state new add @public-web_rate4 { ip saddr limit rate over 500/second "
                      "burst 1000 packets } counter drop comment \"campus.yaml:92 public-web:rate\"");
  EXPECT_EQ(lines[1], "meta nfproto ipv4 ct state new add @public-web_conn4 { ip saddr ct count over 2000 } counter "
                      "drop comment \"campus.yaml:92 public-web:connections\"");
  EXPECT_EQ(lines[4], "counter accept comment \"campus.yaml:92 public-web\"");
  const SetDef* meter = c.result.ruleset.findSet("public-web_rate4");
  ASSERT_NE(meter, nullptr);
  EXPECT_TRUE(meter->dynamic);
}

TEST(Compiler, NatRules) {
  auto c = compileExample("campus.yaml");
  const auto& dnat = chainOf(c.result.ruleset, "prerouting_nat");
  ASSERT_EQ(dnat.rules.size(), 3u);
  EXPECT_EQ(renderRule(dnat.rules[1]), "meta nfproto ipv4 ip daddr 203.0.113.10 meta l4proto tcp th dport 443 counter "
                                       "dnat ip to ip daddr map @dnat4_vip-http comment \"campus.yaml:145 dnat:vip-https\"");
  const auto& snat = chainOf(c.result.ruleset, "postrouting_nat");
  ASSERT_EQ(snat.rules.size(), 1u);
  EXPECT_EQ(renderRule(snat.rules[0]), "oifname \"eth0\" meta nfproto ipv4 ip saddr @snat_servers-out_saddr4 counter "
                                       "masquerade comment \"campus.yaml:148 snat:servers-out\"");
  const SetDef* sources = c.result.ruleset.findSet("snat_servers-out_saddr4");
  ASSERT_NE(sources, nullptr);
  EXPECT_EQ(sources->elements.size(), 4u);  // app, db, storage, mgmt subnets
}

TEST(Compiler, AntiSpoofingAndSynGuardInPrerouting) {
  auto c = compileExample("campus.yaml");
  const auto& pre = chainOf(c.result.ruleset, "prerouting");
  ASSERT_TRUE(pre.base);
  EXPECT_EQ(pre.base->priority, -150);
  std::vector<std::string> lines;
  for (const auto& r : pre.rules) lines.push_back(renderRule(r));
  EXPECT_NE(std::find(lines.begin(), lines.end(), "fib saddr . iif oif missing counter drop comment \"bulwark: antispoof\""),
            lines.end());
  bool syn = std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("iifname \"eth0\"") == 0 && l.find("add @synflood4 { ip saddr limit rate over 10000/second") != std::string::npos;
  });
  EXPECT_TRUE(syn) << "the default gateway.syn_limit";
}

TEST(Compiler, SynLimitFromThePolicy) {
  auto synLines = [](const Ruleset& rs) {
    std::vector<std::string> out;
    for (const auto& r : chainOf(rs, "prerouting").rules) {
      auto l = renderRule(r);
      if (l.find("@synflood") != std::string::npos) out.push_back(l);
    }
    return out;
  };
  std::string base = testing::kSmallPolicy;
  auto set = compileText(replaceFirst(base, "gateway: { uplink: wan0, trunk: trk0 }",
                                      "gateway: { uplink: wan0, trunk: trk0, syn_limit: { rate: 500/second, burst: 700 } }"));
  auto lines = synLines(set.result.ruleset);
  ASSERT_EQ(lines.size(), 2u);  // IPv4 and IPv6
  EXPECT_NE(lines[0].find("limit rate over 500/second burst 700 packets"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("comment \"t.yaml:1 syn_limit\""), std::string::npos) << lines[0];
  auto off = compileText(replaceFirst(base, "gateway: { uplink: wan0, trunk: trk0 }",
                                      "gateway: { uplink: wan0, trunk: trk0, syn_limit: off }"));
  EXPECT_TRUE(synLines(off.result.ruleset).empty());
}

// A dnat entry's syn_limit: one aggregate limiter per TCP port of its service, in prerouting
// after the per-source meters; UDP ports of the service get none.
TEST(Compiler, VipSynLimitFromTheDnatEntry) {
  std::string text = std::string(testing::kSmallPolicy) +
                     "  - { name: in-web, from: internet, to: web1, services: [web], action: allow }\n"
                     "nat:\n  dnat:\n    - { name: vip-web, vip: 203.0.113.10, service: web, to: web1, "
                     "syn_limit: { rate: 5000/second } }\n";
  text = replaceFirst(text, "  - { name: mysql, ports: [tcp/3306] }",
                      "  - { name: mysql, ports: [tcp/3306] }\n  - { name: web, ports: [tcp/443, udp/443] }");
  auto c = compileText(text);
  const auto upTo = text.begin() + static_cast<std::ptrdiff_t>(text.find("vip-web"));
  const auto line = std::count(text.begin(), upTo, '\n') + 1;
  std::vector<std::string> lines;
  for (const auto& r : chainOf(c.result.ruleset, "prerouting").rules) lines.push_back(renderRule(r));
  auto at = std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.find("dnat:vip-web syn_limit") != std::string::npos; });
  ASSERT_NE(at, lines.end());
  EXPECT_EQ(*at, "iifname \"wan0\" meta nfproto ipv4 ip daddr 203.0.113.10 meta l4proto tcp th dport 443 "
                 "tcp flags & (fin | syn | rst | ack) == syn ct state new "
                 "limit rate over 5000/second burst 10000 packets counter drop comment \"t.yaml:" +
                     std::to_string(line) + " dnat:vip-web syn_limit\"");
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.find("syn_limit") != std::string::npos; }),
            1);
  EXPECT_LT(std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.find("@synflood4") != std::string::npos; }),
            at);
  EXPECT_NE(lines.back().find("comment \"bulwark: new-not-syn\""), std::string::npos) << "still the chain's last rule";
  auto off = compileText(replaceFirst(text, "syn_limit: { rate: 5000/second }", "syn_limit: off"));
  for (const auto& r : chainOf(off.result.ruleset, "prerouting").rules) {
    EXPECT_EQ(renderRule(r).find("syn_limit\""), std::string::npos);
  }
}

TEST(Compiler, AddingAHostChangesOnlySetElements) {
  std::string base = testing::kSmallPolicy;
  base.replace(base.find("from: [web1]"), 12, "from: [web1, web2]");
  auto before = compileText(base);
  std::string more = base;
  more.replace(more.find("from: [web1, web2]"), 18, "from: [web1, web2, web3]");
  auto after = compileText(more);
  ASSERT_EQ(before.result.ruleset.chains.size(), after.result.ruleset.chains.size());
  for (std::size_t i = 0; i < before.result.ruleset.chains.size(); ++i) {
    const auto& a = before.result.ruleset.chains[i];
    const auto& b = after.result.ruleset.chains[i];
    ASSERT_EQ(a.rules.size(), b.rules.size()) << a.name;
    for (std::size_t j = 0; j < a.rules.size(); ++j) EXPECT_EQ(renderRule(a.rules[j]), renderRule(b.rules[j]));
  }
  const SetDef* s1 = before.result.ruleset.findSet("web-to-db_saddr4");
  const SetDef* s2 = after.result.ruleset.findSet("web-to-db_saddr4");
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(s1->elements.size(), 2u);
  EXPECT_EQ(s2->elements.size(), 3u);
}

// The zone pair line of rule web-to-db (the one that jumps to its chain).
std::string webToDbLine(const Ruleset& rs) {
  for (const auto& c : rs.chains) {
    for (const auto& r : c.rules) {
      if (r.verdict.kind == VerdictKind::Jump && r.verdict.chain == "rule_web-to-db") return renderRule(r);
    }
  }
  return "";
}

TEST(Compiler, OneElementSetsBecomeInlineMatches) {
  // One source, one destination, one port: no named set at all (the kernel finds named sets
  // by name in a list, so a set per rule field made large flat policies quadratic to load).
  auto one = compileText(testing::kSmallPolicy);
  for (const char* name : {"web-to-db_saddr4", "web-to-db_daddr4", "web-to-db_svc"}) {
    EXPECT_EQ(one.result.ruleset.findSet(name), nullptr) << name;
  }
  EXPECT_EQ(webToDbLine(one.result.ruleset),
            "meta nfproto ipv4 ip saddr 10.20.0.11 ip daddr 10.30.0.11 meta l4proto tcp th dport 3306 jump rule_web-to-db "
            "comment \"t.yaml:17 web-to-db\"");
  // A second source: that field becomes a set again, the others stay inline.
  std::string two = testing::kSmallPolicy;
  two.replace(two.find("from: [web1]"), 12, "from: [web1, web2]");
  auto c2 = compileText(two);
  EXPECT_EQ(webToDbLine(c2.result.ruleset),
            "meta nfproto ipv4 ip saddr @web-to-db_saddr4 ip daddr 10.30.0.11 meta l4proto tcp th dport 3306 jump "
            "rule_web-to-db comment \"t.yaml:17 web-to-db\"");
  ASSERT_NE(c2.result.ruleset.findSet("web-to-db_saddr4"), nullptr);
  EXPECT_EQ(c2.result.ruleset.findSet("web-to-db_svc"), nullptr);
}

TEST(Compiler, OverlappingPrefixesAreMergedForIntervalSets) {
  std::string text = testing::kSmallPolicy;
  text.replace(text.find("from: [web1]"), 12, "from: [web1, app]");
  text += R"(zones:
  - { name: front, segments: [app, db] }
)";
  auto c = compileText(text);
  // web1's /32 lies inside app's /24: one prefix is left, so it is matched inline.
  EXPECT_EQ(c.result.ruleset.findSet("web-to-db_saddr4"), nullptr);
  EXPECT_NE(webToDbLine(c.result.ruleset).find("ip saddr 10.20.0.0/24 "), std::string::npos)
      << webToDbLine(c.result.ruleset);
  // With a second, disjoint source the set is kept, and still holds only the widest prefix.
  text.replace(text.find("from: [web1, app]"), 17, "from: [web1, app, mysql1]");
  auto c2 = compileText(text);
  const SetDef* s = c2.result.ruleset.findSet("web-to-db_saddr4");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->elements.size(), 2u);
  EXPECT_EQ(std::get<Prefix>(s->elements[0].key[0]).str(), "10.20.0.0/24");
  EXPECT_EQ(std::get<Prefix>(s->elements[1].key[0]).str(), "10.30.0.11/32");
}

}  // namespace
}  // namespace bulwark::firewall
