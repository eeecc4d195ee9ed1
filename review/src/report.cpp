// The renderings of a review: text for a terminal, Markdown for a merge-request comment, JSON
// for machines. All three say the same things in the same order.
#include <nlohmann/json.hpp>

#include <sstream>

#include "bulwark/review/review.h"

namespace bulwark::review {

namespace {

std::string place(const policies::Location& where) {
  if (where.file.empty()) return {};
  return where.file + ":" + std::to_string(where.line);
}

std::string changeHead(const PolicyChange& c) {
  std::string s = std::string(changeKindName(c.kind)) + " " + c.what;
  if (!c.name.empty() && c.name != c.what) s += " " + c.name;
  auto at = place(c.where);
  if (!at.empty()) s += " at " + at;
  return s;
}

std::string lineNotes(const FlowLine& l) {
  std::string s;
  if (l.families.size() == 1 && l.families.front() == Family::V6) s += " [IPv6]";
  if (!l.pathNote.empty()) s += " [" + l.pathNote + "]";
  return s;
}

std::string groupHead(const FlowGroup& g) {
  std::string s(flowChangeKindName(g.kind));
  if (g.kind == FlowChangeKind::Redirected) {
    s += " (" + (g.dnatBefore.empty() ? std::string("not translated") : g.dnatBefore) + " → " +
         (g.dnatAfter.empty() ? std::string("not translated") : g.dnatAfter) + ")";
  } else if (!g.dnatAfter.empty() || !g.dnatBefore.empty()) {
    s += " (DNAT to " + (g.dnatAfter.empty() ? g.dnatBefore : g.dnatAfter) + ")";
  }
  s += " by " + g.nowText;
  if (g.wasText != g.nowText) s += " (was: " + g.wasText + ")";
  return s;
}

std::string invariantHead(const InvariantChange& c) {
  std::string s(invariantChangeKindName(c.kind));
  s += ": " + (c.name.empty() ? c.statement : c.name + " (" + c.statement + ")");
  if (auto at = place(c.where); !at.empty()) s += " at " + at;
  if (c.kind == InvariantChangeKind::Added) s += c.holdsAfter ? ", holds" : ", broken";
  if (c.kind == InvariantChangeKind::Removed) s += c.holdsBefore ? " (it held)" : " (it was broken)";
  return s;
}

std::string familyName(Family f) { return f == Family::V4 ? "ipv4" : "ipv6"; }

// "… and 3 more groups" (what a capped review left out).
std::string more(std::size_t n, const std::string& what) {
  return "… and " + std::to_string(n) + " more " + what + (n == 1 ? "" : "s");
}

// Markdown: a code span that holds any text (backticks become quotes).
std::string code(std::string s) {
  for (auto& ch : s) {
    if (ch == '`') ch = '\'';
  }
  return "`" + s + "`";
}

}  // namespace

std::string reviewText(const Review& r) {
  std::ostringstream o;
  o << "Policy change " << r.before << " → " << r.after << '\n';
  if (!r.changed()) {
    o << "\nNo change: the policies say the same and every flow keeps its fate.\n";
    return o.str();
  }
  o << "\nIn policy terms (" << r.changes.size() + r.moreChanges << "):\n";
  if (r.changes.empty()) o << "  nothing (formatting, comments or order of keys only)\n";
  for (const auto& c : r.changes) {
    o << "  " << changeHead(c) << '\n';
    for (const auto& d : c.details) o << "      " << d << '\n';
  }
  if (r.moreChanges > 0) o << "  " << more(r.moreChanges, "change") << '\n';
  o << "\nEffect:\n";
  if (r.effect.empty() && r.moreGroups == 0) o << "  no flow changes its fate\n";
  for (const auto& g : r.effect) {
    o << "  " << groupHead(g) << ":\n";
    for (const auto& l : g.lines) o << "    " << l.from << " → " << l.to << " " << l.services << lineNotes(l) << '\n';
    if (g.moreLines > 0) o << "    " << more(g.moreLines, "line") << '\n';
  }
  if (r.moreGroups > 0) o << "  " << more(r.moreGroups, "group") << " of changed flows\n";
  if (!r.invariants.empty()) {
    o << "\nInvariants:\n";
    for (const auto& c : r.invariants) {
      o << "  " << invariantHead(c) << '\n';
      for (const auto& b : c.breaches) o << "    " << b << '\n';
    }
  }
  return o.str();
}

std::string reviewMarkdown(const Review& r) {
  std::ostringstream o;
  o << "### Policy change " << code(r.before) << " → " << code(r.after) << "\n\n";
  if (!r.changed()) {
    o << "No change: the policies say the same and every flow keeps its fate.\n";
    return o.str();
  }
  o << "#### In policy terms\n\n";
  if (r.changes.empty()) o << "Nothing (formatting, comments or order of keys only).\n";
  for (const auto& c : r.changes) {
    o << "- **" << changeKindName(c.kind) << "** " << c.what;
    if (!c.name.empty() && c.name != c.what) o << " " << code(c.name);
    if (auto at = place(c.where); !at.empty()) o << " at " << code(at);
    o << '\n';
    for (const auto& d : c.details) o << "  - " << code(d) << '\n';
  }
  if (r.moreChanges > 0) o << "- " << more(r.moreChanges, "change") << '\n';
  o << "\n#### Effect\n\n";
  if (r.effect.empty() && r.moreGroups == 0) o << "No flow changes its fate.\n";
  for (const auto& g : r.effect) {
    o << "- **" << groupHead(g) << "**\n";
    for (const auto& l : g.lines) {
      o << "  - " << l.from << " → " << l.to << " " << code(l.services) << lineNotes(l) << '\n';
    }
    if (g.moreLines > 0) o << "  - " << more(g.moreLines, "line") << '\n';
  }
  if (r.moreGroups > 0) o << "- " << more(r.moreGroups, "group") << " of changed flows\n";
  if (!r.invariants.empty()) {
    o << "\n#### Invariants\n\n";
    for (const auto& c : r.invariants) {
      bool bad = c.kind == InvariantChangeKind::NewlyBroken || c.kind == InvariantChangeKind::StillBroken ||
                 (c.kind == InvariantChangeKind::Added && !c.holdsAfter);
      o << "- " << (bad ? ":x: " : "") << "**" << invariantChangeKindName(c.kind) << "**: "
        << code(c.name.empty() ? c.statement : c.name + " (" + c.statement + ")");
      if (auto at = place(c.where); !at.empty()) o << " at " << code(at);
      if (c.kind == InvariantChangeKind::Added) o << (c.holdsAfter ? ", holds" : ", broken");
      if (c.kind == InvariantChangeKind::Removed) o << (c.holdsBefore ? " (it held)" : " (it was broken)");
      o << '\n';
      for (const auto& b : c.breaches) o << "  - " << code(b) << '\n';
    }
  }
  return o.str();
}

std::string reviewJson(const Review& r) {
  using nlohmann::json;
  json changes = json::array();
  for (const auto& c : r.changes) {
    changes.push_back({{"kind", changeKindName(c.kind)},
                       {"section", c.section},
                       {"what", c.what},
                       {"name", c.name},
                       {"location", c.where.str()},
                       {"side", c.kind == ChangeKind::Removed ? "before" : "after"},
                       {"details", c.details}});
  }
  auto origin = [](const firewall::Origin& o, const std::string& text) {
    return json{{"what", o.what}, {"location", o.where.file.empty() ? "" : o.where.str()}, {"text", text}};
  };
  json effect = json::array();
  for (const auto& g : r.effect) {
    json lines = json::array();
    for (const auto& l : g.lines) {
      json families = json::array();
      for (auto f : l.families) families.push_back(familyName(f));
      lines.push_back({{"from", l.from},
                       {"to", l.to},
                       {"services", l.services},
                       {"from_prefixes", l.fromExact},
                       {"to_prefixes", l.toExact},
                       {"service_specs", l.servicesExact},
                       {"families", families},
                       {"ipsec_path", l.pathNote}});
    }
    effect.push_back({{"kind", flowChangeKindName(g.kind)},
                      {"by", origin(g.now, g.nowText)},
                      {"was", origin(g.was, g.wasText)},
                      {"dnat_before", g.dnatBefore},
                      {"dnat_after", g.dnatAfter},
                      {"flows", lines},
                      {"more_flows", g.moreLines}});
  }
  json invariants = json::array();
  for (const auto& c : r.invariants) {
    invariants.push_back({{"kind", invariantChangeKindName(c.kind)},
                          {"name", c.name},
                          {"statement", c.statement},
                          {"location", c.where.str()},
                          {"side", c.kind == InvariantChangeKind::Removed ? "before" : "after"},
                          {"holds_before", c.holdsBefore},
                          {"holds_after", c.holdsAfter},
                          {"breaches", c.breaches}});
  }
  json out{{"before", r.before}, {"after", r.after}, {"changed", r.changed()}, {"policy_changes", changes},
           {"effect", effect}, {"invariants", invariants}, {"more_policy_changes", r.moreChanges},
           {"more_effect_groups", r.moreGroups}};
  return out.dump(2) + "\n";
}

void capReview(Review& r, const ReviewLimits& limits) {
  if (r.changes.size() > limits.maxChanges) {
    r.moreChanges += r.changes.size() - limits.maxChanges;
    r.changes.resize(limits.maxChanges);
  }
  if (r.effect.size() > limits.maxGroups) {
    r.moreGroups += r.effect.size() - limits.maxGroups;
    r.effect.resize(limits.maxGroups);
  }
  for (auto& g : r.effect) {
    if (g.lines.size() <= limits.maxLines) continue;
    g.moreLines += g.lines.size() - limits.maxLines;
    g.lines.resize(limits.maxLines);
  }
}

}  // namespace bulwark::review
