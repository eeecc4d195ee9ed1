#pragma once
// One kind of resource the apply engine reconciles (firewall table, links, VPN config; next
// keepalived, conntrackd). Every kind has the same cycle, each step its own call, so the
// engine runs them in order without knowing what they are:
//
//   desired(policy)        pure: the policy → the kind's desired state (opaque to the engine)
//   observe(expected)      read what the kernel (or charon) holds of this kind
//   plan(state, observed)  compare: what apply would change, for people and for apply
//   apply(state, plan)     write the plan, then read back: the kernel must now hold `state`
//   adopt(observed)        what was observed, as a state to apply again later (undo, rollback)
//
// Threads: desired(), observe() and plan() may also run on bulwarkd's policy worker thread (a
// `plan` request observes and plans off the loop) while the loop calls observe/plan/apply for
// a drift check or an apply; each call opens its own kernel or charon socket, and a kind
// keeps no mutable state that is not guarded. apply() and adopt() run on the loop only.
//
// A null state means "Bulwark owns nothing of this kind" (e.g. no table before the first
// apply): applying it removes what Bulwark owns. A kind is one file implementing this
// interface plus one line in kinds.cpp (registeredKinds).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/base/result.h"
#include "bulwark/policies/model.h"

namespace bulwark::engine {

// A kind's desired state, and what it observed: opaque to the engine, shared so that a
// state can be kept (last good, pending confirm) while a run uses it.
class KindState {
 public:
  virtual ~KindState() = default;
};
using KindStatePtr = std::shared_ptr<const KindState>;

class KindObserved {
 public:
  virtual ~KindObserved() = default;
};
using KindObservedPtr = std::shared_ptr<const KindObserved>;

struct KindPlan {
  bool inSync = true;
  bool incremental = false;           // applied without a full replacement
  bool partial = false;               // parts rewritten, not all replaced (the firewall: chains)
  std::vector<std::string> changes;   // one line each, human readable
  std::vector<std::string> commands;  // the plan as commands (nft syntax for the firewall)
  // How the kind read what it planned against, for the drift audit (the firewall: "whole
  // table", or "1 chain, 0 sets" when only what the events named was read); empty: not said.
  std::string read;
  // The kind's own plan (diff, ops) for its apply(); null when in sync.
  std::shared_ptr<const void> detail;
};

struct KindApplied {
  KindPlan plan;       // what was changed (inSync: nothing needed)
  double millis = 0;   // time spent writing
  std::size_t messages = 0;
  std::size_t bytes = 0;
  std::string counts;  // how it was written, for people: "12 netlink messages, 3 sysctls"
  // The kind's own record of the change, for what follows a write (the firewall's:
  // firewallChange(), what revocation judges by); null when in sync.
  std::shared_ptr<const void> written = nullptr;
};

struct KindError {
  // What a caller can do about it, and the control API's error code: the policy must change
  // (invalid_policy), this machine lacks something the policy needs -- PKI files, charon, the
  // trunk interface, the node's name (unavailable) -- or the kernel refused (kernel).
  enum class Cause { Kernel, Policy, Unavailable };
  std::string message;
  std::vector<std::string> details;  // e.g. file:line:col diagnostics
  // The failure came after a write to the kernel (or charon): what this kind held before
  // must be restored. False: nothing of this kind was changed.
  bool written = false;
  // desired() failures count as Policy unless they say Unavailable (apply_engine's causeOf).
  Cause cause = Cause::Kernel;
};

template <typename T>
using KindResult = Result<T, KindError>;

class ResourceKind {
 public:
  virtual ~ResourceKind() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual KindResult<KindStatePtr> desired(const policies::Policy& policy) const = 0;
  // `expected`: the state the caller will plan against; a kind may use it to answer
  // "unchanged since it last read exactly this back" without reading everything.
  [[nodiscard]] virtual KindResult<KindObservedPtr> observe(const KindStatePtr& expected) = 0;
  [[nodiscard]] virtual KindResult<KindPlan> plan(const KindStatePtr& state, const KindObservedPtr& observed) = 0;
  [[nodiscard]] virtual KindResult<KindApplied> apply(const KindStatePtr& state, const KindPlan& plan) = 0;
  [[nodiscard]] virtual KindResult<KindStatePtr> adopt(const KindObservedPtr& observed) = 0;
};
using ResourceKindPtr = std::unique_ptr<ResourceKind>;

}  // namespace bulwark::engine
