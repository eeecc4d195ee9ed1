#pragma once
// The one apply engine of bulwarkctl (apply --direct) and bulwarkd (startup, reload, apply,
// rollback, confirm timeout, drift repair) over the registered resource kinds:
//
//   desired → observe → plan → apply in order → read back → undo on failure
//
// run() first observes and plans every kind it is asked to (nothing is written before every
// plan is made), then applies those not in sync, in the kinds' order; each kind's apply
// reads back. On a failure after a write, what was written goes back (see FailureMode).
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "resource_kind.h"

namespace bulwark::engine {

enum class FailureMode {
  // An explicit apply: the first failure stops the run, and every kind this run wrote goes
  // back to its previous state — the ones applied before and the failing one itself when it
  // failed after writing (KindError::written). A failure before the first write changes nothing.
  AllOrNothing,
  // Startup and reload: a failing kind goes back alone (if it wrote) and keeps its last good
  // state; the others go on.
  PerKind,
};

// One kind in one run. Neither applied nor error: planned, never run (all or nothing: a kind
// after it failed to observe or plan, so nothing was written).
struct KindRun {
  std::size_t index = 0;
  KindStatePtr previous;                // what it held before (given, or adopted from the kernel)
  std::optional<KindApplied> applied;   // the kind holds its desired state now
  std::optional<KindError> error;       // it failed (applied is then unset)
  bool restored = false;                // it was put back to `previous` after the failure
};

struct RunResult {
  std::vector<KindRun> kinds;                // the kinds the run took part in, in order
  std::vector<std::string> restoreFailures;  // "links: ..." for each undo that failed too
  [[nodiscard]] bool failed() const;
};

// What each kind's observe() returned before run() was called (bulwarkd's startup reads the
// kernel on a second thread while it loads the policy); an empty slot, or one past the end:
// run() observes that kind itself, as without it.
using Observations = std::vector<std::optional<KindResult<KindObservedPtr>>>;

class ApplyEngine {
 public:
  explicit ApplyEngine(std::vector<ResourceKindPtr> kinds);

  [[nodiscard]] std::size_t size() const { return kinds_.size(); }
  [[nodiscard]] ResourceKind& kind(std::size_t i) const { return *kinds_[i]; }

  // The desired state of every kind for `policy`, in the kinds' order.
  [[nodiscard]] std::vector<KindResult<KindStatePtr>> desired(const policies::Policy& policy) const;

  // observe + plan of one kind.
  struct Planned {
    KindObservedPtr observed;
    KindPlan plan;
  };
  [[nodiscard]] KindResult<Planned> plan(std::size_t i, const KindStatePtr& state);

  // Every kind's observe() without an expected state (so a whole reading, never "unchanged
  // since"), in the kinds' order: run()'s `ahead`. Any thread (observe's rules,
  // resource_kind.h); nothing is written.
  [[nodiscard]] Observations observeAll();

  // The cycle. want[i]: kind i's desired state (nullopt: leave the kind alone). previous[i]:
  // what kind i goes back to on failure (nullopt: adopt what is observed now). ahead[i]: kind
  // i's reading taken before the call (observeAll), planned against as if run() had read it;
  // the caller makes sure nothing was written since (a write's generation check still holds).
  [[nodiscard]] RunResult run(const std::vector<std::optional<KindStatePtr>>& want,
                              const std::vector<std::optional<KindStatePtr>>& previous, FailureMode mode,
                              Observations ahead = {});

  // One kind to `state`: observe, plan, apply if needed.
  [[nodiscard]] KindResult<KindApplied> applyOne(std::size_t i, const KindStatePtr& state);

  // Every kind given to its state (nullopt: leave alone), in reverse order (the undo of a
  // run); the kinds that failed, with their errors.
  // `applied` (optional): what each kind that was restored wrote (a rollback's firewall
  // change, for revocation).
  [[nodiscard]] std::vector<std::pair<std::size_t, KindError>> restore(
      const std::vector<std::optional<KindStatePtr>>& states,
      std::vector<std::optional<KindApplied>>* applied = nullptr);

 private:
  std::vector<ResourceKindPtr> kinds_;
};

}  // namespace bulwark::engine
