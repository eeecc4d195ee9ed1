// The IR the kernel reports back for a rule, worked out on the IR alone. The read-back compares
// what it raised from the kernel with this, so the comparison does not go through the
// programmer's own lowering: were canonicalRule() raise(lower(r)), a lowering bug that raises
// back consistently (a wrong field, a lost match) would compare equal to itself and read back
// as "in sync".
//
// What the kernel cannot tell apart, and raise() therefore folds: a `meta nfproto` match right
// before a match that loads an ip/ip6 header field of that family (nft, and the programmer, emit
// it as the load's dependency), and `meta l4proto tcp` right before a tcp flags match.
#include <optional>

#include "bulwark/firewall/observe.h"

namespace bulwark::firewall {
namespace {

std::optional<policies::Family> familyOf(Selector s) {
  switch (s) {
    case Selector::Ip4Saddr:
    case Selector::Ip4Daddr:
      return policies::Family::V4;
    case Selector::Ip6Saddr:
    case Selector::Ip6Daddr:
      return policies::Family::V6;
    default:
      return std::nullopt;
  }
}

std::optional<policies::Family> keyFamily(const std::vector<Selector>& key) {
  for (Selector s : key) {
    if (auto f = familyOf(s)) return f;
  }
  return std::nullopt;
}

// The address family an expression's header loads need (none: it loads no ip/ip6 field).
std::optional<policies::Family> needsFamily(const Expr& e) {
  if (const auto* p = std::get_if<MatchPrefix>(&e)) return familyOf(p->which);
  if (const auto* l = std::get_if<MatchLookup>(&e)) return keyFamily(l->key);
  if (const auto* v = std::get_if<StmtVmap>(&e)) return keyFamily(v->key);
  if (const auto* m = std::get_if<StmtMeterOver>(&e)) return keyFamily(m->key);
  if (const auto* c = std::get_if<StmtConnLimitOver>(&e)) return keyFamily(c->key);
  return std::nullopt;
}

bool needsTcp(const Expr& e) {
  return std::holds_alternative<MatchTcpSynOnly>(e) || std::holds_alternative<MatchNotTcpSyn>(e);
}

}  // namespace

Rule canonicalRule(const Rule& r) {
  Rule out = r;
  out.exprs.clear();
  for (std::size_t i = 0; i < r.exprs.size(); ++i) {
    const Expr* next = i + 1 < r.exprs.size() ? &r.exprs[i + 1] : nullptr;
    if (const auto* nf = std::get_if<MatchNfProto>(&r.exprs[i]);
        nf && next && needsFamily(*next) == nf->family) {
      continue;
    }
    if (const auto* l4 = std::get_if<MatchL4Proto>(&r.exprs[i]);
        l4 && l4->proto == 6 && next && needsTcp(*next)) {
      continue;
    }
    out.exprs.push_back(r.exprs[i]);
  }
  return out;
}

}  // namespace bulwark::firewall
