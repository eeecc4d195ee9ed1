#pragma once
// A policy change for people who review it: the change in policy terms (policy_changes.h)
// and its exact effect on flows (flow_diff.h), grouped the way a reviewer reads them
// (flow_groups.h) -- what `bulwarkctl diff` prints and what a merge-request comment holds.
// Both sides are loaded, validated and compiled here; a side that does not load is an error,
// not an empty policy (an empty side would report every flow as changed).
#include <optional>
#include <string>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/loader.h"
#include "bulwark/review/flow_groups.h"
#include "bulwark/review/policy_changes.h"

namespace bulwark::review {

struct ReviewInput {
  std::string label;  // "HEAD", "working tree", a path: what the reader calls this side
  std::vector<policies::Source> sources;
};

struct Review {
  std::string before, after;  // the sides' labels
  std::vector<PolicyChange> changes;
  std::vector<FlowGroup> effect;
  [[nodiscard]] bool changed() const { return !changes.empty() || !effect.empty(); }
};

struct ReviewResult {
  std::optional<Review> review;      // nullopt when a side does not load, validate or compile
  policies::Diagnostics diagnostics;  // of both sides (errors, and warnings to show)
};

// werror: a warning on either side is an error too (as `validate --werror`).
[[nodiscard]] ReviewResult reviewChange(const ReviewInput& before, const ReviewInput& after, bool werror = false);

// Renderings: plain text (a terminal), Markdown (a merge-request comment), JSON (machines;
// with the exact prefixes and port ranges of every line).
[[nodiscard]] std::string reviewText(const Review& r);
[[nodiscard]] std::string reviewMarkdown(const Review& r);
[[nodiscard]] std::string reviewJson(const Review& r);

}  // namespace bulwark::review
