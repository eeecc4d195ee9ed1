#include "bulwark/review/plan_review.h"

#include <algorithm>

namespace bulwark::review {

namespace {

nlohmann::json unknownReview(std::string reason) { return {{"known", false}, {"reason", std::move(reason)}}; }

// The first error of a side that does not load, for the reason line.
std::string firstError(const policies::Diagnostics& d) {
  for (const auto& x : d.items()) {
    if (x.severity == policies::Severity::Error) return x.str();
  }
  return "it does not compile";
}

bool sameSources(const std::vector<policies::Source>& a, const std::vector<policies::Source>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return x.name == y.name && x.text == y.text; });
}

nlohmann::json knownReview(Review& r, const std::optional<ReviewLimits>& limits) {
  if (limits) capReview(r, *limits);
  auto j = nlohmann::json::parse(reviewJson(r));
  j["known"] = true;
  j["text"] = reviewText(r);
  return j;
}

}  // namespace

nlohmann::json planReview(const AppliedPolicy& applied, const ReviewInput& proposed,
                          const std::optional<ReviewLimits>& limits) {
  if (!applied.input) return unknownReview(applied.unknown);
  // The common plan "is anything to do?" of the policy already applied: the same files are the
  // same policy, no analysis needed (the caller has validated the proposed side).
  if (sameSources(applied.input->sources, proposed.sources)) {
    Review same;
    same.before = applied.input->label;
    same.after = proposed.label;
    return knownReview(same, limits);
  }
  // The applied side may not load with this build (a recorded revision from an older one):
  // then the plan says so instead of failing; the kernel plan still stands.
  auto result = reviewChange(*applied.input, proposed);
  if (!result.review) {
    return unknownReview("the applied policy (" + applied.input->label + ") does not load here: " +
                         firstError(result.diagnostics));
  }
  return knownReview(*result.review, limits);
}

}  // namespace bulwark::review
