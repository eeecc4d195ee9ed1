#pragma once
// Which policy the kernel holds, for `plan --direct`'s review in policy terms. No record is
// trusted: the candidate is the policy repository's HEAD, and the kernel is the witness -- HEAD
// counts as applied only when planning it against what the kernel holds finds nothing to change
// (every part this plan covers in sync). Failing that, when the proposed policy itself is in
// sync, the kernel holds it. Otherwise the applied policy is unknown, and the plan says why.
#include <optional>
#include <string>
#include <vector>

#include "apply_engine.h"
#include "bulwark/review/plan_review.h"

namespace bulwark::cli {

// `kinds`: the kinds this plan covers (--only), `proposedInSync`: each of them in sync with
// the proposed policy.
[[nodiscard]] review::AppliedPolicy appliedInKernel(engine::ApplyEngine& eng, const std::string& path,
                                                    const std::vector<std::size_t>& kinds, bool proposedInSync,
                                                    const std::vector<policies::Source>& proposed);

}  // namespace bulwark::cli
