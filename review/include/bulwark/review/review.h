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

// An invariant (policies::Invariant) the change touches, matched across the sides by its name,
// or by its statement when it has none.
enum class InvariantChangeKind : std::uint8_t { NewlyBroken, NoLongerBroken, StillBroken, Added, Removed };
[[nodiscard]] std::string_view invariantChangeKindName(InvariantChangeKind k);  // "newly broken" ...

struct InvariantChange {
  InvariantChangeKind kind = InvariantChangeKind::NewlyBroken;
  std::string name;       // "" when it has none
  std::string statement;  // "never {from: internet, to: [db, storage]}"
  policies::Location where;  // on the side that has it (the old one when removed)
  bool holdsBefore = true, holdsAfter = true;  // for a side that lacks it: true
  // The breaches on the side that has it (after; before when removed or no longer broken),
  // each "mgmt-ops at campus.yaml:127 allows mgmt → db ssh (tcp/22), e.g. 10.99.0.10 → ...".
  std::vector<std::string> breaches;
};

struct Review {
  std::string before, after;  // the sides' labels
  std::vector<PolicyChange> changes;
  std::vector<FlowGroup> effect;
  std::vector<InvariantChange> invariants;
  // Left out by capReview: a bounded review says how much more there is.
  std::size_t moreChanges = 0, moreGroups = 0;
  [[nodiscard]] bool changed() const {
    return !changes.empty() || !effect.empty() || !invariants.empty() || moreChanges > 0 || moreGroups > 0;
  }
};

// At most maxChanges policy changes, maxGroups flow groups and maxLines lines per group kept
// (the rest counted in moreChanges, moreGroups, FlowGroup::moreLines): a review that travels
// in a bounded reply (bulwarkd's plan). Invariant changes are kept (one per invariant).
struct ReviewLimits {
  std::size_t maxChanges = 200;
  std::size_t maxGroups = 50;
  std::size_t maxLines = 50;
};
void capReview(Review& r, const ReviewLimits& limits);

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
