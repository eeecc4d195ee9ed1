#include "bulwark/review/partition.h"

#include <algorithm>
#include <deque>
#include <span>
#include <unordered_map>
#include <variant>

#include "bulwark/base/overloaded.h"
#include "bulwark/policies/resolve.h"

namespace bulwark::review {

namespace fw = firewall;

namespace {

constexpr int kMaxDepth = 16;  // the evaluator's (and the kernel's) jump depth
constexpr int kMissingChain = -2;

IntervalSet svcFromProtos(const IntervalSet& protos) {
  std::vector<Interval> out;
  for (const auto& i : protos.intervals()) {
    if (i.lo > 255) break;
    U128 hi = i.hi > 255 ? U128{255} : i.hi;
    out.push_back({i.lo << 16, (hi << 16) | 0xffff});
  }
  return IntervalSet::fromUnsorted(std::move(out));
}

const IntervalSet& portProtocols() {
  static const IntervalSet s = IntervalSet::point(6).unite(IntervalSet::point(17)).unite(IntervalSet::point(132));
  return s;
}

// One conjunction of field tests: a set element, or a single match.
struct Cond {
  bool never = false;
  std::optional<std::string> iif, oif;
  std::optional<bool> ipsec;
  bool fibMissing = false;
  const IntervalSet* src = nullptr;
  const IntervalSet* dst = nullptr;
  const IntervalSet* proto = nullptr;  // protocol numbers
  const IntervalSet* port = nullptr;   // destination ports (implies a protocol with ports)
  const IntervalSet* svc = nullptr;    // proto and port together, for flows DNAT left the port of
};

struct OpMatch {
  std::vector<Cond> any;  // matches when one of them does
  bool negate = false;
  // When every condition tests the same one dimension and nothing else (a set of addresses,
  // or of services), their union: one split instead of one per set element.
  int dim = -1;
  const IntervalSet* merged = nullptr;
};
struct OpConst {
  bool value = true;
};
struct OpDnat {
  U128 to = 0;
  std::optional<std::uint16_t> port;
};
struct OpVmap {
  std::vector<std::pair<Cond, int>> elements;  // first match wins; chain index or kMissingChain
};
// `dnat to ip daddr map @m`: the first element that matches sends the flow to its target
// (nullopt: a target of the other family, which the kernel does not apply); no element ends
// the rule (NFT_BREAK).
struct OpDnatMap {
  std::vector<std::pair<Cond, std::optional<U128>>> elements;
  std::optional<std::uint16_t> port;
};
using Op = std::variant<OpMatch, OpConst, OpDnat, OpVmap, OpDnatMap>;

struct CRule {
  std::vector<Op> ops;
  fw::VerdictKind verdict = fw::VerdictKind::None;
  int target = -1;  // Jump/Goto: chain index or kMissingChain
  const fw::Origin* origin = nullptr;
};

struct CChain {
  const fw::Chain* chain = nullptr;
  bool compiled = false;  // rules made on the first flows that reach the chain
  std::vector<CRule> rules;
};

struct Transform {
  std::optional<U128> dst;
  std::optional<std::uint16_t> port;
};

struct Flowset {
  FlowCube cube;
  Transform t;
  const fw::Origin* last = nullptr;  // the evaluator's decidedBy so far
};

struct Ctx {
  const std::string* iif = nullptr;
  bool viaIpsec = false;
  std::string oif;  // "" until routed, as in the evaluator
};

// A restriction on some of the three dimensions; unset = unconstrained.
struct Restriction {
  std::optional<IntervalSet> own[3];
  const IntervalSet* ref[3] = {nullptr, nullptr, nullptr};
  [[nodiscard]] const IntervalSet* get(int d) const { return ref[d] ? ref[d] : (own[d] ? &*own[d] : nullptr); }
  void restrict(int d, const IntervalSet& s) {
    if (const auto* cur = get(d)) {
      own[d] = cur->intersect(s);
      ref[d] = nullptr;
    } else {
      ref[d] = &s;
    }
  }
  void restrictOwned(int d, IntervalSet s) {
    if (const auto* cur = get(d)) s = cur->intersect(s);
    own[d] = std::move(s);
    ref[d] = nullptr;
  }
};

IntervalSet& dimOf(FlowCube& c, int d) { return d == 0 ? c.src : d == 1 ? c.dst : c.svc; }
const IntervalSet& dimOf(const FlowCube& c, int d) { return d == 0 ? c.src : d == 1 ? c.dst : c.svc; }

// Splits `fs` into the part inside `r` (appended to `in`) and the rest (appended to `out`).
void splitOne(Flowset fs, const Restriction& r, std::vector<Flowset>& in, std::vector<Flowset>& out) {
  for (int d = 0; d < 3; ++d) {
    const auto* s = r.get(d);
    if (!s) continue;
    auto& cur = dimOf(fs.cube, d);
    if (!cur.intersects(*s)) {
      out.push_back(std::move(fs));
      return;
    }
    if (s->containsAll(cur)) continue;
    Flowset rest = fs;
    dimOf(rest.cube, d) = cur.subtract(*s);
    out.push_back(std::move(rest));
    cur = cur.intersect(*s);
  }
  in.push_back(std::move(fs));
}

}  // namespace

struct Partitioner::Impl {
  Impl(const fw::Ruleset& rs, const FlowSetup& s, PartitionOptions o) : ruleset(rs), setup(s), options(o) {
    compile();
  }

  const fw::Ruleset& ruleset;
  const FlowSetup& setup;
  PartitionOptions options;
  std::vector<CChain> chains;
  std::unordered_map<std::string, int> chainIndex;
  std::deque<IntervalSet> store;  // sets the conditions point to (stable addresses)
  std::deque<fw::Origin> synthesized;
  std::unordered_map<std::string, IntervalSet> fibMissing;  // by iif
  int prerouting = -1, preroutingNat = -1, input = -1, forward = -1;
  std::unordered_map<std::string, const fw::Origin*> policyDrop;  // by chain name
  std::unordered_map<std::string, const fw::SetDef*> setsByName;

  const IntervalSet* keep(IntervalSet s) {
    store.push_back(std::move(s));
    return &store.back();
  }

  // ---- IR → operations, once per ruleset and family ------------------------------------
  void compile() {
    for (const auto& c : ruleset.chains) {
      chainIndex.emplace(c.name, static_cast<int>(chains.size()));
      chains.push_back({&c, false, {}});
    }
    auto first = [&](fw::Hook h, fw::ChainType t) {
      for (std::size_t i = 0; i < ruleset.chains.size(); ++i) {
        const auto& c = ruleset.chains[i];
        if (c.base && c.base->hook == h && c.base->type == t) return static_cast<int>(i);
      }
      return -1;
    };
    prerouting = first(fw::Hook::Prerouting, fw::ChainType::Filter);
    preroutingNat = first(fw::Hook::Prerouting, fw::ChainType::Nat);
    input = first(fw::Hook::Input, fw::ChainType::Filter);
    forward = first(fw::Hook::Forward, fw::ChainType::Filter);
    for (const auto& s : ruleset.sets) setsByName.try_emplace(s.name, &s);
  }

  // A chain's operations, made when flows first reach it: a partition of some sources and
  // destinations (an invariant's) never reaches most zone pairs' chains, and a flat policy
  // has thousands of rules in them.
  const std::vector<CRule>& rulesOf(int chain) {
    auto& cc = chains[static_cast<std::size_t>(chain)];
    if (cc.compiled) return cc.rules;
    cc.compiled = true;
    for (const auto& r : cc.chain->rules) {
      CRule out;
      out.origin = &r.origin;
      out.verdict = r.verdict.kind;
      if (r.verdict.kind == fw::VerdictKind::Jump || r.verdict.kind == fw::VerdictKind::Goto) {
        out.target = chainOf(r.verdict.chain);
      }
      for (const auto& e : r.exprs) {
        if (auto op = toOp(e, setsByName)) out.ops.push_back(std::move(*op));
      }
      cc.rules.push_back(std::move(out));
    }
    return cc.rules;
  }

  int chainOf(const std::string& name) const {
    auto it = chainIndex.find(name);
    return it == chainIndex.end() ? kMissingChain : it->second;
  }

  [[nodiscard]] bool familyIs(fw::Selector s) const {
    bool v4 = s == fw::Selector::Ip4Saddr || s == fw::Selector::Ip4Daddr;
    return v4 == (setup.family == Family::V4);
  }

  // One key part against one selector, into `c` (the parts of an element are ANDed).
  static_assert(std::variant_size_v<fw::KeyPart> == 5,
                "a new kind of set key part: say here how it matches each selector (the evaluator's partMatches)");
  void addPart(Cond& c, fw::Selector sel, const fw::KeyPart& part) {
    using S = fw::Selector;
    switch (sel) {
      case S::IifName:
      case S::OifName: {
        const auto* name = std::get_if<std::string>(&part);
        auto& slot = sel == S::IifName ? c.iif : c.oif;
        if (!name || (slot && *slot != *name)) {
          c.never = true;
        } else {
          slot = *name;
        }
        return;
      }
      case S::Ip4Saddr:
      case S::Ip6Saddr:
      case S::Ip4Daddr:
      case S::Ip6Daddr: {
        const auto* p = std::get_if<Prefix>(&part);
        if (!familyIs(sel) || !p || p->family() != setup.family) {
          c.never = true;
          return;
        }
        bool src = sel == S::Ip4Saddr || sel == S::Ip6Saddr;
        auto& slot = src ? c.src : c.dst;
        slot = keep(slot ? slot->intersect(prefixSet(*p)) : prefixSet(*p));
        return;
      }
      case S::L4Proto:
      case S::ThDport: {
        // A number or a range; the evaluator compares either with the protocol or the port.
        IntervalSet v;
        if (const auto* n = std::get_if<std::uint8_t>(&part)) {
          v = IntervalSet::point(*n);
        } else if (const auto* r = std::get_if<fw::PortRange>(&part)) {
          v = IntervalSet::of(r->first, r->last);
        } else if (const auto* slotNo = std::get_if<std::uint32_t>(&part)) {
          v = IntervalSet::point(*slotNo);  // a numgen slot compares as a number, as in partMatches
        } else {
          c.never = true;
          return;
        }
        auto& slot = sel == S::L4Proto ? c.proto : c.port;
        slot = keep(slot ? slot->intersect(v) : v);
        return;
      }
    }
  }

  void finish(Cond& c) {
    if (c.never || (!c.proto && !c.port)) return;
    IntervalSet svc = c.proto ? svcFromProtos(*c.proto) : allServices();
    if (c.port) svc = svc.intersect(portSet(*c.port));
    c.svc = keep(std::move(svc));
  }

  // The one dimension `c` restricts, or -1 (none, several, or an interface/IPsec test).
  static int pureDim(const Cond& c) {
    if (c.iif || c.oif || c.ipsec || c.fibMissing) return -1;
    int dims = (c.src ? 1 : 0) + (c.dst ? 1 : 0) + (c.svc ? 1 : 0);
    if (dims != 1) return -1;
    return c.src ? 0 : c.dst ? 1 : 2;
  }

  void merge(OpMatch& op) {
    if (op.any.empty()) return;
    int dim = pureDim(op.any.front());
    if (dim < 0) return;
    std::vector<Interval> all;
    for (const auto& c : op.any) {
      if (pureDim(c) != dim) return;
      const auto* s = dim == 0 ? c.src : dim == 1 ? c.dst : c.svc;
      all.insert(all.end(), s->intervals().begin(), s->intervals().end());
    }
    op.dim = dim;
    op.merged = keep(IntervalSet::fromUnsorted(std::move(all)));
  }

  Cond elementCond(const std::vector<fw::Selector>& key, const fw::SetElement& e) {
    Cond c;
    if (key.size() != e.key.size()) {
      c.never = true;  // the evaluator skips elements of another width
      return c;
    }
    for (std::size_t i = 0; i < key.size() && !c.never; ++i) addPart(c, key[i], e.key[i]);
    finish(c);
    return c;
  }

  // The evaluator's StmtDnatMap: a numgen map is read at slot 0 (one constant DNAT); a map
  // keyed by the destination splits the flows by element.
  std::optional<Op> dnatMapOp(const fw::StmtDnatMap& d,
                              const std::unordered_map<std::string, const fw::SetDef*>& sets) {
    auto it = sets.find(d.map);
    if (it == sets.end()) return OpConst{false};
    auto target = [&](const fw::SetElement& el) -> std::optional<U128> {
      if (el.target->family() != setup.family) return std::nullopt;
      return addressValue(*el.target);
    };
    if (d.numgenMod != 0) {
      for (const auto& el : it->second->elements) {
        if (el.key.size() != 1 || !el.target) continue;
        const auto& part = el.key[0];
        const auto* proto = std::get_if<std::uint8_t>(&part);
        const auto* range = std::get_if<fw::PortRange>(&part);
        const auto* slotNo = std::get_if<std::uint32_t>(&part);
        bool zero = (proto && *proto == 0) || (range && range->first == 0) || (slotNo && *slotNo == 0);
        if (!zero) continue;
        auto to = target(el);
        if (!to) return std::nullopt;
        return OpDnat{*to, d.port};
      }
      return OpConst{false};
    }
    auto sel = d.family == Family::V4 ? fw::Selector::Ip4Daddr : fw::Selector::Ip6Daddr;
    OpDnatMap op;
    op.port = d.port;
    for (const auto& el : it->second->elements) {
      if (el.key.size() != 1 || !el.target) continue;
      Cond c;
      addPart(c, sel, el.key[0]);
      finish(c);
      if (!c.never) op.elements.emplace_back(std::move(c), target(el));
    }
    if (op.elements.empty()) return OpConst{false};
    return op;
  }

  // Every expression kind is handled here by name (std::visit): a new kind in the IR does not
  // compile until the analysis says what it means.
  std::optional<Op> toOp(const fw::Expr& e, const std::unordered_map<std::string, const fw::SetDef*>& sets) {
    using namespace fw;
    auto single = [&](Cond c, bool negate = false) -> std::optional<Op> {
      finish(c);
      OpMatch op{{std::move(c)}, negate};
      merge(op);
      return op;
    };
    auto cond = [](auto&& fill) {
      Cond c;
      fill(c);
      return c;
    };
    return std::visit(
        Overloaded{
            [&](const MatchCtState& m) -> std::optional<Op> { return OpConst{(m.mask & kCtNew) != 0}; },
            [&](const MatchCtDirection& m) -> std::optional<Op> { return OpConst{!m.reply}; },  // as the evaluator
            [&](const MatchIfName& m) -> std::optional<Op> {
              return single(cond([&](Cond& c) { (m.which == Selector::IifName ? c.iif : c.oif) = m.name; }), m.negate);
            },
            [&](const MatchNfProto& m) -> std::optional<Op> { return OpConst{m.family == setup.family}; },
            [&](const MatchL4Proto& m) -> std::optional<Op> {
              return single(cond([&](Cond& c) { c.proto = keep(IntervalSet::point(m.proto)); }));
            },
            [&](const MatchPrefix& m) -> std::optional<Op> {
              // The evaluator: no value of this family → no match, negated or not.
              if (!familyIs(m.which)) return OpConst{false};
              if (m.prefix.family() != setup.family) return OpConst{m.negate};
              auto set = prefixSet(m.prefix);
              if (m.negate) set = set.complement(addressMax(setup.family));
              bool src = m.which == Selector::Ip4Saddr || m.which == Selector::Ip6Saddr;
              return single(cond([&](Cond& c) { (src ? c.src : c.dst) = keep(std::move(set)); }));
            },
            [&](const MatchPort& m) -> std::optional<Op> {
              return single(cond([&](Cond& c) { c.port = keep(IntervalSet::of(m.ports.first, m.ports.last)); }));
            },
            [&](const MatchLookup& m) -> std::optional<Op> {
              auto it = sets.find(m.set);
              if (it == sets.end()) return OpConst{m.negate};
              OpMatch op{{}, m.negate};
              for (const auto& el : it->second->elements) {
                auto c = elementCond(m.key, el);
                if (!c.never) op.any.push_back(std::move(c));
              }
              merge(op);
              return op;
            },
            [&](const MatchIpsecIn&) -> std::optional<Op> { return single(cond([](Cond& c) { c.ipsec = true; })); },
            [&](const MatchFibSaddrMissing&) -> std::optional<Op> {
              return single(cond([](Cond& c) { c.fibMissing = true; }));
            },
            [&](const MatchTcpSynOnly&) -> std::optional<Op> {
              return single(cond([&](Cond& c) { c.proto = keep(IntervalSet::point(6)); }));
            },
            [&](const MatchNotTcpSyn&) -> std::optional<Op> { return OpConst{false}; },  // a first packet is a SYN
            [&](const StmtCounter&) -> std::optional<Op> { return std::nullopt; },
            [&](const StmtLimit& l) -> std::optional<Op> { return OpConst{!l.over}; },
            // No source is over its limits offline.
            [&](const StmtMeterOver&) -> std::optional<Op> { return OpConst{false}; },
            [&](const StmtConnLimitOver&) -> std::optional<Op> { return OpConst{false}; },
            [&](const StmtLog&) -> std::optional<Op> { return std::nullopt; },
            [&](const StmtDnat& d) -> std::optional<Op> {
              // The kernel NATs only packets of the statement's family (nft_nat_inet_eval).
              if (d.to.family() != setup.family) return std::nullopt;
              return OpDnat{addressValue(d.to), d.port};
            },
            [&](const StmtDnatMap& d) -> std::optional<Op> { return dnatMapOp(d, sets); },
            [&](const StmtSnat&) -> std::optional<Op> { return std::nullopt; },
            [&](const StmtMasquerade&) -> std::optional<Op> { return std::nullopt; },
            [&](const StmtVmap& v) -> std::optional<Op> {
              auto it = sets.find(v.map);
              if (it == sets.end()) return OpConst{false};
              OpVmap op;
              for (const auto& el : it->second->elements) {
                auto c = elementCond(v.key, el);
                if (!c.never) op.elements.emplace_back(std::move(c), chainOf(el.jumpTo));
              }
              return op;
            },
        },
        e);
  }

  // ---- conditions on flow sets ------------------------------------------------------------
  const IntervalSet& fibMissingFor(const std::string& iif) {
    auto it = fibMissing.find(iif);
    if (it != fibMissing.end()) return it->second;
    // Strict reverse path: the source's route must leave by iif.
    IntervalSet routed;
    for (const auto& sc : setup.sources) {
      // The route of every address of a source class leaves by the same interface, which is the
      // class's iif unless the class is placed elsewhere (VPN pools on libipsec's TUN).
      auto addr = addressAt(setup.family, sc.addrs.min());
      auto route = setup.routes.lookup(addr);
      if (route && *route == iif) routed = routed.unite(sc.addrs);
    }
    return fibMissing.emplace(iif, routed.complement(addressMax(setup.family))).first->second;
  }

  // Whether `c` can match anything in `ctx`: its interface and IPsec tests are the same for
  // every flow of a cell. The zone-pair dispatch map has one element per interface pair, and
  // a cell meets one of them.
  static bool admits(const Cond& c, const Ctx& ctx) {
    if (c.never) return false;
    if (c.iif && *c.iif != *ctx.iif) return false;
    if (c.oif && *c.oif != ctx.oif) return false;
    return !c.ipsec || *c.ipsec == ctx.viaIpsec;
  }

  // The restriction `c` puts on `fs` in `ctx`; nullopt when it matches nothing of it.
  std::optional<Restriction> restrictionOf(const Cond& c, const Flowset& fs, const Ctx& ctx) {
    if (!admits(c, ctx)) return std::nullopt;
    Restriction r;
    if (c.fibMissing) r.restrict(0, fibMissingFor(*ctx.iif));
    if (c.src) r.restrict(0, *c.src);
    if (c.dst) {
      if (fs.t.dst) {
        if (!c.dst->contains(*fs.t.dst)) return std::nullopt;
      } else {
        r.restrict(1, *c.dst);
      }
    }
    if (fs.t.port && (c.proto || c.port)) {
      // DNAT set the port: the protocol is the flow's, the port the translated one.
      IntervalSet protos = c.proto ? *c.proto : IntervalSet::of(0, 255);
      if (c.port) {
        if (!c.port->contains(*fs.t.port)) return std::nullopt;
        protos = protos.intersect(portProtocols());
      }
      r.restrictOwned(2, svcFromProtos(protos));
    } else if (c.svc) {
      r.restrict(2, *c.svc);
    }
    return r;
  }

  // Splits `sets` by a union of conditions.
  // A span, so one map element's condition needs no vector of its own (a copy of its interface
  // names per element and cell: the zone-pair vmap has one element per pair).
  void split(std::vector<Flowset>& sets, std::span<const Cond> any, const Ctx& ctx, std::vector<Flowset>& in,
             std::vector<Flowset>& out) {
    for (auto& fs : sets) {
      std::vector<Flowset> rest{std::move(fs)};
      for (const auto& c : any) {
        if (rest.empty()) break;
        std::vector<Flowset> next;
        for (auto& r : rest) {
          auto res = restrictionOf(c, r, ctx);
          if (!res) {
            next.push_back(std::move(r));
          } else {
            splitOne(std::move(r), *res, in, next);
          }
        }
        rest = std::move(next);
      }
      for (auto& r : rest) out.push_back(std::move(r));
    }
    sets.clear();
  }

  void splitMatch(std::vector<Flowset>& sets, const OpMatch& m, const Ctx& ctx, std::vector<Flowset>& in,
                  std::vector<Flowset>& out) {
    if (!m.merged) {
      split(sets, m.any, ctx, in, out);
      return;
    }
    std::vector<Flowset> slow;
    Restriction r;
    r.ref[m.dim] = m.merged;
    for (auto& fs : sets) {
      // Under a DNAT transform the destination (or port) is the translated one: condition by
      // condition.
      if ((m.dim == 1 && fs.t.dst) || (m.dim == 2 && fs.t.port)) {
        slow.push_back(std::move(fs));
      } else {
        splitOne(std::move(fs), r, in, out);
      }
    }
    sets.clear();
    if (!slow.empty()) split(slow, m.any, ctx, in, out);
  }

  // ---- chains ---------------------------------------------------------------------------
  struct Decided {
    Flowset fs;
    bool accept = false;
  };
  struct RunResult {
    std::vector<Flowset> cont, ret;
  };

  void decide(std::vector<Flowset>& sets, bool accept, const fw::Origin* origin, std::vector<Decided>& decided) {
    for (auto& fs : sets) {
      if (origin) fs.last = origin;
      decided.push_back({std::move(fs), accept});
    }
    sets.clear();
  }

  // True when the rule's first tests match none of `sets`: then every set passes the rule
  // unchanged and in order, as the full walk would leave them -- without moving each set
  // through the walk's lists. Most rules of a zone pair's chain speak of other segments' hosts
  // than a cell's (a flat policy: hundreds of rules per chain, a few per cell).
  static bool missesAll(const CRule& rule, const std::vector<Flowset>& sets) {
    for (const auto& op : rule.ops) {
      if (const auto* k = std::get_if<OpConst>(&op)) {
        if (!k->value) return true;
        continue;
      }
      const auto* m = std::get_if<OpMatch>(&op);
      // Only a union on one dimension tested as splitMatch tests it (no DNAT transform of that
      // dimension); anything else, or a negation, takes the walk.
      if (!m || !m->merged || m->negate) return false;
      for (const auto& fs : sets) {
        if ((m->dim == 1 && fs.t.dst) || (m->dim == 2 && fs.t.port)) return false;
        if (dimOf(fs.cube, m->dim).intersects(*m->merged)) return false;
      }
      return true;
    }
    return false;
  }

  void run(int chain, int depth, std::vector<Flowset> current, const Ctx& ctx, RunResult& res,
           std::vector<Decided>& decided) {
    if (depth > kMaxDepth) {
      decide(current, false, nullptr, decided);
      return;
    }
    for (const auto& rule : rulesOf(chain)) {
      if (current.empty()) return;
      if (options.shortcuts && missesAll(rule, current)) continue;
      std::vector<Flowset> next;
      std::vector<Flowset> cands = std::move(current);
      current.clear();
      bool jumped = false;
      for (const auto& op : rule.ops) {
        if (cands.empty()) break;
        if (const auto* k = std::get_if<OpConst>(&op)) {
          if (!k->value) {
            for (auto& f : cands) next.push_back(std::move(f));
            cands.clear();
          }
        } else if (const auto* m = std::get_if<OpMatch>(&op)) {
          std::vector<Flowset> in, out;
          splitMatch(cands, *m, ctx, in, out);
          if (m->negate) std::swap(in, out);
          for (auto& f : out) next.push_back(std::move(f));
          cands = std::move(in);
        } else if (const auto* d = std::get_if<OpDnat>(&op)) {
          for (auto& f : cands) {
            f.t.dst = d->to;
            if (d->port) f.t.port = d->port;
          }
        } else if (const auto* dm = std::get_if<OpDnatMap>(&op)) {
          std::vector<Flowset> hits;
          for (const auto& [cond, to] : dm->elements) {
            if (cands.empty()) break;
            std::vector<Flowset> in, out;
            split(cands, std::span<const Cond>(&cond, 1), ctx, in, out);
            cands = std::move(out);
            for (auto& f : in) {
              if (to) {
                f.t.dst = *to;
                if (dm->port) f.t.port = dm->port;
              }
              hits.push_back(std::move(f));
            }
          }
          for (auto& f : cands) next.push_back(std::move(f));  // no element: the rule ends
          cands = std::move(hits);
        } else if (const auto* v = std::get_if<OpVmap>(&op)) {
          // A vmap hit ends the rule: goto the element's chain (first element that matches).
          jumped = true;
          for (const auto& [cond, target] : v->elements) {
            if (cands.empty()) break;
            if (options.shortcuts && !admits(cond, ctx)) continue;  // every set stays a candidate, in order
            std::vector<Flowset> in, out;
            split(cands, std::span<const Cond>(&cond, 1), ctx, in, out);
            cands = std::move(out);
            if (in.empty()) continue;
            if (target == kMissingChain) {
              decide(in, false, nullptr, decided);
            } else {
              run(target, depth + 1, std::move(in), ctx, res, decided);
            }
          }
          for (auto& f : cands) next.push_back(std::move(f));  // no element: the match fails
          cands.clear();
          break;
        }
      }
      if (!jumped && !cands.empty()) verdict(rule, depth, std::move(cands), ctx, next, res, decided);
      current = std::move(next);
    }
    for (auto& f : current) res.cont.push_back(std::move(f));
  }

  void verdict(const CRule& rule, int depth, std::vector<Flowset> matched, const Ctx& ctx, std::vector<Flowset>& next,
               RunResult& res, std::vector<Decided>& decided) {
    using fw::VerdictKind;
    switch (rule.verdict) {
      case VerdictKind::None:
        for (auto& f : matched) next.push_back(std::move(f));
        return;
      case VerdictKind::Accept: decide(matched, true, rule.origin, decided); return;
      case VerdictKind::Drop:
      case VerdictKind::Reject: decide(matched, false, rule.origin, decided); return;
      case VerdictKind::Return:
        for (auto& f : matched) res.ret.push_back(std::move(f));
        return;
      case VerdictKind::Jump:
      case VerdictKind::Goto: {
        if (rule.target == kMissingChain) {
          decide(matched, false, nullptr, decided);
          return;
        }
        RunResult sub;
        run(rule.target, depth + 1, std::move(matched), ctx, sub, decided);
        auto& to = rule.verdict == VerdictKind::Jump ? next : res.cont;
        for (auto& f : sub.cont) to.push_back(std::move(f));
        auto& back = rule.verdict == VerdictKind::Jump ? next : res.ret;
        for (auto& f : sub.ret) back.push_back(std::move(f));
        return;
      }
    }
  }

  // A base chain: accepted and undecided flows go on (undecided ones only under policy
  // accept); dropped ones end in `out`.
  std::vector<Flowset> runBase(int chain, std::vector<Flowset> in, const Ctx& ctx, const Outcome& base,
                               std::vector<Piece>& out) {
    if (chain < 0) return in;
    RunResult res;
    std::vector<Decided> decided;
    run(chain, 0, std::move(in), ctx, res, decided);
    std::vector<Flowset> go;
    for (auto& d : decided) {
      if (d.accept) {
        go.push_back(std::move(d.fs));
      } else {
        emit(std::move(d.fs), false, base, out);
      }
    }
    const auto& c = *chains[static_cast<std::size_t>(chain)].chain;
    bool drop = c.base && c.base->policyDrop;
    for (auto* list : {&res.cont, &res.ret}) {
      for (auto& f : *list) {
        if (drop) {
          f.last = policyDropOrigin(c.name);
          emit(std::move(f), false, base, out);
        } else {
          go.push_back(std::move(f));
        }
      }
    }
    return go;
  }

  const fw::Origin* policyDropOrigin(const std::string& chain) {
    auto it = policyDrop.find(chain);
    if (it != policyDrop.end()) return it->second;
    synthesized.push_back({{}, "policy drop of chain " + chain});
    return policyDrop.emplace(chain, &synthesized.back()).first->second;
  }

  const fw::Origin* synth(std::string what) {
    synthesized.push_back({{}, std::move(what)});
    return &synthesized.back();
  }

  static void emit(Flowset fs, bool accepted, const Outcome& base, std::vector<Piece>& out) {
    Outcome o = base;
    o.accepted = accepted;
    o.dnatTo = fs.t.dst;
    o.dnatPort = fs.t.port;
    if (fs.last) o.decidedBy = *fs.last;
    out.push_back({std::move(fs.cube), std::move(o)});
  }

  void evaluate(const FlowCube& cube, const SourceClass& src, const DestClass& dst, std::vector<Piece>& out) {
    Ctx ctx{&src.iif, src.viaIpsec, ""};
    std::vector<Flowset> sets{Flowset{cube, {}, nullptr}};
    Outcome base;
    sets = runBase(prerouting, std::move(sets), ctx, base, out);
    sets = runBase(preroutingNat, std::move(sets), ctx, base, out);
    // Routing: by the class of the destination, or of the address DNAT chose.
    std::unordered_map<std::string, std::vector<Flowset>> byOif;
    std::vector<Flowset> local;
    for (auto& f : sets) {
      bool isLocal = dst.local;
      std::optional<std::string> oif = dst.oif;
      if (f.t.dst) {
        auto to = addressAt(setup.family, *f.t.dst);
        isLocal = std::find(setup.routes.local.begin(), setup.routes.local.end(), to) != setup.routes.local.end();
        oif = setup.routes.lookup(to);
      }
      if (isLocal) {
        local.push_back(std::move(f));
      } else if (!oif) {
        auto what = f.t.dst ? "no route to " + addressAt(setup.family, *f.t.dst).str() : std::string("no route");
        f.last = synth(std::move(what));
        emit(std::move(f), false, base, out);
      } else {
        byOif[*oif].push_back(std::move(f));
      }
    }
    if (!local.empty()) {
      Outcome lb;
      lb.local = true;
      for (auto& f : runBase(input, std::move(local), ctx, lb, out)) emit(std::move(f), true, lb, out);
    }
    for (auto& [oif, list] : byOif) {
      Ctx fctx{&src.iif, src.viaIpsec, oif};
      for (auto& f : runBase(forward, std::move(list), fctx, base, out)) emit(std::move(f), true, base, out);
    }
  }

  void runCell(const FlowCube& cube, const SourceClass& src, const DestClass& dst, std::vector<Piece>& out) {
    std::vector<FlowCube> todo{cube};
    // Flows between two addresses of one segment never reach the gateway.
    if (!dst.local) {
      for (const auto& sw : setup.switched) {
        std::vector<FlowCube> next;
        for (auto& c : todo) {
          FlowCube inside{c.src.intersect(sw.src), c.dst.intersect(sw.dst), c.svc};
          if (inside.empty()) {
            next.push_back(std::move(c));
            continue;
          }
          Outcome o;
          o.accepted = true;
          o.switched = true;
          o.decidedBy = {{}, "not via the gateway: switched within segment " + sw.segment};
          out.push_back({inside, std::move(o)});
          FlowCube a{c.src.subtract(sw.src), c.dst, c.svc};
          FlowCube b{c.src.intersect(sw.src), c.dst.subtract(sw.dst), c.svc};
          if (!a.empty()) next.push_back(std::move(a));
          if (!b.empty()) next.push_back(std::move(b));
        }
        todo = std::move(next);
      }
    }
    for (const auto& c : todo) evaluate(c, src, dst, out);
  }
};

Partitioner::Partitioner(const fw::Ruleset& ruleset, const FlowSetup& setup, PartitionOptions options)
    : impl_(std::make_unique<Impl>(ruleset, setup, options)) {}
Partitioner::~Partitioner() = default;

void Partitioner::run(const FlowCube& cube, const SourceClass& src, const DestClass& dst, std::vector<Piece>& out) {
  impl_->runCell(cube, src, dst, out);
}

namespace {

std::vector<Piece> partitionSources(const fw::Ruleset& ruleset, const FlowSetup& setup, const IntervalSet& sources,
                                    PartitionOptions options) {
  Partitioner p(ruleset, setup, options);
  std::vector<Piece> out;
  for (const auto& s : setup.sources) {
    auto src = s.addrs.intersect(sources);
    if (src.empty()) continue;
    for (const auto& d : setup.dests) p.run({src, d.addrs, allServices()}, s, d, out);
  }
  return out;
}

}  // namespace

std::vector<Piece> partitionFrom(const fw::Ruleset& ruleset, const FlowSetup& setup, const IntervalSet& sources) {
  return partitionSources(ruleset, setup, sources, {});
}

std::vector<Piece> partitionAll(const fw::Ruleset& ruleset, const FlowSetup& setup, PartitionOptions options) {
  return partitionSources(ruleset, setup, allAddresses(setup.family), options);
}

}  // namespace bulwark::review
