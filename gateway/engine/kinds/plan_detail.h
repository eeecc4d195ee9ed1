#pragma once
// A kind's own plan (KindPlan::detail) handed from its plan() to its apply(): set only on a
// plan that changes something, read back as the kind's type, never kept in what apply()
// reports (the engine stores that; the detail is apply's input alone).
#include <memory>
#include <utility>

#include "resource_kind.h"

namespace bulwark::engine {

// plan()'s result: `p`, carrying `detail` when it is not in sync.
template <typename Detail>
[[nodiscard]] KindPlan withDetail(KindPlan p, std::shared_ptr<Detail> detail) {
  if (!p.inSync) p.detail = std::move(detail);
  return p;
}

// What apply() starts filling: the plan it was given, without its detail.
[[nodiscard]] inline KindApplied appliedOf(const KindPlan& plan) {
  KindApplied out;
  out.plan = plan;
  out.plan.detail.reset();
  return out;
}

// The detail plan() set, as the kind's type; null when the plan is in sync.
template <typename Detail>
[[nodiscard]] const Detail* detailOf(const KindPlan& plan) {
  return static_cast<const Detail*>(plan.detail.get());
}

}  // namespace bulwark::engine
