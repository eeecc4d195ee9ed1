#pragma once
// One kind of resource the daemon reconciles (firewall table, links, VPN config). Every kind
// has the same shape, so the reconcile loop runs them in order without knowing what they are:
//
//   desired(policy)  pure: policy → the kind's desired state (opaque to the daemon)
//   plan(state)      observe the kernel (or charon), diff against `state`: what would change
//   apply(state)     observe, diff, write, read back; all or nothing for this kind
//
// Threads: desired() and plan() may also run on the policy worker thread (job_worker.h: a
// `plan` request observes and diffs off the loop) while the loop calls plan()/apply() for a
// drift check or an apply; each call opens its own kernel or charon socket, and a kind keeps no
// mutable state that is not guarded. apply() and adoptObserved() run on the loop only.
//
// A null state means "Bulwark owns nothing of this kind" (e.g. no table before the first
// apply): applying it removes what Bulwark owns. The daemon keeps the last state each kind
// applied successfully ("last good"), which is what commit-confirm restores and what drift is
// repaired to.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/gateway/result.h"
#include "bulwark/policies/model.h"

namespace bulwark::daemon {

class KindState {
 public:
  virtual ~KindState() = default;
};
using KindStatePtr = std::shared_ptr<const KindState>;

struct KindPlan {
  bool inSync = true;
  bool incremental = false;           // applied without a full replacement
  std::vector<std::string> changes;   // one line each, human readable
  std::vector<std::string> commands;  // the plan as commands (nft syntax for the firewall)
};

struct KindApplied {
  KindPlan plan;       // what was changed (inSync: nothing needed)
  double millis = 0;   // time spent writing
  std::size_t messages = 0;
  std::size_t bytes = 0;
};

struct KindError {
  std::string message;
  std::vector<std::string> details;  // e.g. file:line:col diagnostics
};

template <typename T>
using KindResult = bulwark::Result<T, KindError>;

class ResourceKind {
 public:
  virtual ~ResourceKind() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual KindResult<KindStatePtr> desired(const policies::Policy& policy) const = 0;
  [[nodiscard]] virtual KindResult<KindPlan> plan(const KindStatePtr& state) = 0;
  [[nodiscard]] virtual KindResult<KindApplied> apply(const KindStatePtr& state) = 0;
  // What the kernel holds now, as a state this kind can apply again later (for a rollback
  // when the daemon has no last-good state of its own yet).
  [[nodiscard]] virtual KindResult<KindStatePtr> adoptObserved() = 0;
};
using ResourceKindPtr = std::unique_ptr<ResourceKind>;

}  // namespace bulwark::daemon
