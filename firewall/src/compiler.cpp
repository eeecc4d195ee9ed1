#include "bulwark/firewall/compiler.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "bulwark/policies/resolve.h"
#include "compile_ha.h"
#include "widest_prefixes.h"

namespace bulwark::firewall {

using policies::Action;
using policies::Family;
using policies::FlowRule;
using policies::PolicyIndex;
using policies::Protocol;

namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kEsp = 50;

Origin builtin(std::string what) { return {{}, std::move(what)}; }

RateUnit rateUnit(const std::string& per) {
  return per == "minute" ? RateUnit::Minute : per == "hour" ? RateUnit::Hour : RateUnit::Second;
}

Selector saddr(Family f) { return f == Family::V4 ? Selector::Ip4Saddr : Selector::Ip6Saddr; }
Selector daddr(Family f) { return f == Family::V4 ? Selector::Ip4Daddr : Selector::Ip6Daddr; }
KeyType addrKey(Family f) { return f == Family::V4 ? KeyType::Ipv4Addr : KeyType::Ipv6Addr; }
const char* famSuffix(Family f) { return f == Family::V4 ? "4" : "6"; }

// Addresses of one endpoint side within one zone.
struct ZoneSide {
  bool whole = false;  // the whole zone: no address match needed
  std::vector<Prefix> v4, v6;  // each prefix once, in the order the endpoints name them
  std::set<Prefix> seen;       // what v4 and v6 hold: a rule may name 20,000 hosts
  [[nodiscard]] const std::vector<Prefix>& of(Family f) const { return f == Family::V4 ? v4 : v6; }
};

std::map<std::string, ZoneSide> byZone(const PolicyIndex& index, const std::vector<policies::Endpoint>& eps) {
  std::map<std::string, ZoneSide> out;
  for (const auto& e : eps) {
    auto r = index.endpoint(e);
    if (!r) continue;  // validation guarantees this does not happen
    for (const auto& a : r->atoms) {
      auto& side = out[a.zone];
      if (!a.prefix) {
        side.whole = true;
      } else {
        auto& list = a.prefix->family() == Family::V4 ? side.v4 : side.v6;
        if (side.seen.insert(*a.prefix).second) list.push_back(*a.prefix);
      }
    }
  }
  return out;
}

// Chain and set names: policy names are [A-Za-z][A-Za-z0-9_-]*, so these cannot clash with
// the fixed chain names (which contain no "__" or "rule_").
std::string pairChain(const std::string& from, const std::string& to) { return from + "__" + to; }
std::string ruleChain(const std::string& rule) { return "rule_" + rule; }
std::string safeName(std::string s) {
  for (auto& c : s) {
    if (c == ':' || c == '#') c = '-';
  }
  return s;
}

class Compiler {
 public:
  Compiler(const policies::Policy& p, const CompileOptions& o) : p_(p), o_(o), index_(p) {}

  CompileResult run() {
    collectInterfaces();
    prerouting();
    dnat();
    forward();
    input();
    output();
    snat();
    fillAddressSets();
    const auto dropped = inlineSingletonSets();
    result_.ruleset.chains.assign(std::make_move_iterator(chains_.begin()), std::make_move_iterator(chains_.end()));
    result_.ruleset.sets.reserve(sets_.size() - dropped.size());
    for (auto& s : sets_) {
      if (dropped.count(&s) == 0) result_.ruleset.sets.push_back(std::move(s));
    }
    setIndex_.clear();  // the sets moved out; nothing looks them up after this
    return std::move(result_);
  }

 private:
  // ---- interfaces and zones -----------------------------------------------------------
  void collectInterfaces() {
    if (p_.gateway && !p_.gateway->uplink.empty()) {
      uplink_ = p_.gateway->uplink;
      ifaceZone_.emplace_back(uplink_, std::string(policies::kInternet));
    }
    for (const auto& s : p_.segments) {
      auto name = segmentInterface(p_, s);
      if (name.empty() || name.size() > policies::kMaxInterfaceName) continue;  // the validator reports it
      ifaceZone_.emplace_back(name, index_.zoneOfSegment(s.name));
    }
  }

  // Chains and sets live in deques while compiling: references stay valid as more are added.
  // Indexed by name: a flat policy has one chain and up to three sets per rule, and a linear
  // search per lookup made compiling 5,000 rules quadratic.
  Chain& chain(const std::string& name) {
    if (auto* c = findChain(name)) return *c;
    chains_.push_back(Chain{name, std::nullopt, {}, {}});
    chainIndex_.emplace(name, &chains_.back());
    return chains_.back();
  }

  Chain* findChain(const std::string& name) {
    auto it = chainIndex_.find(name);
    return it == chainIndex_.end() ? nullptr : it->second;
  }

  Chain& baseChain(const std::string& name, ChainType type, Hook hook, int prio, bool drop) {
    auto& c = chain(name);
    c.base = BaseChain{type, hook, prio, drop};
    return c;
  }

  SetDef& set(SetDef def) {
    if (auto it = setIndex_.find(def.name); it != setIndex_.end()) return *it->second;
    sets_.push_back(std::move(def));
    setIndex_.emplace(sets_.back().name, &sets_.back());
    return sets_.back();
  }

  // A static set that ends up with ONE element becomes an inline match in the rules that look
  // it up. The kernel keeps a table's sets in a list and finds them by name on every element
  // request, every set-element dump and every lookup it loads, so N named sets cost O(N^2)
  // to load and to read back (5,000 one-host-to-one-host rules: 15,000 sets, 10 s to apply,
  // 6.6 s to read back, the same for nft); inline matches cost nothing of the kind. The price:
  // a rule going from one element to two (or back) changes the rule, so that apply replaces
  // the table instead of adding an element.
  // Returns the sets no rule looks up any more (run() leaves them out of the ruleset). Names
  // are views of the sets' own (a deque's elements stay put): a flat policy of 10,000 rules
  // has 30,000 candidate sets, and copying their names into three maps and erasing from the
  // deque took half of compiling it.
  std::unordered_set<const SetDef*> inlineSingletonSets() {
    std::unordered_set<std::string_view> otherUses;
    for (const auto& c : chains_) {
      for (const auto& r : c.rules) {
        for (const auto& e : r.exprs) {
          if (const auto* m = std::get_if<StmtMeterOver>(&e)) otherUses.insert(m->set);
          if (const auto* m = std::get_if<StmtConnLimitOver>(&e)) otherUses.insert(m->set);
          if (const auto* m = std::get_if<StmtVmap>(&e)) otherUses.insert(m->map);
        }
      }
    }
    std::unordered_map<std::string_view, const SetDef*> inlined;
    for (const auto& s : sets_) {
      if (s.dynamic || s.verdictMap || s.addressMap || s.elements.size() != 1 || otherUses.count(s.name) != 0) continue;
      inlined.emplace(s.name, &s);
    }
    std::unordered_set<const SetDef*> used;  // inlinable, but still looked up by a rule
    for (auto& c : chains_) {
      for (auto& r : c.rules) {
        const bool any = std::any_of(r.exprs.begin(), r.exprs.end(), [&](const Expr& e) {
          const auto* m = std::get_if<MatchLookup>(&e);
          return m != nullptr && inlined.count(m->set) != 0;
        });
        if (!any) continue;
        std::vector<Expr> out;
        out.reserve(r.exprs.size() + 1);
        for (auto& e : r.exprs) {
          const auto* m = std::get_if<MatchLookup>(&e);
          auto it = m ? inlined.find(m->set) : inlined.end();
          if (it == inlined.end() || !inlineMatch(*m, it->second->elements.front(), out)) {
            if (it != inlined.end()) used.insert(it->second);
            out.push_back(std::move(e));
          }
        }
        r.exprs = std::move(out);
      }
    }
    std::unordered_set<const SetDef*> dropped;
    for (const auto& [name, s] : inlined) {
      if (used.count(s) == 0) dropped.insert(s);
    }
    return dropped;
  }

  // The lookup `m` of a one-element set as the equivalent inline matches, appended to `out`.
  // false: no inline form (the lookup stays).
  static bool inlineMatch(const MatchLookup& m, const SetElement& e, std::vector<Expr>& out) {
    if (m.key.size() != e.key.size()) return false;
    if (m.key.size() == 1) {
      const auto sel = m.key[0];
      if (const auto* p = std::get_if<Prefix>(&e.key[0])) {
        out.push_back(MatchPrefix{sel, *p, m.negate});
        return true;
      }
      if (const auto* n = std::get_if<std::string>(&e.key[0]); n && (sel == Selector::IifName || sel == Selector::OifName)) {
        out.push_back(MatchIfName{sel, *n, m.negate});
        return true;
      }
      if (const auto* proto = std::get_if<std::uint8_t>(&e.key[0]); proto && sel == Selector::L4Proto && !m.negate) {
        out.push_back(MatchL4Proto{*proto});
        return true;
      }
      return false;
    }
    if (m.key.size() == 2 && m.key[0] == Selector::L4Proto && m.key[1] == Selector::ThDport && !m.negate) {
      const auto* proto = std::get_if<std::uint8_t>(&e.key[0]);
      const auto* ports = std::get_if<PortRange>(&e.key[1]);
      if (proto == nullptr || ports == nullptr) return false;
      out.push_back(MatchL4Proto{*proto});
      out.push_back(MatchPort{*ports});
      return true;
    }
    return false;
  }

  static Rule rule(std::vector<Expr> exprs, Verdict v, Origin o) {
    return Rule{std::move(exprs), std::move(v), std::move(o)};
  }

  // ---- prerouting: spoofing, SYN floods ------------------------------------------------
  void prerouting() {
    auto& c = baseChain("prerouting", ChainType::Filter, Hook::Prerouting, -150, false);
    c.comment = "anti-spoofing and flood guards, before conntrack lookups are trusted";
    c.rules.push_back(rule({MatchCtState{kCtInvalid}, StmtCounter{}}, {VerdictKind::Drop, {}},
                           builtin("invalid")));
    c.rules.push_back(rule({MatchFibSaddrMissing{}, StmtCounter{}}, {VerdictKind::Drop, {}},
                           builtin("antispoof")));
    auto syn = policies::effectiveSynLimit(p_);
    for (auto fam : {Family::V4, Family::V6}) {
      if (uplink_.empty() || syn.off) break;
      std::string name = std::string("synflood") + famSuffix(fam);
      set(SetDef{name, {addrKey(fam)}, false, false, true, 60, 65535, {}, "per-source SYN meter"});
      // Origin: gateway.syn_limit where the policy sets it, built in otherwise.
      Origin origin = syn.where.file.empty() ? builtin("synflood") : Origin{syn.where, "syn_limit"};
      c.rules.push_back(rule(
          {MatchIfName{Selector::IifName, uplink_, false}, MatchNfProto{fam}, MatchL4Proto{kTcp},
           MatchTcpSynOnly{}, MatchCtState{kCtNew},
           StmtMeterOver{name, {saddr(fam)}, StmtLimit{syn.count, rateUnit(syn.per), syn.burst, true}},
           StmtCounter{}},
          {VerdictKind::Drop, {}}, std::move(origin)));
    }
    if (uplink_.empty()) return;
    vipSynLimits(c);
    // A new TCP connection must start with a SYN; anything else is a scan or a stale flow.
    c.rules.push_back(rule({MatchL4Proto{kTcp}, MatchNotTcpSyn{}, MatchCtState{kCtNew}, StmtCounter{}},
                           {VerdictKind::Drop, {}}, builtin("new-not-syn")));
  }

  // A dnat entry's syn_limit: new TCP connections from the uplink to its VIP and port, all
  // sources together, dropped above the rate here, before DNAT: a SYN flood from spoofed
  // sources (one SYN each, which no per-source meter sees) then costs neither a conntrack
  // entry, nor the backend's SYN-ACK, nor its forwarding. One limiter per port (range) of the
  // service; the legitimate share of a flood's new connections is refused with it.
  void vipSynLimits(Chain& c) {
    for (const auto& d : p_.dnat) {
      if (!d.synLimit || d.synLimit->off) continue;
      auto svc = index_.service(d.service);
      if (!svc) continue;
      const auto fam = d.vip.family();
      const auto& l = *d.synLimit;
      for (const auto& spec : svc->specs) {
        if (spec.protocol != policies::Protocol::Tcp) continue;
        c.rules.push_back(rule({MatchIfName{Selector::IifName, uplink_, false}, MatchNfProto{fam},
                                MatchPrefix{daddr(fam), Prefix(d.vip, d.vip.bits()), false}, MatchL4Proto{kTcp},
                                MatchPort{spec.ports}, MatchTcpSynOnly{}, MatchCtState{kCtNew},
                                StmtLimit{l.count, rateUnit(l.per), l.burst, true}, StmtCounter{}},
                               {VerdictKind::Drop, {}}, Origin{l.where, "dnat:" + d.name + " syn_limit"}));
      }
    }
  }

  // ---- DNAT ---------------------------------------------------------------------------
  // One backend without a check: a plain `dnat to`. Otherwise the entry joins the pool of
  // entries with the same backends, mode and check, and DNATs through that pool's map.
  void dnat() {
    auto& c = baseChain("prerouting_nat", ChainType::Nat, Hook::Prerouting, -100, false);
    for (const auto& d : p_.dnat) {
      auto svc = index_.service(d.service);
      if (!svc) continue;
      std::vector<DnatBackend> backends;
      for (const auto& b : d.to) {
        if (auto a = backendAddress(b, d.vip.family())) backends.push_back({b.text, *a});
      }
      if (backends.size() != d.to.size() || backends.empty()) continue;  // the validator reports it
      const auto fam = d.vip.family();
      const Origin origin{d.where, "dnat:" + d.name};
      std::optional<Expr> nat;
      if (backends.size() == 1 && !d.check) {
        nat = StmtDnat{backends.front().address, d.port};
      } else {
        auto& pool = dnatPool(d, std::move(backends));
        nat = StmtDnatMap{fam, pool.mode == policies::DnatMode::Balance ? static_cast<std::uint32_t>(pool.slotCount()) : 0,
                          pool.map, d.port};
      }
      for (const auto& spec : svc->specs) {
        c.rules.push_back(rule({MatchNfProto{fam}, MatchPrefix{daddr(fam), Prefix(d.vip, d.vip.bits()), false},
                                MatchL4Proto{policies::protocolNumber(spec.protocol)}, MatchPort{spec.ports},
                                StmtCounter{}, *nat},
                               {}, origin));
      }
    }
    for (const auto& pool : result_.pools) set(poolMapDef(pool));
  }

  std::optional<IpAddress> backendAddress(const policies::Backend& b, Family fam) const {
    if (b.literal) return b.literal->family() == fam ? b.literal : std::nullopt;
    const auto* host = p_.findHost(b.text);
    if (!host) return std::nullopt;
    for (const auto& a : host->addresses) {
      if (a.family() == fam) return a;
    }
    return std::nullopt;
  }

  DnatPool& dnatPool(const policies::Dnat& d, std::vector<DnatBackend> backends) {
    const auto mode = d.to.size() > 1 ? d.mode : policies::DnatMode::Failover;
    const std::string check = d.check ? d.check->name : "";
    for (auto& p : result_.pools) {
      bool same = p.mode == mode && p.family == d.vip.family() && p.check == check &&
                  p.backends.size() == backends.size() &&
                  std::equal(p.backends.begin(), p.backends.end(), backends.begin(),
                             [](const DnatBackend& a, const DnatBackend& b) { return a.address == b.address; });
      if (!same) continue;
      p.entries.push_back(d.name);
      if (std::find(p.vips.begin(), p.vips.end(), d.vip) == p.vips.end()) p.vips.push_back(d.vip);
      return p;
    }
    DnatPool p;
    p.map = std::string("dnat") + famSuffix(d.vip.family()) + "_" + d.name;
    p.mode = mode;
    p.family = d.vip.family();
    p.backends = std::move(backends);
    p.check = check;
    p.vips.push_back(d.vip);
    p.entries.push_back(d.name);
    result_.pools.push_back(std::move(p));
    return result_.pools.back();
  }

  // ---- forward ------------------------------------------------------------------------
  void forward() {
    auto& fwd = baseChain("forward", ChainType::Filter, Hook::Forward, 0, true);
    establishedByPair(fwd);
    fwd.rules.push_back(rule({MatchCtState{kCtEstablished | kCtRelated}, StmtCounter{}},
                             {VerdictKind::Accept, {}}, builtin("established")));
    fwd.rules.push_back(rule({MatchCtState{kCtInvalid}, StmtCounter{}}, {VerdictKind::Drop, {}},
                             builtin("invalid")));

    std::vector<std::string> toZones;
    for (const auto& [iface, zone] : ifaceZone_) {
      if (std::find(toZones.begin(), toZones.end(), zone) == toZones.end()) toZones.push_back(zone);
    }

    // Admin VPN: a pool address counts only when the packet came through IPsec, either
    // decapsulated by kernel XFRM or delivered by charon's userspace ESP on its TUN device.
    if (p_.vpn) {
      for (const auto& g : p_.vpn->groups) {
        if (g.pool.length() == 0) continue;
        auto zone = index_.zoneOfGroup(g.name);
        std::string map = "egress_" + zone;
        auto& m = set(SetDef{map, {KeyType::IfName}, false, true, false, 0, 0, {},
                             "admin VPN zone " + zone + " by egress interface"});
        if (m.elements.empty()) {
          for (const auto& [iface, to] : ifaceZone_) {
            m.elements.push_back({{iface}, pairChain(zone, to), {}});
            ensurePairChain(zone, to);
          }
        }
        auto fam = g.pool.family();
        Origin origin{g.where, "vpn:" + g.name};
        fwd.rules.push_back(rule({MatchNfProto{fam}, MatchPrefix{saddr(fam), g.pool, false},
                                  MatchIpsecIn{}, StmtVmap{{Selector::OifName}, map}},
                                 {}, origin));
        if (!o_.libipsecInterface.empty()) {
          fwd.rules.push_back(rule({MatchIfName{Selector::IifName, o_.libipsecInterface, false},
                                    MatchNfProto{fam}, MatchPrefix{saddr(fam), g.pool, false},
                                    StmtVmap{{Selector::OifName}, map}},
                                   {}, origin));
        }
      }
      for (const auto& g : p_.vpn->groups) {
        if (g.pool.length() == 0) continue;
        auto fam = g.pool.family();
        fwd.rules.push_back(rule({MatchNfProto{fam}, MatchPrefix{saddr(fam), g.pool, false}, StmtCounter{}},
                                 {VerdictKind::Drop, {}}, {g.where, "vpn-pool-without-ipsec:" + g.name}));
      }
    }

    auto& dispatch = set(SetDef{"dispatch", {KeyType::IfName, KeyType::IfName}, false, true, false, 0, 0,
                                {}, "zone pair by ingress . egress interface"});
    for (const auto& [in, fromZone] : ifaceZone_) {
      for (const auto& [out, toZone] : ifaceZone_) {
        dispatch.elements.push_back({{in, out}, pairChain(fromZone, toZone), {}});
        ensurePairChain(fromZone, toZone);
      }
    }
    fwd.rules.push_back(rule({StmtVmap{{Selector::IifName, Selector::OifName}, "dispatch"}}, {},
                             builtin("dispatch")));
    fwd.rules.push_back(rule({StmtLimit{o_.dropLogRate, RateUnit::Second, o_.dropLogRate * 2, false},
                              StmtLog{"bulwark drop unknown-zone: "}},
                             {}, builtin("log-unknown")));
    fwd.rules.push_back(rule({StmtCounter{}}, {VerdictKind::Drop, {}}, builtin("default-drop")));

    // The policy's rules, in order, into the pair chains they concern.
    for (const auto& fr : policies::flowRules(p_)) {
      compileFlowRule(fr);
    }
    for (auto& c : chains_) {
      auto pr = pairChains_.find(c.name);
      if (pr == pairChains_.end()) continue;
      const auto& [from, to] = pr->second;
      auto label = from + ">" + to;
      c.rules.push_back(rule({StmtLimit{o_.dropLogRate, RateUnit::Second, o_.dropLogRate * 2, false},
                              StmtLog{("bulwark drop " + label + ": ").substr(0, 127)}},
                             {}, builtin("log " + label)));
      // Counted: the counters find the pair chains by this comment (pairOfDropComment).
      c.rules.push_back(rule({StmtCounter{}}, {VerdictKind::Drop, {}}, pairDropOrigin(from, to)));
    }
  }

  void ensurePairChain(const std::string& from, const std::string& to) {
    auto& c = chain(pairChain(from, to));
    if (c.comment.empty()) c.comment = "from zone " + from + " to zone " + to;
    pairChains_.emplace(c.name, std::pair{from, to});
  }

  // Established traffic, counted per zone pair: after its first packets a connection is
  // accepted here, never reaching the pair chains, so without this the pair totals would
  // count only the packets the policy decides. Original-direction packets are keyed
  // iifname . oifname, replies oifname . iifname, so both count under the pair that opened
  // the connection; each goes to a chain of one counted accept (pairFlowOrigin). Interface
  // pairs not in the maps fall through to the generic established accept after these rules.
  void establishedByPair(Chain& fwd) {
    if (ifaceZone_.empty()) return;
    // The admin VPN's traffic enters through the uplink (kernel XFRM) or charon's TUN device,
    // so its connections reach the uplink zone's flow chains; there a pool address hands
    // them to the flow chain of its group's zone (only uplink traffic pays for that test).
    auto ingress = ifaceZone_;
    std::vector<const policies::VpnGroup*> pools;
    if (p_.vpn && !uplink_.empty()) {
      for (const auto& g : p_.vpn->groups) {
        if (g.pool.length() != 0 && index_.zoneOfGroup(g.name) != policies::kInternet) pools.push_back(&g);
      }
      if (!pools.empty() && !o_.libipsecInterface.empty()) {
        ingress.emplace_back(o_.libipsecInterface, std::string(policies::kInternet));
      }
    }
    for (bool reply : {false, true}) {
      const std::string map = reply ? "flow_reply" : "flow_original";
      auto& m = set(SetDef{map, {KeyType::IfName, KeyType::IfName}, false, true, false, 0, 0, {},
                           std::string("established ") + (reply ? "replies" : "originals") +
                               " by the zone pair that opened them"});
      for (const auto& [in, fromZone] : ingress) {
        for (const auto& [out, toZone] : ifaceZone_) {
          m.elements.push_back({{in, out}, flowChain(fromZone, toZone, reply, pools).name, {}});
        }
      }
      const std::vector<Selector> key = reply ? std::vector{Selector::OifName, Selector::IifName}
                                              : std::vector{Selector::IifName, Selector::OifName};
      fwd.rules.push_back(rule({MatchCtState{kCtEstablished | kCtRelated}, MatchCtDirection{reply}, StmtVmap{key, map}},
                               {}, builtin(reply ? "established-reply by pair" : "established by pair")));
    }
  }

  // The chain counting the established traffic of pair from → to in one direction; the
  // uplink zone's first hands the VPN pools' connections on. Chain names: zone names hold no
  // '.', so these are unambiguous and no policy name (pair chains "<a>__<b>", rule chains
  // "rule_<r>") can take them.
  Chain& flowChain(const std::string& from, const std::string& to, bool reply,
                   const std::vector<const policies::VpnGroup*>& pools) {
    auto& c = chain(std::string(reply ? "flow-reply." : "flow.") + from + "." + to);
    if (!c.rules.empty()) return c;
    c.comment = std::string(reply ? "replies" : "established traffic") + " from zone " + from + " to zone " + to;
    for (const auto* g : from == policies::kInternet ? pools : std::vector<const policies::VpnGroup*>{}) {
      const auto fam = g->pool.family();
      const auto& vpn = flowChain(index_.zoneOfGroup(g->name), to, reply, {});
      c.rules.push_back(rule({MatchNfProto{fam}, MatchPrefix{reply ? daddr(fam) : saddr(fam), g->pool, false}},
                             {VerdictKind::Goto, vpn.name}, {g->where, "vpn:" + g->name}));
    }
    c.rules.push_back(rule({StmtCounter{}}, {VerdictKind::Accept, {}}, pairFlowOrigin(from, to, reply)));
    return c;
  }

  // One policy rule: its own chain (counter, limits, log, verdict) and, in each zone pair
  // it concerns, one line per address family made of set lookups.
  void compileFlowRule(const FlowRule& fr) {
    auto from = byZone(index_, fr.from);
    auto to = byZone(index_, fr.to);
    if (o_.zonePairs && !anyPairWanted(from, to)) return;
    std::string base = safeName(fr.name);
    Origin origin{fr.where, fr.name};

    // Services: ports as one concatenated interval set, port-less protocols as another.
    std::vector<SetElement> svcElems, protoElems;
    bool anyService = false;
    for (const auto& s : fr.services) {
      auto set = index_.service(s);
      if (!set) continue;
      if (set->any) anyService = true;
      for (const auto& spec : set->specs) {
        if (policies::protocolHasPorts(spec.protocol)) {
          svcElems.push_back({{policies::protocolNumber(spec.protocol), spec.ports}, {}, {}});
        } else {
          protoElems.push_back({{policies::protocolNumber(spec.protocol)}, {}, {}});
        }
      }
    }
    std::vector<std::vector<Expr>> serviceMatches;
    if (anyService) {
      serviceMatches.push_back({});
    } else {
      if (!svcElems.empty()) {
        set(SetDef{base + "_svc", {KeyType::InetProto, KeyType::InetService}, true, false, false, 0, 0,
                   dedupe(svcElems), "services of rule " + fr.name});
        serviceMatches.push_back({MatchLookup{{Selector::L4Proto, Selector::ThDport}, base + "_svc", false}});
      }
      if (!protoElems.empty()) {
        set(SetDef{base + "_proto", {KeyType::InetProto}, false, false, false, 0, 0, dedupe(protoElems),
                   "port-less protocols of rule " + fr.name});
        serviceMatches.push_back({MatchLookup{{Selector::L4Proto}, base + "_proto", false}});
      }
    }

    std::string target = ruleChain(base);
    bool usedAnywhere = false;
    for (const auto& [fz, fside] : from) {
      for (const auto& [tz, tside] : to) {
        auto chainName = pairChain(fz, tz);
        if (!findChain(chainName)) continue;  // no interface pair leads there
        const bool wanted = pairWanted(fz, tz);
        for (auto fam : {Family::V4, Family::V6}) {
          bool srcAll = fside.whole, dstAll = tside.whole;
          const auto& srcs = fside.of(fam);
          const auto& dsts = tside.of(fam);
          if ((!srcAll && srcs.empty()) || (!dstAll && dsts.empty())) continue;
          if (srcAll && dstAll && fam == Family::V6) continue;  // the V4 pass has no family match
          std::vector<Expr> head;
          if (!srcAll || !dstAll) head.push_back(MatchNfProto{fam});
          if (!srcAll) head.push_back(MatchLookup{{saddr(fam)}, addressSet(base, "saddr", fam, srcs), false});
          if (!dstAll) head.push_back(MatchLookup{{daddr(fam)}, addressSet(base, "daddr", fam, dsts), false});
          if (!wanted) continue;  // its prefixes are in the sets all the same: the pairs kept see them whole
          for (const auto& svc : serviceMatches) {
            auto exprs = head;
            exprs.insert(exprs.end(), svc.begin(), svc.end());
            chain(chainName).rules.push_back(rule(std::move(exprs), {VerdictKind::Jump, target}, origin));
            usedAnywhere = true;
          }
        }
      }
    }
    if (usedAnywhere) ruleBody(fr, base, target, origin);
  }

  // CompileOptions::zonePairs: whether the chain of zone pair from → to gets the policy's rules.
  [[nodiscard]] bool pairWanted(const std::string& from, const std::string& to) const {
    return !o_.zonePairs || o_.zonePairs->count({from, to}) != 0;
  }

  [[nodiscard]] bool anyPairWanted(const std::map<std::string, ZoneSide>& from,
                                   const std::map<std::string, ZoneSide>& to) {
    for (const auto& [fz, fside] : from) {
      for (const auto& [tz, tside] : to) {
        if (pairWanted(fz, tz) && findChain(pairChain(fz, tz))) return true;
      }
    }
    return false;
  }

  static std::vector<SetElement> dedupe(std::vector<SetElement> elems) {
    std::vector<SetElement> out;
    for (auto& e : elems) {
      bool dup = std::any_of(out.begin(), out.end(), [&](const SetElement& o) { return o.key == e.key; });
      if (!dup) out.push_back(std::move(e));
    }
    return out;
  }

  // A rule's addresses of one family and direction: one named set, filled across all
  // the zone pairs the rule spans (anti-spoofing pins each address to its interface).
  std::string addressSet(const std::string& base, const char* dir, Family fam, const std::vector<Prefix>& prefixes) {
    std::string name = base + "_" + dir + famSuffix(fam);
    addPrefixes(name, fam, prefixes, std::string(dir) + " of rule " + base);
    return name;
  }

  // Interval sets refuse overlapping elements: keep only the widest prefixes. The elements
  // are written by fillAddressSets once every rule has added its own.
  void addPrefixes(const std::string& name, Family fam, const std::vector<Prefix>& prefixes,
                   const std::string& comment) {
    set(SetDef{name, {addrKey(fam)}, true, false, false, 0, 0, {}, comment});
    auto& widest = addressSets_[name];
    for (const auto& p : prefixes) widest.add(p);
  }

  void fillAddressSets() {
    for (auto& [name, widest] : addressSets_) {
      auto& s = *setIndex_.at(name);
      for (auto& p : widest.inOrder()) s.elements.push_back({{p}, {}, {}});
    }
  }

  void ruleBody(const FlowRule& fr, const std::string& base, const std::string& target, const Origin& origin) {
    auto& c = chain(target);
    c.comment = "policy rule " + fr.name;
    const policies::Rule* r = fr.rule;
    if (r && r->limits) {
      for (auto fam : {Family::V4, Family::V6}) {
        if (r->limits->rate) {
          const auto& rate = *r->limits->rate;
          RateUnit unit = rateUnit(rate.per);
          std::string name = base + "_rate" + famSuffix(fam);
          set(SetDef{name, {addrKey(fam)}, false, false, true, 60, 65535, {}, "per-source rate of rule " + fr.name});
          c.rules.push_back(rule({MatchNfProto{fam}, MatchCtState{kCtNew},
                                  StmtMeterOver{name, {saddr(fam)},
                                                StmtLimit{rate.count, unit, rate.burst ? rate.burst : rate.count, true}},
                                  StmtCounter{}},
                                 {VerdictKind::Drop, {}}, {origin.where, fr.name + ":rate"}));
        }
        if (r->limits->connections) {
          std::string name = base + "_conn" + famSuffix(fam);
          set(SetDef{name, {addrKey(fam)}, false, false, true, 0, 65535, {}, "per-source connections of rule " + fr.name});
          c.rules.push_back(rule({MatchNfProto{fam}, MatchCtState{kCtNew},
                                  StmtConnLimitOver{name, {saddr(fam)}, *r->limits->connections}, StmtCounter{}},
                                 {VerdictKind::Drop, {}}, {origin.where, fr.name + ":connections"}));
        }
      }
    }
    if (r && r->log) {
      c.rules.push_back(rule({StmtLimit{10, RateUnit::Second, 20, false},
                              StmtLog{("bulwark " + fr.name + ": ").substr(0, 127)}},
                             {}, origin));
    }
    VerdictKind v = fr.action == Action::Allow ? VerdictKind::Accept
                    : fr.action == Action::Reject ? VerdictKind::Reject
                                                  : VerdictKind::Drop;
    c.rules.push_back(rule({StmtCounter{}}, {v, {}}, origin));
  }

  // ---- the gateway itself ---------------------------------------------------------------
  void input() {
    auto& c = baseChain("input", ChainType::Filter, Hook::Input, 0, true);
    c.rules.push_back(rule({MatchIfName{Selector::IifName, "lo", false}}, {VerdictKind::Accept, {}}, builtin("loopback")));
    c.rules.push_back(rule({MatchCtState{kCtEstablished | kCtRelated}, StmtCounter{}}, {VerdictKind::Accept, {}},
                           builtin("established")));
    c.rules.push_back(rule({MatchCtState{kCtInvalid}, StmtCounter{}}, {VerdictKind::Drop, {}}, builtin("invalid")));
    // ICMP keeps PMTU discovery and IPv6 neighbour discovery working.
    c.rules.push_back(rule({MatchL4Proto{1}, StmtCounter{}}, {VerdictKind::Accept, {}}, builtin("icmp")));
    c.rules.push_back(rule({MatchL4Proto{58}, StmtCounter{}}, {VerdictKind::Accept, {}}, builtin("icmpv6")));
    if (p_.vpn) {
      Origin o{p_.vpn->where, "vpn:ike"};
      for (std::uint16_t port : {std::uint16_t{500}, std::uint16_t{4500}}) {
        c.rules.push_back(rule({MatchL4Proto{kUdp}, MatchPort{{port, port}}, StmtCounter{}}, {VerdictKind::Accept, {}}, o));
      }
      c.rules.push_back(rule({MatchL4Proto{kEsp}, StmtCounter{}}, {VerdictKind::Accept, {}}, o));
      // The gateway's own SSH: administrators only, through the tunnel only.
      for (const auto& g : p_.vpn->groups) {
        if (g.pool.length() == 0) continue;
        auto fam = g.pool.family();
        Origin so{g.where, "vpn-ssh:" + g.name};
        c.rules.push_back(rule({MatchNfProto{fam}, MatchPrefix{saddr(fam), g.pool, false}, MatchIpsecIn{},
                                MatchL4Proto{kTcp}, MatchPort{{22, 22}}, StmtCounter{}},
                               {VerdictKind::Accept, {}}, so));
        if (!o_.libipsecInterface.empty()) {
          c.rules.push_back(rule({MatchIfName{Selector::IifName, o_.libipsecInterface, false}, MatchNfProto{fam},
                                  MatchPrefix{saddr(fam), g.pool, false}, MatchL4Proto{kTcp}, MatchPort{{22, 22}},
                                  StmtCounter{}},
                                 {VerdictKind::Accept, {}}, so));
        }
      }
    }
    if (p_.gateway && p_.gateway->control) {
      const auto& ctl = *p_.gateway->control;
      gatewayListener(c, ctl.listen, ctl.port, ctl.where, "control");
    }
    if (p_.gateway && p_.gateway->web) {
      const auto& web = *p_.gateway->web;
      gatewayListener(c, web.listen, web.port, web.where, "web");
    }
    for (auto& r : detail::haInputRules(p_)) c.rules.push_back(std::move(r));  // ha: VRRP, state sync
    c.rules.push_back(rule({StmtLimit{o_.dropLogRate, RateUnit::Second, o_.dropLogRate * 2, false},
                            StmtLog{"bulwark drop >gateway: "}},
                           {}, builtin("log input")));
    c.rules.push_back(rule({StmtCounter{}}, {VerdictKind::Drop, {}}, builtin("drop input")));
  }

  // bulwarkd's remote control API (gateway.control) and web view (gateway.web), TLS with
  // client certificates: reachable on their one address from the segment that holds it (on
  // that segment's interface, from its subnet) and from the admin VPN's pools through the
  // tunnel; from nowhere else. `label`: "control" or "web" (the rules' origins).
  void gatewayListener(Chain& c, const IpAddress& listen, std::uint16_t portNumber, const Location& where,
                       const std::string& label) {
    auto fam = listen.family();
    const policies::Segment* seg = nullptr;
    const policies::AddressFamilyConfig* cfg = nullptr;
    for (const auto& s : p_.segments) {
      const auto& f = fam == Family::V4 ? s.ipv4 : s.ipv6;
      if (f && f->gateway && *f->gateway == listen) {
        seg = &s;
        cfg = &*f;
        break;
      }
    }
    if (seg == nullptr) return;  // the validator reports it
    Prefix self(listen, listen.bits());
    MatchPort port{{portNumber, portNumber}};
    auto iface = segmentInterface(p_, *seg);
    if (!iface.empty()) {
      c.rules.push_back(rule({MatchIfName{Selector::IifName, iface, false}, MatchNfProto{fam},
                              MatchPrefix{saddr(fam), cfg->subnet, false}, MatchPrefix{daddr(fam), self, false},
                              MatchL4Proto{kTcp}, port, StmtCounter{}},
                             {VerdictKind::Accept, {}}, {where, label + ":" + seg->name}));
    }
    if (!p_.vpn) return;
    for (const auto& g : p_.vpn->groups) {
      if (g.pool.length() == 0 || g.pool.family() != fam) continue;
      Origin o{where, label + "-vpn:" + g.name};
      c.rules.push_back(rule({MatchNfProto{fam}, MatchPrefix{saddr(fam), g.pool, false}, MatchIpsecIn{},
                              MatchPrefix{daddr(fam), self, false}, MatchL4Proto{kTcp}, port, StmtCounter{}},
                             {VerdictKind::Accept, {}}, o));
      if (!o_.libipsecInterface.empty()) {
        c.rules.push_back(rule({MatchIfName{Selector::IifName, o_.libipsecInterface, false}, MatchNfProto{fam},
                                MatchPrefix{saddr(fam), g.pool, false}, MatchPrefix{daddr(fam), self, false},
                                MatchL4Proto{kTcp}, port, StmtCounter{}},
                               {VerdictKind::Accept, {}}, o));
      }
    }
  }

  void output() { baseChain("output", ChainType::Filter, Hook::Output, 0, false); }

  // ---- SNAT ---------------------------------------------------------------------------
  void snat() {
    auto& c = baseChain("postrouting_nat", ChainType::Nat, Hook::Postrouting, 100, false);
    if (uplink_.empty()) return;
    for (const auto& s : p_.snat) {
      std::string name = "snat_" + s.name + "_saddr4";
      std::vector<Prefix> sources;
      for (const auto& [zone, side] : byZone(index_, s.from)) {
        if (side.whole) {
          for (const auto& p : zonePrefixes(zone, Family::V4)) sources.push_back(p);
        }
        for (const auto& p : side.v4) sources.push_back(p);
      }
      if (sources.empty()) continue;  // NAT44 only: IPv6 leaves with its own addresses
      addPrefixes(name, Family::V4, sources, "sources SNATed by " + s.name);
      std::vector<Expr> exprs{MatchIfName{Selector::OifName, uplink_, false}, MatchNfProto{Family::V4},
                              MatchLookup{{Selector::Ip4Saddr}, name, false}, StmtCounter{}};
      auto pairAddress = s.masquerade ? detail::haSnatAddress(p_) : std::nullopt;  // ha: the floating one
      if (pairAddress) exprs.push_back(StmtSnat{*pairAddress});
      else if (s.masquerade) exprs.push_back(StmtMasquerade{});
      else if (s.address) exprs.push_back(StmtSnat{*s.address});
      c.rules.push_back(rule(std::move(exprs), {}, {s.where, "snat:" + s.name}));
    }
  }

  std::vector<Prefix> zonePrefixes(const std::string& zone, Family fam) const {
    std::vector<Prefix> out;
    for (const auto& s : p_.segments) {
      if (index_.zoneOfSegment(s.name) != zone) continue;
      const auto& cfg = fam == Family::V4 ? s.ipv4 : s.ipv6;
      if (cfg) out.push_back(cfg->subnet);
    }
    if (p_.vpn) {
      for (const auto& g : p_.vpn->groups) {
        if (index_.zoneOfGroup(g.name) == zone && g.pool.family() == fam && g.pool.length() > 0) out.push_back(g.pool);
      }
    }
    return out;
  }

  const policies::Policy& p_;
  const CompileOptions& o_;
  PolicyIndex index_;
  CompileResult result_;
  std::deque<Chain> chains_;
  std::deque<SetDef> sets_;
  std::unordered_map<std::string, Chain*> chainIndex_;
  std::unordered_map<std::string, SetDef*> setIndex_;
  std::unordered_map<std::string, WidestPrefixes> addressSets_;  // set name → its prefixes
  std::unordered_map<std::string, std::pair<std::string, std::string>> pairChains_;  // chain → {from, to}
  std::string uplink_;
  std::vector<std::pair<std::string, std::string>> ifaceZone_;  // interface → zone
};

}  // namespace

CompileResult compile(const policies::Policy& policy, const CompileOptions& options) {
  return Compiler(policy, options).run();
}

}  // namespace bulwark::firewall
