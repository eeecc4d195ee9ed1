#include "bulwark/firewall/evaluator.h"

#include <algorithm>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/render.h"
#include "bulwark/policies/ha.h"
#include "bulwark/base/overloaded.h"

namespace bulwark::firewall {

namespace {


// A field's value in the packet being evaluated.
struct Value {
  std::optional<std::string> name;
  std::optional<IpAddress> addr;
  std::optional<std::uint32_t> number;
};

enum class Outcome { Continue, Accept, Drop, Return };

class Interpreter {
 public:
  Interpreter(const Ruleset& rs, const RouteTable& routes, Packet p, Evaluation& out, bool explain)
      : rs_(rs), routes_(routes), p_(std::move(p)), out_(out), explain_(explain) {}

  Packet& packet() { return p_; }
  std::string oif;

  // Runs a base chain; applies its policy when nothing decides.
  Outcome runBase(const Chain& c) {
    auto o = run(c, 0);
    if (o == Outcome::Accept || o == Outcome::Drop) return o;
    if (c.base && c.base->policyDrop) {
      out_.decidedBy = {{}, "policy drop of chain " + c.name};
      out_.decidingRule = "policy drop";
      out_.decidingChain = c.name;
      return Outcome::Drop;
    }
    return Outcome::Accept;
  }

 private:
  Outcome run(const Chain& c, int depth) {
    if (depth > 16) return Outcome::Drop;  // the kernel caps jump depth too
    for (const auto& r : c.rules) {
      std::string jumpTo;
      bool matched = true;
      for (const auto& e : r.exprs) {
        if (!match(e, jumpTo)) {
          matched = false;
          break;
        }
        if (!jumpTo.empty()) break;  // a vmap hit: goto the element's chain
      }
      if (!matched) continue;
      if (explain_) out_.trace.push_back(c.name + ": " + renderRule(r));
      if (!jumpTo.empty()) {
        const Chain* target = rs_.findChain(jumpTo);
        if (!target) return Outcome::Drop;
        return run(*target, depth + 1);  // vmap elements are gotos
      }
      switch (r.verdict.kind) {
        case VerdictKind::None: continue;
        case VerdictKind::Accept:
        case VerdictKind::Drop:
        case VerdictKind::Reject:
          out_.decidedBy = r.origin;
          if (explain_) out_.decidingRule = renderRule(r);
          out_.decidingChain = c.name;
          return r.verdict.kind == VerdictKind::Accept ? Outcome::Accept : Outcome::Drop;
        case VerdictKind::Return: return Outcome::Return;
        case VerdictKind::Jump:
        case VerdictKind::Goto: {
          const Chain* target = rs_.findChain(r.verdict.chain);
          if (!target) return Outcome::Drop;
          auto o = run(*target, depth + 1);
          if (o == Outcome::Accept || o == Outcome::Drop || r.verdict.kind == VerdictKind::Goto) return o;
          continue;
        }
      }
    }
    return Outcome::Continue;
  }

  Value field(Selector s) const {
    switch (s) {
      case Selector::IifName: return {p_.iif, {}, {}};
      case Selector::OifName: return {oif, {}, {}};
      case Selector::Ip4Saddr: return {{}, p_.src.isV4() ? std::optional(p_.src) : std::nullopt, {}};
      case Selector::Ip4Daddr: return {{}, p_.dst.isV4() ? std::optional(p_.dst) : std::nullopt, {}};
      case Selector::Ip6Saddr: return {{}, p_.src.isV4() ? std::nullopt : std::optional(p_.src), {}};
      case Selector::Ip6Daddr: return {{}, p_.dst.isV4() ? std::nullopt : std::optional(p_.dst), {}};
      case Selector::L4Proto: return {{}, {}, p_.proto};
      case Selector::ThDport: {
        bool hasPorts = p_.proto == 6 || p_.proto == 17 || p_.proto == 132;
        return {{}, {}, hasPorts ? std::optional<std::uint32_t>(p_.dport) : std::nullopt};
      }
    }
    return {};
  }

  static bool partMatches(const KeyPart& part, const Value& v) {
    return std::visit(Overloaded{
                          [&](const std::string& s) { return v.name && *v.name == s; },
                          [&](const Prefix& p) { return v.addr && p.contains(*v.addr); },
                          [&](std::uint8_t proto) { return v.number && *v.number == proto; },
                          [&](const PortRange& r) { return v.number && r.first <= *v.number && *v.number <= r.last; },
                          [&](std::uint32_t slot) { return v.number && *v.number == slot; },
                      },
                      part);
  }

  const SetElement* lookup(const std::string& setName, const std::vector<Selector>& key) const {
    const SetDef* set = rs_.findSet(setName);
    if (!set) return nullptr;
    std::vector<Value> values;
    for (auto s : key) values.push_back(field(s));
    for (const auto& e : set->elements) {
      if (e.key.size() != values.size()) continue;
      bool all = true;
      for (std::size_t i = 0; i < values.size() && all; ++i) all = partMatches(e.key[i], values[i]);
      if (all) return &e;
    }
    return nullptr;
  }

  bool match(const Expr& e, std::string& jumpTo) {
    return std::visit(
        Overloaded{
            [&](const MatchCtState& m) { return (m.mask & kCtNew) != 0; },  // first packet: new
            [&](const MatchCtDirection& m) { return !m.reply; },  // ... and of the original direction
            [&](const MatchIfName& m) {
              const auto& name = m.which == Selector::IifName ? p_.iif : oif;
              return (name == m.name) != m.negate;
            },
            [&](const MatchNfProto& m) { return p_.src.family() == m.family; },
            [&](const MatchL4Proto& m) { return p_.proto == m.proto; },
            [&](const MatchPrefix& m) {
              auto v = field(m.which);
              return v.addr && (m.prefix.contains(*v.addr) != m.negate);
            },
            [&](const MatchPort& m) {
              auto v = field(Selector::ThDport);
              return v.number && m.ports.first <= *v.number && *v.number <= m.ports.last;
            },
            [&](const MatchLookup& m) { return (lookup(m.set, m.key) != nullptr) != m.negate; },
            [&](const MatchIpsecIn&) { return p_.viaIpsec; },
            [&](const MatchFibSaddrMissing&) {
              // Strict reverse path: the route back to the source must leave by iif.
              auto back = routes_.lookup(p_.src);
              return !back || *back != p_.iif;
            },
            [&](const MatchTcpSynOnly&) { return p_.proto == 6; },
            [&](const MatchNotTcpSyn&) { return false; },  // a first packet is a SYN
            [&](const StmtCounter&) { return true; },
            [&](const StmtLimit& l) { return !l.over; },        // never over the rate offline
            [&](const StmtMeterOver&) { return false; },        // no source is over its rate
            [&](const StmtConnLimitOver&) { return false; },    // nor over its connections
            [&](const StmtLog&) { return true; },
            [&](const StmtDnat& d) {
              translate(d.to, d.port);
              return true;
            },
            [&](const StmtDnatMap& d) {
              const SetDef* map = rs_.findSet(d.map);
              if (!map) return false;
              const SetElement* hit = nullptr;
              const Value key = d.numgenMod != 0
                                    ? Value{{}, {}, 0u}
                                    : field(d.family == policies::Family::V4 ? Selector::Ip4Daddr : Selector::Ip6Daddr);
              for (const auto& el : map->elements) {
                if (el.key.size() == 1 && el.target && partMatches(el.key[0], key)) {
                  hit = &el;
                  break;
                }
              }
              if (!hit) return false;  // a lookup miss ends the rule in the kernel (NFT_BREAK)
              out_.dnatMap = d.map;
              translate(*hit->target, d.port);
              return true;
            },
            [&](const StmtSnat&) { return true; },
            [&](const StmtMasquerade&) { return true; },
            [&](const StmtVmap& v) {
              const SetElement* el = lookup(v.map, v.key);
              if (!el) return false;
              jumpTo = el->jumpTo;
              return true;
            },
        },
        e);
  }

  // A DNAT that fires: to the rule's choice, or to an existing flow's binding.
  // In an inet table the kernel applies `dnat ip` to IPv4 packets only, `dnat ip6` to IPv6 ones
  // (nft_nat_inet_eval); for the other family it does nothing.
  void translate(const IpAddress& to, std::optional<std::uint16_t> port) {
    if (to.family() != p_.src.family()) return;
    if (p_.natTo) {
      if (p_.natPort != p_.dport) out_.dnatPort = p_.natPort;
      p_.dst = *p_.natTo;
      p_.dport = p_.natPort;
    } else {
      p_.dst = to;
      if (port) {
        p_.dport = *port;
        out_.dnatPort = port;
      }
    }
    out_.dnatTo = p_.dst;
  }

  const Ruleset& rs_;
  const RouteTable& routes_;
  Packet p_;
  Evaluation& out_;
  bool explain_ = true;
};

const Chain* baseChain(const Ruleset& rs, Hook hook, ChainType type) {
  for (const auto& c : rs.chains) {
    if (c.base && c.base->hook == hook && c.base->type == type) return &c;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> RouteTable::lookup(const IpAddress& dst) const {
  const Route* best = nullptr;
  for (const auto& r : routes) {
    if (r.prefix.contains(dst) && (!best || r.prefix.length() > best->prefix.length())) best = &r;
  }
  if (!best) return std::nullopt;
  return best->iface;
}

namespace {

// A pair: the sync link's subnet on its interface; the floating addresses and both nodes' own
// are the gateway's (the evaluator looks at the pair, not at one node).
void addHaRoutes(const policies::Policy& policy, RouteTable& t) {
  for (const auto& f : policies::floatingAddresses(policy)) t.local.push_back(f.address.ip);
  for (const auto& n : policy.ha->nodes) {
    for (const auto& a : policies::nodeAddresses(policy, n)) {
      t.local.push_back(a.address.ip);
      if (a.segment.empty() && a.interface == policy.ha->syncInterface) t.routes.push_back({a.address.subnet(), a.interface});
    }
  }
}

}  // namespace

RouteTable routesFromPolicy(const policies::Policy& policy, const std::string& libipsecInterface) {
  RouteTable t;
  if (policy.vpn && !libipsecInterface.empty()) {
    for (const auto& g : policy.vpn->groups) {
      if (g.pool.length() > 0) t.routes.push_back({g.pool, libipsecInterface});
    }
  }
  for (const auto& s : policy.segments) {
    auto iface = segmentInterface(policy, s);
    for (const auto* fam : {&s.ipv4, &s.ipv6}) {
      if (!*fam) continue;
      t.routes.push_back({(*fam)->subnet, iface});
      if ((*fam)->gateway) t.local.push_back(*(*fam)->gateway);
    }
  }
  if (policy.ha) addHaRoutes(policy, t);
  if (policy.gateway && !policy.gateway->uplink.empty()) {
    t.routes.push_back({*Prefix::parse("0.0.0.0/0"), policy.gateway->uplink});
    t.routes.push_back({*Prefix::parse("::/0"), policy.gateway->uplink});
  }
  return t;
}

Evaluation evaluate(const Ruleset& rs, const RouteTable& routes, const Packet& packet, bool explain) {
  Evaluation out;
  Interpreter in(rs, routes, packet, out, explain);
  auto deny = [&](Outcome o) { return o == Outcome::Drop; };
  if (const auto* c = baseChain(rs, Hook::Prerouting, ChainType::Filter); c && deny(in.runBase(*c))) return out;
  if (const auto* c = baseChain(rs, Hook::Prerouting, ChainType::Nat); c && deny(in.runBase(*c))) return out;
  const auto& dst = in.packet().dst;
  out.local = std::find(routes.local.begin(), routes.local.end(), dst) != routes.local.end();
  if (out.local) {
    if (const auto* c = baseChain(rs, Hook::Input, ChainType::Filter); c && deny(in.runBase(*c))) return out;
    out.accepted = true;
    return out;
  }
  auto oif = routes.lookup(dst);
  if (!oif) {
    out.decidedBy = {{}, "no route to " + dst.str()};
    return out;
  }
  in.oif = *oif;
  out.oif = *oif;
  if (const auto* c = baseChain(rs, Hook::Forward, ChainType::Filter); c && deny(in.runBase(*c))) return out;
  out.accepted = true;
  return out;
}

std::vector<BackendEvaluation> evaluatePerBackend(const Ruleset& rs, const std::vector<DnatPool>& pools,
                                                  const RouteTable& routes, const Packet& packet,
                                                  const Evaluation& first) {
  std::vector<BackendEvaluation> out;
  if (first.dnatMap.empty()) return out;
  for (std::size_t p = 0; p < pools.size(); ++p) {
    if (pools[p].map != first.dnatMap) continue;
    for (std::size_t b = 0; b < pools[p].backends.size(); ++b) {
      std::vector<PoolChoice> choices(pools.size());
      for (std::size_t q = 0; q < pools.size(); ++q) choices[q] = allUpChoice(pools[q]);
      choices[p] = PoolChoice(pools[p].slotCount(), b);
      out.push_back({&pools[p], b, evaluate(withPoolChoices(rs, pools, choices), routes, packet)});
    }
  }
  return out;
}

}  // namespace bulwark::firewall
