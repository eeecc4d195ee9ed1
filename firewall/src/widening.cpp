// onlyWidens(): whether a change can make the ruleset refuse a connection it accepted; and
// changedAddresses(): which flows an element change can reach at all. The
// revocation after an apply (gateway/engine/revocation.h) reads and judges the whole conntrack
// table; for the commonest change -- a host joins an allow rule, one set element added -- that
// read is most of what the administrator waits for, and it can never find anything to cut.
//
// Why these changes cannot narrow: the rules are the same, only set elements differ. A set that
// only positive lookups of accept rules read matches more packets when it gains elements: those
// rules accept more, and a packet accepted before either is accepted by the same rule or reaches
// the same later rule as before. Symmetrically, a set that only positive lookups of drop and
// reject rules read drops fewer packets when it loses elements. A rule that jumps to a chain
// whose first rule decides every packet (the compiler's per-rule chain: `counter accept`) has
// that chain's verdict. Anything else -- a negated lookup, a verdict map, a DNAT map, a meter,
// a jump into rules that match further, a statement beside the lookup that changes the packet
// or its connection, a chain a NAT hook reaches -- is left to the judge.
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bulwark/firewall/diff.h"

namespace bulwark::firewall {
namespace {

// The chains a nat base chain reaches through jumps, gotos and verdict maps.
std::set<std::string> reachedFromNat(const Ruleset& rs) {
  std::unordered_map<std::string_view, const Chain*> byName;
  for (const auto& c : rs.chains) byName.emplace(c.name, &c);
  std::set<std::string> seen;
  std::vector<const Chain*> todo;
  for (const auto& c : rs.chains) {
    if (c.base && c.base->type == ChainType::Nat && seen.insert(c.name).second) todo.push_back(&c);
  }
  auto reach = [&](const std::string& name) {
    auto it = byName.find(name);
    if (it != byName.end() && seen.insert(name).second) todo.push_back(it->second);
  };
  while (!todo.empty()) {
    const Chain* c = todo.back();
    todo.pop_back();
    for (const auto& r : c->rules) {
      if (r.verdict.kind == VerdictKind::Jump || r.verdict.kind == VerdictKind::Goto) reach(r.verdict.chain);
      for (const auto& e : r.exprs) {
        const auto* v = std::get_if<StmtVmap>(&e);
        const SetDef* map = v ? rs.findSet(v->map) : nullptr;
        if (map == nullptr) continue;
        for (const auto& el : map->elements) reach(el.jumpTo);
      }
    }
  }
  return seen;
}

// Expressions that only read the packet, or only count and log it.
bool readsOnly(const Expr& e) {
  return std::visit(
      [](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return std::is_same_v<T, MatchCtState> || std::is_same_v<T, MatchCtDirection> ||
               std::is_same_v<T, MatchIfName> || std::is_same_v<T, MatchNfProto> ||
               std::is_same_v<T, MatchL4Proto> || std::is_same_v<T, MatchPrefix> || std::is_same_v<T, MatchPort> ||
               std::is_same_v<T, MatchLookup> || std::is_same_v<T, MatchIpsecIn> ||
               std::is_same_v<T, MatchFibSaddrMissing> || std::is_same_v<T, MatchTcpSynOnly> ||
               std::is_same_v<T, MatchNotTcpSyn> || std::is_same_v<T, StmtCounter> || std::is_same_v<T, StmtLog>;
      },
      e);
}

// The set a statement names as a map, meter or verdict map (not a lookup).
const std::string* namedOtherwise(const Expr& e) {
  if (const auto* v = std::get_if<StmtVmap>(&e)) return &v->map;
  if (const auto* d = std::get_if<StmtDnatMap>(&e)) return &d->map;
  if (const auto* m = std::get_if<StmtMeterOver>(&e)) return &m->set;
  if (const auto* c = std::get_if<StmtConnLimitOver>(&e)) return &c->set;
  return nullptr;
}

// The verdict a rule ends a packet with: its own, or that of the chain it jumps to when that
// chain's first rule decides every packet (the compiler's per-rule chains: `counter accept`).
// None when it cannot tell.
VerdictKind finalVerdict(const Ruleset& rs, const Rule& r, int depth = 0) {
  const auto v = r.verdict.kind;
  if (v != VerdictKind::Jump && v != VerdictKind::Goto) return v;
  const Chain* target = rs.findChain(r.verdict.chain);
  if (target == nullptr || target->rules.empty() || depth == 4) return VerdictKind::None;
  const Rule& first = target->rules.front();
  for (const auto& e : first.exprs) {
    if (!std::holds_alternative<StmtCounter>(e) && !std::holds_alternative<StmtLog>(e)) return VerdictKind::None;
  }
  return finalVerdict(rs, first, depth + 1);
}

enum class Direction { Add, Remove };

// Every use of `set` in `rs` is a positive lookup in a rule that only reads the packet, outside
// what NAT reaches, whose final verdict a change in `dir` can only widen.
bool widensFor(const Ruleset& rs, const std::string& set, Direction dir, const std::set<std::string>& nat) {
  const SetDef* def = rs.findSet(set);
  if (def == nullptr || def->verdictMap || def->addressMap || def->dynamic) return false;
  for (const auto& c : rs.chains) {
    for (const auto& r : c.rules) {
      bool uses = false;
      for (const auto& e : r.exprs) {
        if (const auto* other = namedOtherwise(e); other && *other == set) return false;
        const auto* l = std::get_if<MatchLookup>(&e);
        if (l == nullptr || l->set != set) continue;
        if (l->negate) return false;
        uses = true;
      }
      if (!uses) continue;
      if (nat.count(c.name) != 0) return false;
      for (const auto& e : r.exprs) {
        if (!readsOnly(e)) return false;
      }
      const auto v = finalVerdict(rs, r);
      const bool widens = dir == Direction::Add ? v == VerdictKind::Accept
                                                : v == VerdictKind::Drop || v == VerdictKind::Reject;
      if (!widens) return false;
    }
  }
  return true;
}

}  // namespace

bool onlyWidens(const Diff& d, const Ruleset& desired) {
  if (!d.elementsOnly()) return false;
  const auto nat = reachedFromNat(desired);
  std::set<std::pair<std::string, Direction>> checked;
  for (const auto& c : d.changes) {
    const auto dir = c.kind == ChangeKind::ElementAdded ? Direction::Add : Direction::Remove;
    if (!checked.emplace(c.set, dir).second) continue;
    if (!widensFor(desired, c.set, dir, nat)) return false;
  }
  return true;
}

std::optional<std::vector<Prefix>> changedAddresses(const Diff& d) {
  if (!d.elementsOnly()) return std::nullopt;
  std::vector<Prefix> out;
  for (const auto& c : d.changes) {
    if (!c.element) return std::nullopt;
    bool any = false;
    for (const auto& part : c.element->key) {
      if (const auto* p = std::get_if<Prefix>(&part)) {
        out.push_back(*p);
        any = true;
      }
    }
    if (!any) return std::nullopt;
  }
  return out;
}

}  // namespace bulwark::firewall
