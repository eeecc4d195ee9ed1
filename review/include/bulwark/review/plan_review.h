#pragma once
// A plan in policy terms: what `bulwarkctl plan` and bulwarkd's plan reply say before the nft
// commands -- the review (review.h) of the applied policy against the proposed one. Which
// policy is "applied" is the caller's to know (bulwarkd: its running revision's recorded
// sources; bulwarkctl --direct: the policy repository's HEAD when its compiled state is what
// the kernel holds); when it is unknown the plan says why and shows only the kernel's plan.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/review/review.h"

namespace bulwark::review {

struct AppliedPolicy {
  std::optional<ReviewInput> input;  // nullopt: unknown
  std::string unknown;               // why it is unknown ("no revision applied yet", ...)
};

// The "review" object of a plan:
//   {"known": false, "reason": "..."} when the applied policy is unknown or does not load;
//   {"known": true, "text": reviewText, "before", "after", "changed", "policy_changes",
//    "effect", "invariants", "more_policy_changes", "more_effect_groups"} (reviewJson's
//   fields, capped by `limits`) otherwise.
[[nodiscard]] nlohmann::json planReview(const AppliedPolicy& applied, const ReviewInput& proposed,
                                        const std::optional<ReviewLimits>& limits);

}  // namespace bulwark::review
