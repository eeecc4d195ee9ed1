#include "apply_engine.h"

#include <algorithm>

namespace bulwark::engine {

bool RunResult::failed() const {
  for (const auto& k : kinds) {
    if (k.error) return true;
  }
  return false;
}

ApplyEngine::ApplyEngine(std::vector<ResourceKindPtr> kinds) : kinds_(std::move(kinds)) {}

std::vector<KindResult<KindStatePtr>> ApplyEngine::desired(const policies::Policy& policy) const {
  std::vector<KindResult<KindStatePtr>> out;
  out.reserve(kinds_.size());
  for (const auto& k : kinds_) out.push_back(k->desired(policy));
  return out;
}

Observations ApplyEngine::observeAll() {
  Observations out;
  out.reserve(kinds_.size());
  for (const auto& k : kinds_) out.emplace_back(k->observe(nullptr));
  return out;
}

KindResult<ApplyEngine::Planned> ApplyEngine::plan(std::size_t i, const KindStatePtr& state) {
  auto observed = kinds_[i]->observe(state);
  if (!observed) return observed.error();
  auto p = kinds_[i]->plan(state, *observed);
  if (!p) return p.error();
  return Planned{std::move(observed.value()), std::move(p.value())};
}

KindResult<KindApplied> ApplyEngine::applyOne(std::size_t i, const KindStatePtr& state) {
  auto p = plan(i, state);
  if (!p) return p.error();
  if (p->plan.inSync) return KindApplied{std::move(p->plan), 0, 0, 0, {}};
  return kinds_[i]->apply(state, p->plan);
}

std::vector<std::pair<std::size_t, KindError>> ApplyEngine::restore(
    const std::vector<std::optional<KindStatePtr>>& states, std::vector<std::optional<KindApplied>>* applied) {
  std::vector<std::pair<std::size_t, KindError>> failures;
  if (applied) applied->assign(kinds_.size(), std::nullopt);
  for (std::size_t i = std::min(states.size(), kinds_.size()); i-- > 0;) {
    if (!states[i]) continue;
    auto r = applyOne(i, *states[i]);
    if (!r) {
      failures.emplace_back(i, r.error());
    } else if (applied) {
      (*applied)[i] = std::move(r.value());
    }
  }
  return failures;
}

RunResult ApplyEngine::run(const std::vector<std::optional<KindStatePtr>>& want,
                           const std::vector<std::optional<KindStatePtr>>& previous, FailureMode mode,
                           Observations ahead) {
  RunResult out;
  // 1. observe, take the previous state, plan: every kind before anything is written.
  std::vector<KindPlan> plans;
  for (std::size_t i = 0; i < kinds_.size() && i < want.size(); ++i) {
    if (!want[i]) continue;
    KindRun run;
    run.index = i;
    auto fail = [&](const KindError& e) {
      run.error = e;
      run.error->written = false;  // nothing was written yet
      out.kinds.push_back(std::move(run));
    };
    auto observed = i < ahead.size() && ahead[i] ? std::move(*ahead[i]) : kinds_[i]->observe(*want[i]);
    if (!observed) {
      fail(observed.error());
      if (mode == FailureMode::AllOrNothing) return out;
      continue;
    }
    if (i < previous.size() && previous[i]) {
      run.previous = *previous[i];
    } else {
      auto adopted = kinds_[i]->adopt(*observed);
      if (!adopted) {
        fail(adopted.error());
        if (mode == FailureMode::AllOrNothing) return out;
        continue;
      }
      run.previous = *adopted;
    }
    auto p = kinds_[i]->plan(*want[i], *observed);
    if (!p) {
      fail(p.error());
      if (mode == FailureMode::AllOrNothing) return out;
      continue;
    }
    plans.push_back(std::move(p.value()));
    out.kinds.push_back(std::move(run));
  }

  // 2. apply in order; each kind reads back. 3. undo on failure.
  std::size_t planAt = 0;
  for (std::size_t r = 0; r < out.kinds.size(); ++r) {
    auto& run = out.kinds[r];
    if (run.error) continue;  // failed while planning (PerKind)
    KindPlan& plan = plans[planAt++];
    if (plan.inSync) {
      run.applied = KindApplied{std::move(plan), 0, 0, 0, {}};
      continue;
    }
    auto applied = kinds_[run.index]->apply(*want[run.index], plan);
    if (applied) {
      run.applied = std::move(applied.value());
      continue;
    }
    run.error = applied.error();
    std::vector<std::optional<KindStatePtr>> undo(kinds_.size());
    if (run.error->written) undo[run.index] = run.previous;
    if (mode == FailureMode::AllOrNothing) {
      for (std::size_t b = 0; b < r; ++b) {
        const auto& before = out.kinds[b];
        if (before.applied && !before.applied->plan.inSync) undo[before.index] = before.previous;
      }
    }
    auto failures = restore(undo);
    for (const auto& [i, e] : failures) out.restoreFailures.push_back(std::string(kinds_[i]->name()) + ": " + e.message);
    for (std::size_t b = 0; b <= r; ++b) {
      auto& k = out.kinds[b];
      k.restored = undo[k.index].has_value() &&
                   std::none_of(failures.begin(), failures.end(), [&](const auto& f) { return f.first == k.index; });
    }
    if (mode == FailureMode::AllOrNothing) {
      out.kinds.resize(r + 1);  // the kinds after the failure were not run
      return out;
    }
  }
  return out;
}

}  // namespace bulwark::engine
