#include "bulwark/review/review.h"

#include "bulwark/firewall/compiler.h"
#include "bulwark/policies/validator.h"
#include "bulwark/review/flow_diff.h"
#include "bulwark/review/invariants.h"
#include "bulwark/review/naming.h"

namespace bulwark::review {

namespace {

struct Side {
  policies::Policy policy;
  firewall::CompileResult compiled;
};

bool failed(const policies::Diagnostics& d, bool werror) {
  return d.hasErrors() || (werror && d.warningCount() > 0);
}

std::optional<Side> load(const ReviewInput& in, bool werror, policies::Diagnostics& diags) {
  auto r = policies::loadPolicy(in.sources);
  if (!r.diagnostics.hasErrors()) policies::validatePolicy(r.policy, r.diagnostics);
  r.diagnostics.sort();
  diags.append(r.diagnostics);
  if (failed(r.diagnostics, werror)) return std::nullopt;
  auto c = firewall::compile(r.policy);
  diags.append(c.diagnostics);
  if (!c.ok()) return std::nullopt;
  return Side{std::move(r.policy), std::move(c)};
}

std::string invariantKey(const policies::Invariant& inv) { return inv.name.empty() ? inv.str() : "name:" + inv.name; }

std::vector<std::string> breachTexts(const InvariantResult& r) {
  std::vector<std::string> out;
  for (const auto& b : r.breaches) out.push_back(b.str());
  return out;
}

// Invariants added, removed, or whose verdict or breaches differ between the sides.
std::vector<InvariantChange> invariantChanges(const Side& before, const Side& after) {
  auto b = checkInvariants(before.policy, before.compiled);
  auto a = checkInvariants(after.policy, after.compiled);
  std::vector<InvariantChange> out;
  auto find = [](const std::vector<InvariantResult>& side, const std::string& key) -> const InvariantResult* {
    for (const auto& r : side) {
      if (invariantKey(*r.invariant) == key) return &r;
    }
    return nullptr;
  };
  auto change = [](InvariantChangeKind kind, const InvariantResult& r) {
    InvariantChange c;
    c.kind = kind;
    c.name = r.invariant->name;
    c.statement = r.invariant->str();
    c.where = r.invariant->where;
    c.breaches = breachTexts(r);
    return c;
  };
  for (const auto& now : a) {
    const auto* was = find(b, invariantKey(*now.invariant));
    if (!was) {
      auto c = change(InvariantChangeKind::Added, now);
      c.holdsAfter = now.holds();
      out.push_back(std::move(c));
      continue;
    }
    auto nowTexts = breachTexts(now), wasTexts = breachTexts(*was);
    if (now.holds() && was->holds()) continue;
    InvariantChange c;
    if (!now.holds() && was->holds()) {
      c = change(InvariantChangeKind::NewlyBroken, now);
    } else if (now.holds()) {
      c = change(InvariantChangeKind::NoLongerBroken, now);
      c.breaches = wasTexts;
    } else if (nowTexts != wasTexts) {
      c = change(InvariantChangeKind::StillBroken, now);
    } else {
      continue;
    }
    c.holdsBefore = was->holds();
    c.holdsAfter = now.holds();
    out.push_back(std::move(c));
  }
  for (const auto& was : b) {
    if (find(a, invariantKey(*was.invariant))) continue;
    auto c = change(InvariantChangeKind::Removed, was);
    c.holdsBefore = was.holds();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

std::string_view invariantChangeKindName(InvariantChangeKind k) {
  switch (k) {
    case InvariantChangeKind::NewlyBroken: return "newly broken";
    case InvariantChangeKind::NoLongerBroken: return "no longer broken";
    case InvariantChangeKind::StillBroken: return "still broken, by other flows";
    case InvariantChangeKind::Added: return "added";
    case InvariantChangeKind::Removed: return "removed";
  }
  return "?";
}

ReviewResult reviewChange(const ReviewInput& before, const ReviewInput& after, bool werror) {
  ReviewResult out;
  auto b = load(before, werror, out.diagnostics);
  auto a = load(after, werror, out.diagnostics);
  if (!b || !a) return out;
  Review r;
  r.before = before.label;
  r.after = after.label;
  r.changes = policyChanges(before.sources, after.sources);
  auto changes = flowChanges({&b->compiled.ruleset, &b->policy}, {&a->compiled.ruleset, &a->policy});
  Namer names({&a->policy, &b->policy});
  r.effect = groupFlowChanges(changes, names);
  r.invariants = invariantChanges(*b, *a);
  out.review = std::move(r);
  return out;
}

}  // namespace bulwark::review
