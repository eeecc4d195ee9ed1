#pragma once
// One validation run of the edited policy, done by the policy library (loader + validator,
// the same code bulwarkctl and bulwarkd run) plus what the views need from it: the name
// index and the zone matrix. Immutable once built, shared between the worker thread that
// builds it and the views that show it.
#include <QString>

#include <memory>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/matrix.h"
#include "bulwark/policies/model.h"
#include "bulwark/policies/resolve.h"

namespace bulwark::console {

struct PolicyAnalysis {
  policies::Policy policy;
  policies::Diagnostics diagnostics;  // sorted: file, line, column
  std::unique_ptr<policies::PolicyIndex> index;  // over `policy`; null when loading failed outright
  policies::ZoneMatrix matrix;
  quint64 generation = 0;  // which edit it belongs to (stale results are dropped)
  double millis = 0;       // how long load + validate + matrix took

  PolicyAnalysis() = default;
  PolicyAnalysis(const PolicyAnalysis&) = delete;  // index points into policy
  PolicyAnalysis& operator=(const PolicyAnalysis&) = delete;
};
using AnalysisPtr = std::shared_ptr<const PolicyAnalysis>;

// Thread-safe (pure): load, validate, index, matrix.
[[nodiscard]] AnalysisPtr analysePolicy(const std::vector<policies::Source>& sources, quint64 generation);

}  // namespace bulwark::console
