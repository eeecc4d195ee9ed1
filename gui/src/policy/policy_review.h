#pragma once
// The Review view's work: the editor's working copy against the policy repository's HEAD, as
// `bulwarkctl diff` computes it (review/review.h: the change in policy terms, the exact effect
// on flows, the invariants touched), HEAD's files read the way the text diff reads them
// (working_diff.h, headFiles). Blocking: run it off the GUI thread.
#include <QString>

#include <vector>

#include "policy/working_diff.h"

namespace bulwark::console {

struct PolicyReview {
  QString text;    // review::reviewText, capped like bulwarkd's plan reply
  QString error;   // HEAD unreadable, or a side that does not load (with its diagnostics)
  bool changed = false;
  double millis = 0;  // git + review, for the status line
};

[[nodiscard]] PolicyReview reviewAgainstHead(const QString& root, const std::vector<WorkingFile>& files);

}  // namespace bulwark::console
