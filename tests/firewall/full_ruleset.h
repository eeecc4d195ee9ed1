#pragma once
// A ruleset that uses every Expr variant, every set shape and every chain shape, for the
// programmer/observe tests: against the kernel (programmer_test.cpp, root) and against the
// fake nf_tables (netlink_test.cpp).
#include <string>
#include <vector>

#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall::testing {

inline Prefix pfx(const char* s) { return *Prefix::parse(s); }
inline IpAddress ip(const char* s) { return *IpAddress::parse(s); }

inline Rule rule(int line, std::string what, std::vector<Expr> exprs, Verdict v = {}) {
  Rule r;
  r.exprs = std::move(exprs);
  r.verdict = std::move(v);
  r.origin = Origin{policies::Location{"campus.yaml", line, 5}, std::move(what)};
  return r;
}

inline Verdict accept() { return {VerdictKind::Accept, ""}; }
inline Verdict drop() { return {VerdictKind::Drop, ""}; }

// A ruleset that uses every Expr variant, every set shape and every chain shape.
inline Ruleset fullRuleset() {
  Ruleset rs;
  SetDef zd{"zone_dispatch", {KeyType::IfName, KeyType::IfName}, false, true, false, 0, 0, {}, "zone pairs"};
  zd.elements.push_back({{std::string("eth0"), std::string("eth1")}, "lan__dmz", "lan to dmz"});
  zd.elements.push_back({{std::string("eth1"), std::string("eth0")}, "dmz__lan", ""});
  rs.sets.push_back(zd);
  SetDef nets4{"nets4", {KeyType::Ipv4Addr}, true, false, false, 0, 0, {}, ""};
  nets4.elements = {{{pfx("10.0.0.0/8")}, "", "rfc1918"}, {{pfx("192.168.1.1/32")}, "", ""},
                    {{pfx("172.16.0.0/12")}, "", ""}, {{pfx("11.0.0.0/8")}, "", ""}};
  rs.sets.push_back(nets4);
  SetDef nets6{"nets6", {KeyType::Ipv6Addr}, true, false, false, 0, 0, {}, ""};
  nets6.elements = {{{pfx("2001:db8::/32")}, "", ""}};
  rs.sets.push_back(nets6);
  SetDef flows{"flows", {KeyType::Ipv4Addr, KeyType::InetProto, KeyType::InetService}, true, false, false, 0, 0, {}, ""};
  flows.elements = {{{pfx("10.0.0.0/8"), std::uint8_t{6}, PortRange{80, 90}}, "", ""},
                    {{pfx("10.1.2.3/32"), std::uint8_t{17}, PortRange{53, 53}}, "", "dns"}};
  rs.sets.push_back(flows);
  SetDef ifpairs{"ifpairs", {KeyType::IfName, KeyType::IfName}, false, false, false, 0, 0, {}, ""};
  ifpairs.elements = {{{std::string("eth0"), std::string("eth2")}, "", ""}};
  rs.sets.push_back(ifpairs);
  SetDef hosts{"hosts", {KeyType::IfName, KeyType::Ipv4Addr, KeyType::InetService}, false, false, false, 0, 0, {}, ""};
  hosts.elements = {{{std::string("eth0"), pfx("10.0.0.1/32"), PortRange{22, 22}}, "", ""}};
  rs.sets.push_back(hosts);
  SetDef svc{"svc", {KeyType::InetService}, true, false, false, 0, 0, {}, ""};
  svc.elements = {{{PortRange{80, 90}}, "", ""}, {{PortRange{443, 443}}, "", ""}};
  rs.sets.push_back(svc);
  rs.sets.push_back(SetDef{"meter4", {KeyType::Ipv4Addr}, false, false, true, 60, 65535, {}, ""});
  // DNAT maps: VIP → backend (failover), numgen slot → backend (balance), both families.
  SetDef vip4{"vip4", {KeyType::Ipv4Addr}, false, false, false, 0, 0, {}, "backends of dnat web"};
  vip4.addressMap = policies::Family::V4;
  vip4.elements = {{{pfx("1.2.3.5/32")}, "", "", ip("10.0.0.2")}};
  rs.sets.push_back(vip4);
  SetDef spread4{"spread4", {KeyType::Slot}, false, false, false, 0, 0, {}, ""};
  spread4.addressMap = policies::Family::V4;
  spread4.numgenMod = 2;
  spread4.elements = {{{std::uint32_t{0}}, "", "", ip("10.0.0.2")}, {{std::uint32_t{1}}, "", "", ip("10.0.0.3")}};
  rs.sets.push_back(spread4);
  SetDef vip6{"vip6", {KeyType::Ipv6Addr}, false, false, false, 0, 0, {}, ""};
  vip6.addressMap = policies::Family::V6;
  vip6.elements = {{{pfx("2001:db8::5/128")}, "", "", ip("2001:db8::6")}};
  rs.sets.push_back(vip6);
  SetDef spread6{"spread6", {KeyType::Slot}, false, false, false, 0, 0, {}, "six"};
  spread6.addressMap = policies::Family::V6;
  spread6.numgenMod = 3;
  spread6.elements = {{{std::uint32_t{2}}, "", "", ip("2001:db8::7")}};
  rs.sets.push_back(spread6);
  rs.sets.push_back(SetDef{"cl4", {KeyType::Ipv4Addr}, false, false, true, 0, 65535, {}, ""});
  // One interface as the key: nft prints such keys from the set's byte order hint.
  SetDef eg{"egress", {KeyType::IfName}, false, true, false, 0, 0, {}, "by egress"};
  eg.elements.push_back({{std::string("eth2")}, "dmz__lan", ""});
  rs.sets.push_back(eg);

  Chain fwd{"forward", BaseChain{ChainType::Filter, Hook::Forward, 0, true}, {}, "forwarded traffic"};
  fwd.rules = {
      rule(10, "builtin:established", {MatchCtState{kCtEstablished | kCtRelated}}, accept()),
      rule(11, "ifnames", {MatchIfName{Selector::IifName, "eth0", false}, MatchIfName{Selector::OifName, "eth1", true},
                           StmtCounter{}}),
      rule(12, "public-web",
           {MatchNfProto{policies::Family::V4}, MatchL4Proto{6}, MatchPrefix{Selector::Ip4Saddr, pfx("10.0.0.0/8"), false},
            MatchPrefix{Selector::Ip4Daddr, pfx("10.1.2.3/32"), true},
            MatchPrefix{Selector::Ip4Saddr, pfx("10.16.0.0/12"), false}, MatchPort{PortRange{80, 80}},
            MatchPort{PortRange{1000, 2000}}, StmtCounter{}},
           accept()),
      rule(13, "flows", {MatchLookup{{Selector::Ip4Saddr, Selector::L4Proto, Selector::ThDport}, "flows", false}},
           {VerdictKind::Jump, "c1"}),
      rule(14, "not-pairs", {MatchLookup{{Selector::IifName, Selector::OifName}, "ifpairs", true}}, drop()),
      rule(15, "ipsec", {MatchIpsecIn{}}, {VerdictKind::Return, ""}),
      rule(16, "antispoof", {MatchFibSaddrMissing{}}, drop()),
      rule(17, "syn", {MatchTcpSynOnly{}, StmtLimit{10, RateUnit::Minute, 5, true}}),
      rule(18, "not-syn", {MatchNotTcpSyn{}}, {VerdictKind::Reject, ""}),
      rule(19, "meter", {StmtMeterOver{"meter4", {Selector::Ip4Saddr}, StmtLimit{1000, RateUnit::Second, 2000, true}}},
           drop()),
      rule(20, "connlimit", {StmtConnLimitOver{"cl4", {Selector::Ip4Saddr}, 20}}, drop()),
      rule(21, "log", {StmtLog{"hello "}, StmtLimit{5, RateUnit::Hour, 3, false}}, {VerdictKind::Goto, "c1"}),
      rule(22, "v6", {MatchLookup{{Selector::Ip6Saddr}, "nets6", false},
                      MatchPrefix{Selector::Ip6Daddr, pfx("2001:db8:1::/48"), false}, StmtCounter{}},
           accept()),
      rule(23, "svc", {MatchLookup{{Selector::ThDport}, "svc", false},
                       MatchLookup{{Selector::IifName, Selector::Ip4Daddr, Selector::ThDport}, "hosts", false},
                       MatchLookup{{Selector::Ip4Saddr}, "nets4", false}},
           accept()),
      rule(24, "dispatch", {StmtVmap{{Selector::IifName, Selector::OifName}, "zone_dispatch"}}),
      rule(25, "egress", {StmtVmap{{Selector::OifName}, "egress"}}),
      rule(26, "flow", {MatchCtState{kCtEstablished | kCtRelated}, MatchCtDirection{false},
                        StmtVmap{{Selector::IifName, Selector::OifName}, "zone_dispatch"}}),
      rule(27, "flow-reply", {MatchCtDirection{true}, StmtVmap{{Selector::OifName, Selector::IifName}, "zone_dispatch"}}),
  };
  rs.chains.push_back(fwd);
  rs.chains.push_back(Chain{"c1", std::nullopt, {rule(30, "c1-counter", {StmtCounter{}}, accept())}, ""});
  rs.chains.push_back(Chain{"lan__dmz", std::nullopt, {}, "zone pair"});
  rs.chains.push_back(Chain{"dmz__lan", std::nullopt, {}, ""});
  Chain pre{"prerouting_nat", BaseChain{ChainType::Nat, Hook::Prerouting, -100, false}, {}, ""};
  pre.rules = {rule(40, "dnat:web", {MatchPrefix{Selector::Ip4Daddr, pfx("1.2.3.4/32"), false}, MatchL4Proto{6},
                                     StmtDnat{ip("10.0.0.1"), std::uint16_t{8080}}}),
               rule(41, "dnat:web6", {MatchPrefix{Selector::Ip6Daddr, pfx("2001:db8::1/128"), false},
                                      StmtDnat{ip("2001:db8::2"), std::nullopt}}),
               rule(42, "dnat:fo", {MatchPrefix{Selector::Ip4Daddr, pfx("1.2.3.5/32"), false},
                                    StmtCounter{}, StmtDnatMap{policies::Family::V4, 0, "vip4", std::nullopt}}),
               rule(43, "dnat:fo-port", {MatchPrefix{Selector::Ip4Daddr, pfx("1.2.3.5/32"), false},
                                         MatchL4Proto{6}, StmtDnatMap{policies::Family::V4, 0, "vip4", std::uint16_t{8443}}}),
               rule(44, "dnat:spread", {MatchPrefix{Selector::Ip4Daddr, pfx("1.2.3.6/32"), false},
                                        StmtDnatMap{policies::Family::V4, 2, "spread4", std::nullopt}}),
               rule(45, "dnat:spread-port", {MatchPrefix{Selector::Ip4Daddr, pfx("1.2.3.6/32"), false}, MatchL4Proto{6},
                                             StmtDnatMap{policies::Family::V4, 2, "spread4", std::uint16_t{80}}}),
               rule(46, "dnat:fo6", {MatchPrefix{Selector::Ip6Daddr, pfx("2001:db8::5/128"), false},
                                     StmtDnatMap{policies::Family::V6, 0, "vip6", std::uint16_t{443}}}),
               rule(47, "dnat:spread6", {MatchPrefix{Selector::Ip6Daddr, pfx("2001:db8::8/128"), false},
                                         StmtDnatMap{policies::Family::V6, 3, "spread6", std::nullopt}})};
  rs.chains.push_back(pre);
  Chain post{"postrouting_nat", BaseChain{ChainType::Nat, Hook::Postrouting, 100, false}, {}, ""};
  post.rules = {rule(50, "snat", {MatchIfName{Selector::OifName, "eth0", false}, StmtSnat{ip("1.2.3.4")}}),
                rule(51, "masq", {MatchIfName{Selector::OifName, "eth1", false}, StmtMasquerade{}})};
  rs.chains.push_back(post);
  Rule builtin;
  builtin.origin.what = "builtin:input";
  builtin.verdict = accept();
  rs.chains.push_back(Chain{"input", BaseChain{ChainType::Filter, Hook::Input, 0, false}, {builtin}, ""});
  return rs;
}

}  // namespace bulwark::firewall::testing
