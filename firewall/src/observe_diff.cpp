// Desired IR vs observed table → changes. Pure.
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "bulwark/firewall/diff.h"
#include "render_words.h"

namespace bulwark::firewall {
namespace {

// Identity of an element: key, verdict and comment.
std::string elementId(const SetElement& e) {
  std::string s = elementText(e, false);
  if (!e.comment.empty()) {
    s += " comment \"" + e.comment + "\"";
  }
  return s;
}

std::string ruleText(const Rule& r) {
  std::string s;
  for (const auto& e : r.exprs) {
    s += (s.empty() ? "" : " ") + describeExpr(e);
  }
  const auto v = verdictText(r.verdict);
  if (!v.empty()) {
    s += (s.empty() ? "" : " ") + v;
  }
  return s;
}

bool sameSetDef(const SetDef& a, const SetDef& b) {
  return a.key == b.key && a.interval == b.interval && a.verdictMap == b.verdictMap && a.dynamic == b.dynamic &&
         a.timeoutSec == b.timeoutSec && a.size == b.size && a.comment == b.comment && a.addressMap == b.addressMap &&
         a.numgenMod == b.numgenMod;
}

bool sameBase(const std::optional<BaseChain>& a, const std::optional<BaseChain>& b) {
  if (a.has_value() != b.has_value()) {
    return false;
  }
  return !a || (a->type == b->type && a->hook == b->hook && a->priority == b->priority &&
                a->policyDrop == b->policyDrop);
}

// The elements of the changes of kind `k` (additions or removals), in order.
std::vector<ElementChange> elementsOf(const std::vector<Change>& changes, ChangeKind k) {
  std::vector<ElementChange> out;
  for (const auto& c : changes) {
    if (c.kind == k && c.element) {
      out.push_back({c.set, *c.element});
    }
  }
  return out;
}

// Desired objects against the observed ones of the same name: `added(x)` or `both(x, o)` for
// each desired one in order, then `removed(o)` for each observed one nothing desires, in order.
template <typename D, typename O, typename NameOf, typename Added, typename Both, typename Removed>
void byName(const std::vector<D>& desired, const std::vector<O>& observed, NameOf nameOf, Added added, Both both,
            Removed removed) {
  // Indexed: a table of 10,000 rules has as many chains, and a linear search per desired
  // chain or set made the diff quadratic.
  std::unordered_map<std::string_view, const O*> index;
  for (const auto& o : observed) index.emplace(nameOf(o), &o);
  std::unordered_set<std::string_view> wanted;
  for (const auto& x : desired) {
    wanted.insert(x.name);
    auto found = index.find(x.name);
    if (found == index.end()) {
      added(x);
    } else {
      both(x, *found->second);
    }
  }
  for (const auto& o : observed) {
    if (wanted.count(nameOf(o)) == 0) removed(o);
  }
}

}  // namespace

std::string describeExpr(const Expr& e) {
  struct V {
    std::string operator()(const MatchCtState& m) const {
      std::string s;
      const std::pair<std::uint32_t, const char*> bits[] = {
          {kCtInvalid, "invalid"}, {kCtEstablished, "established"}, {kCtRelated, "related"}, {kCtNew, "new"}};
      std::uint32_t rest = m.mask;
      for (auto [bit, name] : bits) {
        if ((m.mask & bit) != 0) {
          s += (s.empty() ? "" : ",") + std::string(name);
          rest &= ~bit;
        }
      }
      if (rest != 0 || s.empty()) {
        s += (s.empty() ? "" : ",") + std::to_string(rest);
      }
      return "ct state " + s;
    }
    std::string operator()(const MatchCtDirection& m) const {
      return std::string("ct direction ") + (m.reply ? "reply" : "original");
    }
    std::string operator()(const MatchIfName& m) const {
      return selectorText(m.which) + (m.negate ? " != " : " ") + "\"" + m.name + "\"";
    }
    std::string operator()(const MatchNfProto& m) const {
      return std::string("meta nfproto ") + (m.family == policies::Family::V4 ? "ipv4" : "ipv6");
    }
    std::string operator()(const MatchL4Proto& m) const { return "meta l4proto " + std::to_string(m.proto); }
    std::string operator()(const MatchPrefix& m) const {
      return selectorText(m.which) + (m.negate ? " != " : " ") + m.prefix.str();
    }
    std::string operator()(const MatchPort& m) const { return "th dport " + portsText(m.ports); }
    std::string operator()(const MatchLookup& m) const {
      return keyText(m.key) + (m.negate ? " != @" : " @") + m.set;
    }
    std::string operator()(const MatchIpsecIn&) const { return "meta ipsec exists"; }
    std::string operator()(const MatchFibSaddrMissing&) const { return "fib saddr . iif oif missing"; }
    std::string operator()(const MatchTcpSynOnly&) const { return "tcp flags & (fin|syn|rst|ack) == syn"; }
    std::string operator()(const MatchNotTcpSyn&) const { return "tcp flags & (fin|syn|rst|ack) != syn"; }
    std::string operator()(const StmtCounter&) const { return "counter"; }
    std::string operator()(const StmtLimit& l) const { return limitText(l); }
    std::string operator()(const StmtMeterOver& m) const {
      return "add @" + m.set + " { " + keyText(m.key) + " " + limitText(m.limit) + " }";
    }
    std::string operator()(const StmtConnLimitOver& m) const {
      return "add @" + m.set + " { " + keyText(m.key) + " ct count over " + std::to_string(m.count) + " }";
    }
    std::string operator()(const StmtLog& l) const { return "log prefix \"" + l.prefix + "\""; }
    std::string operator()(const StmtDnat& d) const {
      return std::string("dnat ") + (d.to.isV4() ? "ip" : "ip6") + " to " +
             (d.to.isV4() ? d.to.str() : "[" + d.to.str() + "]") + (d.port ? ":" + std::to_string(*d.port) : "");
    }
    std::string operator()(const StmtDnatMap& d) const {
      const bool v4 = d.family == policies::Family::V4;
      return std::string("dnat ") + (v4 ? "ip" : "ip6") + " to " +
             (d.numgenMod ? "numgen inc mod " + std::to_string(d.numgenMod) : std::string(v4 ? "ip daddr" : "ip6 daddr")) +
             " map @" + d.map + (d.port ? " : " + std::to_string(*d.port) : "");
    }
    std::string operator()(const StmtSnat& s) const {
      return std::string("snat ") + (s.to.isV4() ? "ip" : "ip6") + " to " + s.to.str();
    }
    std::string operator()(const StmtMasquerade&) const { return "masquerade"; }
    std::string operator()(const StmtVmap& v) const { return keyText(v.key) + " vmap @" + v.map; }
  };
  return std::visit(V{}, e);
}

bool sameExprs(const std::vector<Expr>& a, const std::vector<Expr>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].index() != b[i].index() || describeExpr(a[i]) != describeExpr(b[i])) {
      return false;
    }
  }
  return true;
}

bool sameElement(const SetElement& a, const SetElement& b) { return elementId(a) == elementId(b); }

bool Diff::elementsOnly() const {
  if (changes.empty()) {
    return false;
  }
  for (const auto& c : changes) {
    if (c.kind != ChangeKind::ElementAdded && c.kind != ChangeKind::ElementRemoved) {
      return false;
    }
  }
  return true;
}

bool Diff::rulesOnly() const {
  bool rules = false;
  for (const auto& c : changes) {
    switch (c.kind) {
      case ChangeKind::RuleAdded:
      case ChangeKind::RuleRemoved:
      case ChangeKind::RuleChanged: rules = true; break;
      case ChangeKind::ElementAdded:
      case ChangeKind::ElementRemoved: break;
      default: return false;
    }
  }
  return rules;
}

std::vector<std::string> Diff::changedChains() const {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  for (const auto& c : changes) {
    const bool rule =
        c.kind == ChangeKind::RuleAdded || c.kind == ChangeKind::RuleRemoved || c.kind == ChangeKind::RuleChanged;
    if (rule && seen.insert(c.chain).second) out.push_back(c.chain);
  }
  return out;
}

std::vector<ElementChange> Diff::elementAdditions() const { return elementsOf(changes, ChangeKind::ElementAdded); }

std::vector<ElementChange> Diff::elementRemovals() const { return elementsOf(changes, ChangeKind::ElementRemoved); }

namespace {

// A set the table has: its definition, then its elements (additions and removals).
template <typename Add>
void diffSet(const SetDef& s, const ObservedSet& o, Add& add) {
  if (!o.unknown.empty() || !sameSetDef(s, o.def)) {
    add(ChangeKind::SetChanged, s.name, "", 0, std::nullopt,
        "set '" + s.name + "' definition differs" + (o.unknown.empty() ? "" : " (" + o.unknown + ")"));
    return;
  }
  if (s.dynamic) {
    return;  // filled by the packet path
  }
  if (!o.unknownElements.empty()) {
    add(ChangeKind::SetChanged, s.name, "", 0, std::nullopt,
        "set '" + s.name + "' holds " + std::to_string(o.unknownElements.size()) +
            " element(s) Bulwark cannot express, e.g. " + o.unknownElements.front());
    return;
  }
  std::vector<std::string> haveIds;
  haveIds.reserve(o.def.elements.size());
  std::unordered_map<std::string, std::size_t> have;
  for (const auto& e : o.def.elements) {
    haveIds.push_back(elementId(e));
    have.emplace(haveIds.back(), 0);
  }
  std::unordered_map<std::string, std::size_t> want;
  for (const auto& e : s.elements) {
    auto id = elementId(e);
    if (have.count(id) == 0) {
      add(ChangeKind::ElementAdded, s.name, "", 0, e, "set '" + s.name + "': element " + id + " added");
    }
    want.emplace(std::move(id), 0);
  }
  for (std::size_t i = 0; i < haveIds.size(); ++i) {
    if (want.count(haveIds[i]) == 0) {
      add(ChangeKind::ElementRemoved, s.name, "", 0, o.def.elements[i],
          "set '" + s.name + "': element " + haveIds[i] + " removed");
    }
  }
}

// A chain the table has: its header, then its rules.
template <typename Add>
void diffChain(const Chain& c, const ObservedChain& o, Add& add) {
  if (!o.unknown.empty() || !sameBase(c.base, o.base) || c.comment != o.comment) {
    add(ChangeKind::ChainChanged, "", c.name, 0, std::nullopt, "chain '" + c.name + "' header differs");
  }
  // Align the two rule lists (longest common subsequence), so one inserted or deleted
  // rule is reported as exactly that, not as a change of every rule after it.
  const auto& want = c.rules;
  const auto& have = o.rules;
  // Each desired rule canonicalised once, on first use: the alignment below compares a rule
  // with many others.
  std::vector<std::optional<std::pair<Rule, std::string>>> canon(want.size());
  auto wanted = [&](std::size_t i) -> const std::pair<Rule, std::string>& {
    if (!canon[i]) canon[i].emplace(canonicalRule(want[i]), want[i].comment());
    return *canon[i];
  };
  auto same = [&](std::size_t i, std::size_t j) {
    const ObservedRule& h = have[j];
    if (!h.rule) return false;
    const auto& [w, comment] = wanted(i);
    return sameExprs(w.exprs, h.rule->exprs) && w.verdict.kind == h.rule->verdict.kind &&
           w.verdict.chain == h.rule->verdict.chain && comment == h.comment;
  };
  std::size_t head = 0;
  while (head < want.size() && head < have.size() && same(head, head)) ++head;
  std::size_t tail = 0;
  while (tail < want.size() - head && tail < have.size() - head &&
         same(want.size() - 1 - tail, have.size() - 1 - tail)) {
    ++tail;
  }
  const std::size_t n = want.size() - head - tail;
  const std::size_t m = have.size() - head - tail;
  std::vector<bool> wantKept(n, false), haveKept(m, false);
  if (n > 0 && m > 0 && n * m <= 4'000'000) {
    std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;) {
      for (std::size_t j = m; j-- > 0;) {
        lcs[i][j] = same(head + i, head + j) ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    for (std::size_t i = 0, j = 0; i < n && j < m;) {
      if (same(head + i, head + j)) {
        wantKept[i++] = true;
        haveKept[j++] = true;
      } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
        ++i;
      } else {
        ++j;
      }
    }
  }
  // Between two aligned rules, a removed and an added rule at the same place is one
  // changed rule; the rest are plain removals and additions.
  auto haveText = [&](std::size_t j) {
    const ObservedRule& h = have[j];
    return h.rule ? ruleText(*h.rule) : "unknown rule (" + h.unknown + ")";
  };
  for (std::size_t i = 0, j = 0; i < n || j < m;) {
    std::vector<std::size_t> gw, gh;
    while (i < n && !wantKept[i]) gw.push_back(head + i++);
    while (j < m && !haveKept[j]) gh.push_back(head + j++);
    const std::size_t paired = std::min(gw.size(), gh.size());
    for (std::size_t k = 0; k < paired; ++k) {
      std::string wantText = ruleText(wanted(gw[k]).first);
      std::string haveT = haveText(gh[k]);
      if (wantText == haveT) {
        // They differ only in what ruleText leaves out, the comment (the rule's name and
        // where the policy says it): without it the line would read "want X have X".
        wantText += " comment \"" + wanted(gw[k]).second + "\"";
        haveT += " comment \"" + have[gh[k]].comment + "\"";
      }
      add(ChangeKind::RuleChanged, "", c.name, gw[k], std::nullopt,
          "chain '" + c.name + "' rule " + std::to_string(gw[k] + 1) + " differs: want `" + wantText + "` have `" +
              haveT + "`");
    }
    for (std::size_t k = paired; k < gh.size(); ++k) {
      add(ChangeKind::RuleRemoved, "", c.name, gh[k], std::nullopt,
          "chain '" + c.name + "' rule " + std::to_string(gh[k] + 1) + " removed: " + haveText(gh[k]));
    }
    for (std::size_t k = paired; k < gw.size(); ++k) {
      add(ChangeKind::RuleAdded, "", c.name, gw[k], std::nullopt,
          "chain '" + c.name + "' rule " + std::to_string(gw[k] + 1) + " added: " + ruleText(want[gw[k]]));
    }
    if (i < n && j < m) {  // both at an aligned pair: step over it
      ++i;
      ++j;
    }
  }
}

}  // namespace

Diff diff(const Ruleset& desired, const std::optional<ObservedTable>& observed) {
  Diff d;
  if (!observed) {
    d.changes.push_back({ChangeKind::TableAbsent, "", "", 0, std::nullopt,
                         std::string("table inet ") + kTableName + " is absent"});
    return d;
  }
  auto add = [&](ChangeKind k, std::string set, std::string chain, std::size_t idx,
                 std::optional<SetElement> el, std::string text) {
    d.changes.push_back({k, std::move(set), std::move(chain), idx, std::move(el), std::move(text)});
  };

  // ---- sets
  byName(
      desired.sets, observed->sets, [](const ObservedSet& o) -> std::string_view { return o.def.name; },
      [&](const SetDef& s) { add(ChangeKind::SetAdded, s.name, "", 0, std::nullopt, "set '" + s.name + "' added"); },
      [&](const SetDef& s, const ObservedSet& o) { diffSet(s, o, add); },
      [&](const ObservedSet& o) {
        add(ChangeKind::SetRemoved, o.def.name, "", 0, std::nullopt, "set '" + o.def.name + "' removed");
      });

  // ---- chains and rules
  byName(
      desired.chains, observed->chains, [](const ObservedChain& o) -> std::string_view { return o.name; },
      [&](const Chain& c) {
        add(ChangeKind::ChainAdded, "", c.name, 0, std::nullopt, "chain '" + c.name + "' added");
      },
      [&](const Chain& c, const ObservedChain& o) { diffChain(c, o, add); },
      [&](const ObservedChain& o) {
        add(ChangeKind::ChainRemoved, "", o.name, 0, std::nullopt, "chain '" + o.name + "' removed");
      });
  return d;
}

}  // namespace bulwark::firewall
