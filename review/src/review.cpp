#include "bulwark/review/review.h"

#include "bulwark/firewall/compiler.h"
#include "bulwark/policies/validator.h"
#include "bulwark/review/flow_diff.h"
#include "bulwark/review/naming.h"

namespace bulwark::review {

namespace {

struct Side {
  policies::Policy policy;
  firewall::Ruleset ruleset;
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
  return Side{std::move(r.policy), std::move(c.ruleset)};
}

}  // namespace

ReviewResult reviewChange(const ReviewInput& before, const ReviewInput& after, bool werror) {
  ReviewResult out;
  auto b = load(before, werror, out.diagnostics);
  auto a = load(after, werror, out.diagnostics);
  if (!b || !a) return out;
  Review r;
  r.before = before.label;
  r.after = after.label;
  r.changes = policyChanges(before.sources, after.sources);
  auto changes = flowChanges({&b->ruleset, &b->policy}, {&a->ruleset, &a->policy});
  Namer names({&a->policy, &b->policy});
  r.effect = groupFlowChanges(changes, names);
  out.review = std::move(r);
  return out;
}

}  // namespace bulwark::review
