#include "bulwark/review/policy_changes.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "bulwark/policies/document.h"

namespace bulwark::review {

namespace {

using policies::DocNode;
using Kind = DocNode::Kind;

// Flow-style text with mapping keys sorted and one-item lists of a scalar written as the
// scalar: equal texts mean equal meaning for the loader.
std::string canon(const DocNode& n) {
  switch (n.kind) {
    case Kind::Null: return "~";
    case Kind::Scalar: return n.scalar;
    case Kind::Sequence: {
      if (n.items.size() == 1 && n.items[0].kind == Kind::Scalar) return n.items[0].scalar;
      std::string s = "[";
      for (std::size_t i = 0; i < n.items.size(); ++i) s += (i ? ", " : "") + canon(n.items[i]);
      return s + "]";
    }
    case Kind::Map: {
      std::vector<std::pair<std::string, std::string>> kv;
      for (const auto& [k, v] : n.entries) kv.emplace_back(k, canon(v));
      std::sort(kv.begin(), kv.end());
      std::string s = "{ ";
      for (std::size_t i = 0; i < kv.size(); ++i) s += (i ? ", " : "") + kv[i].first + ": " + kv[i].second;
      return s + " }";
    }
  }
  return {};
}

std::string shortText(const std::string& s, std::size_t max = 100) {
  return s.size() <= max ? s : s.substr(0, max - 3) + "...";
}

bool scalarList(const DocNode& n) {
  if (n.kind == Kind::Scalar) return true;
  if (n.kind != Kind::Sequence) return false;
  return std::all_of(n.items.begin(), n.items.end(), [](const DocNode& i) { return i.kind == Kind::Scalar; });
}

std::vector<std::string> scalars(const DocNode& n) {
  if (n.kind == Kind::Scalar) return {n.scalar};
  std::vector<std::string> out;
  for (const auto& i : n.items) out.push_back(i.scalar);
  return out;
}

const DocNode* nameOf(const DocNode& item) {
  if (item.kind != Kind::Map) return nullptr;
  const auto* n = item.find("name");
  return n && n->kind == Kind::Scalar ? n : nullptr;
}

// What changed between two values of `key`, as detail lines.
void fieldDiffs(const std::string& key, const DocNode* a, const DocNode* b, std::vector<std::string>& out) {
  if (!a && !b) return;
  if (!a) {
    out.push_back(key + ": added " + shortText(canon(*b)));
    return;
  }
  if (!b) {
    out.push_back(key + ": removed (was " + shortText(canon(*a)) + ")");
    return;
  }
  if (canon(*a) == canon(*b)) return;
  if (a->kind == Kind::Map && b->kind == Kind::Map) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a->entries) keys.insert(k);
    for (const auto& [k, v] : b->entries) keys.insert(k);
    for (const auto& k : keys) fieldDiffs(key + "." + k, a->find(k), b->find(k), out);
    return;
  }
  if (scalarList(*a) && scalarList(*b) && (a->kind == Kind::Sequence || b->kind == Kind::Sequence)) {
    auto x = scalars(*a), y = scalars(*b);
    std::string d;
    for (const auto& v : y) {
      if (std::find(x.begin(), x.end(), v) == x.end()) d += (d.empty() ? "" : ", ") + ("+" + v);
    }
    for (const auto& v : x) {
      if (std::find(y.begin(), y.end(), v) == y.end()) d += (d.empty() ? "" : ", ") + ("-" + v);
    }
    if (d.empty()) d = "reordered";
    out.push_back(key + ": " + d + " (now " + shortText(canon(*b)) + ")");
    return;
  }
  if (a->kind == Kind::Sequence && b->kind == Kind::Sequence) {
    std::multiset<std::string> x, y;
    for (const auto& i : a->items) x.insert(canon(i));
    for (const auto& i : b->items) y.insert(canon(i));
    std::string d;
    for (const auto& v : y) {
      if (!x.count(v)) d += (d.empty() ? "" : ", ") + ("+" + shortText(v, 80));
    }
    for (const auto& v : x) {
      if (!y.count(v)) d += (d.empty() ? "" : ", ") + ("-" + shortText(v, 80));
    }
    if (d.empty()) d = "reordered";
    out.push_back(key + ": " + d);
    return;
  }
  out.push_back(key + ": " + shortText(canon(*a), 60) + " → " + shortText(canon(*b), 60));
}

std::string singular(const std::string& section) {
  static const std::map<std::string, std::string> names = {
      {"segments", "segment"},   {"hosts", "host"},           {"services", "service"},
      {"zones", "zone"},         {"rules", "rule"},           {"nat.dnat", "DNAT entry"},
      {"nat.snat", "SNAT entry"}, {"vpn.groups", "VPN group"}, {"expect", "expectation"},
      {"invariants", "invariant"}};
  if (auto it = names.find(section); it != names.end()) return it->second;
  auto last = section.substr(section.find_last_of('.') + 1);
  if (last.size() > 1 && last.back() == 's') last.pop_back();
  return last;
}

struct Item {
  const DocNode* node = nullptr;
};

// A policy's documents as sections of items and objects of fields.
struct View {
  std::map<std::string, std::vector<Item>> sections;
  std::map<std::string, std::vector<std::pair<std::string, const DocNode*>>> objects;
  std::map<std::string, policies::Location> objectAt;
  std::vector<DocNode> roots;

  explicit View(const std::vector<policies::Source>& sources) {
    for (const auto& src : sources) {
      auto doc = policies::readDocument(src);
      if (doc.root && doc.root->kind == Kind::Map) roots.push_back(std::move(*doc.root));
    }
    for (const auto& root : roots) {
      for (std::size_t e = 0; e < root.entries.size(); ++e) {
        const auto& [key, value] = root.entries[e];
        if (value.kind == Kind::Sequence) {
          for (const auto& item : value.items) sections[key].push_back({&item});
          if (value.items.empty()) sections[key];
        } else if (value.kind == Kind::Map) {
          objectAt[key] = root.keyLocations[e];
          auto& fields = objects[key];
          for (const auto& [k, v] : value.entries) {
            bool namedList = v.kind == Kind::Sequence && !v.items.empty() &&
                             std::all_of(v.items.begin(), v.items.end(), [](const DocNode& i) { return nameOf(i); });
            if (namedList) {
              for (const auto& item : v.items) sections[key + "." + k].push_back({&item});
            } else {
              fields.emplace_back(k, &v);
            }
          }
        } else {
          objects[""].emplace_back(key, &value);
        }
      }
    }
  }
};

void compareSection(const std::string& section, const std::vector<Item>& before, const std::vector<Item>& after,
                    std::vector<PolicyChange>& out) {
  auto what = singular(section);
  bool named = std::all_of(before.begin(), before.end(), [](const Item& i) { return nameOf(*i.node); }) &&
               std::all_of(after.begin(), after.end(), [](const Item& i) { return nameOf(*i.node); }) &&
               !(before.empty() && after.empty());
  if (!named) {
    // Unnamed items compare by their canonical text, counted: an item of `side` that `other`
    // does not hold (once more) is a change of `kind`.
    auto canons = [](const std::vector<Item>& items) {
      std::multiset<std::string> set;
      for (const auto& i : items) set.insert(canon(*i.node));
      return set;
    };
    auto unmatched = [&](const std::vector<Item>& side, std::multiset<std::string> other, ChangeKind kind) {
      for (const auto& i : side) {
        auto c = canon(*i.node);
        if (auto it = other.find(c); it != other.end()) {
          other.erase(it);
          continue;
        }
        out.push_back({kind, section, what, shortText(c), i.node->where, {}});
      }
    };
    unmatched(after, canons(before), ChangeKind::Added);
    unmatched(before, canons(after), ChangeKind::Removed);
    return;
  }
  std::map<std::string, const DocNode*> byName;
  std::vector<std::string> beforeOrder;
  for (const auto& i : before) {
    const auto& n = nameOf(*i.node)->scalar;
    if (byName.emplace(n, i.node).second) beforeOrder.push_back(n);
  }
  std::set<std::string> seen;
  for (const auto& i : after) {
    const auto& n = nameOf(*i.node)->scalar;
    if (!seen.insert(n).second) continue;
    auto it = byName.find(n);
    if (it == byName.end()) {
      out.push_back({ChangeKind::Added, section, what, n, i.node->where, {}});
      continue;
    }
    std::vector<std::string> details;
    fieldDiffs("", it->second, i.node, details);
    for (auto& d : details) d.erase(0, 1);  // the leading '.' of the top-level field names
    if (!details.empty()) out.push_back({ChangeKind::Changed, section, what, n, i.node->where, std::move(details)});
  }
  for (const auto& i : before) {
    const auto& n = nameOf(*i.node)->scalar;
    if (!seen.count(n)) out.push_back({ChangeKind::Removed, section, what, n, i.node->where, {}});
  }
  if (section != "rules") return;
  // First match wins: rules whose order relative to the others changed. The rules kept in place
  // are a longest subsequence in the old order; the others moved.
  std::map<std::string, std::size_t> oldPos;
  for (std::size_t k = 0; k < beforeOrder.size(); ++k) oldPos[beforeOrder[k]] = k;
  std::vector<std::pair<std::string, const DocNode*>> common;
  std::set<std::string> once;
  for (const auto& i : after) {
    const auto& n = nameOf(*i.node)->scalar;
    if (oldPos.count(n) && once.insert(n).second) common.emplace_back(n, i.node);
  }
  std::vector<std::size_t> tails, tailIdx, prev(common.size(), SIZE_MAX);
  for (std::size_t k = 0; k < common.size(); ++k) {
    auto p = oldPos[common[k].first];
    auto it = std::lower_bound(tails.begin(), tails.end(), p);
    auto at = static_cast<std::size_t>(it - tails.begin());
    if (at > 0) prev[k] = tailIdx[at - 1];
    if (it == tails.end()) {
      tails.push_back(p);
      tailIdx.push_back(k);
    } else {
      *it = p;
      tailIdx[at] = k;
    }
  }
  std::set<std::size_t> kept;
  for (std::size_t k = tailIdx.empty() ? SIZE_MAX : tailIdx.back(); k != SIZE_MAX; k = prev[k]) kept.insert(k);
  for (std::size_t k = 0; k < common.size(); ++k) {
    if (kept.count(k)) continue;
    std::string where = k == 0 ? "now first" : "now after " + common[k - 1].first;
    out.push_back({ChangeKind::Moved, section, what, common[k].first, common[k].second->where, {where}});
  }
}

}  // namespace

std::string_view changeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::Added: return "added";
    case ChangeKind::Removed: return "removed";
    case ChangeKind::Changed: return "changed";
    case ChangeKind::Moved: return "moved";
  }
  return "?";
}

std::vector<PolicyChange> policyChanges(const std::vector<policies::Source>& before,
                                        const std::vector<policies::Source>& after) {
  View b(before), a(after);
  std::vector<PolicyChange> out;
  std::set<std::string> objects;
  for (const auto& [k, v] : b.objects) objects.insert(k);
  for (const auto& [k, v] : a.objects) objects.insert(k);
  for (const auto& name : objects) {
    auto fb = b.objects.find(name), fa = a.objects.find(name);
    if (!name.empty() && fb == b.objects.end()) {
      out.push_back({ChangeKind::Added, name, name, name, a.objectAt[name], {}});
      continue;
    }
    if (!name.empty() && fa == a.objects.end()) {
      out.push_back({ChangeKind::Removed, name, name, name, b.objectAt[name], {}});
      continue;
    }
    static const std::vector<std::pair<std::string, const DocNode*>> none;
    const auto& x = fb == b.objects.end() ? none : fb->second;
    const auto& y = fa == a.objects.end() ? none : fa->second;
    std::set<std::string> keys;
    for (const auto& [k, v] : x) keys.insert(k);
    for (const auto& [k, v] : y) keys.insert(k);
    std::vector<std::string> details;
    auto find = [](const auto& list, const std::string& k) -> const DocNode* {
      for (const auto& [key, v] : list) {
        if (key == k) return v;
      }
      return nullptr;
    };
    for (const auto& k : keys) fieldDiffs(k, find(x, k), find(y, k), details);
    if (!details.empty()) {
      out.push_back({ChangeKind::Changed, name, name.empty() ? "policy" : name, name, a.objectAt[name], std::move(details)});
    }
  }
  std::set<std::string> sections;
  for (const auto& [k, v] : b.sections) sections.insert(k);
  for (const auto& [k, v] : a.sections) sections.insert(k);
  static const std::vector<Item> none;
  for (const auto& s : sections) {
    auto ib = b.sections.find(s), ia = a.sections.find(s);
    compareSection(s, ib == b.sections.end() ? none : ib->second, ia == a.sections.end() ? none : ia->second, out);
  }
  // In the order of the language's sections, then by place.
  static const std::vector<std::string> order = {"gateway", "segments", "hosts", "services", "zones", "rules",
                                                 "nat", "nat.dnat", "nat.snat", "vpn", "vpn.groups", "expect"};
  auto rank = [&](const std::string& s) {
    auto it = std::find(order.begin(), order.end(), s);
    return static_cast<std::size_t>(it - order.begin());
  };
  std::stable_sort(out.begin(), out.end(), [&](const PolicyChange& x, const PolicyChange& y) {
    return std::make_tuple(rank(x.section), x.section, x.where.file, x.where.line) <
           std::make_tuple(rank(y.section), y.section, y.where.file, y.where.line);
  });
  return out;
}

}  // namespace bulwark::review
