#include "policy_check.h"

#include "bulwark/policies/validator.h"
#include "bulwark/review/invariants.h"

namespace bulwark::daemon {

policies::LoadResult loadAndValidate(const PolicyInput& in) {
  auto r = policies::loadPolicy(in.sources);
  policies::validatePolicy(r.policy, r.diagnostics);
  // A policy that breaks one of its invariants is invalid here as in `bulwarkctl validate`.
  if (!r.diagnostics.hasErrors()) review::checkPolicyInvariants(r.policy, r.diagnostics);
  r.diagnostics.sort();
  return r;
}

}  // namespace bulwark::daemon
