#pragma once
// The daemon's check of a policy before it plans or applies it: what `bulwarkctl validate`
// checks (load, validate, the policy's invariants). Apart from policy_input.* because the
// invariants need the compiled rulesets (review/, firewall/), which the control API's request
// path (and its fuzz target, tests/fuzz/fuzz_dispatch.cpp) does not link.
#include "bulwark/policies/loader.h"
#include "policy_input.h"

namespace bulwark::daemon {

// loadPolicy + validatePolicy + the invariants (when the policy is otherwise valid),
// diagnostics sorted.
[[nodiscard]] policies::LoadResult loadAndValidate(const PolicyInput& in);

}  // namespace bulwark::daemon
