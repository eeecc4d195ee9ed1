#pragma once
// The daemon's side of reconciling: per resource kind the last good desired state, the
// current revision and its history, the audit trail, a pending commit-confirm, drift, and
// counters for the metrics. The cycle itself (desired → observe → plan → apply → read back →
// undo) is the apply engine's (gateway/engine/apply_engine.h), the one bulwarkctl apply
// --direct runs too. Every entry point (startup, reload, the control API, drift) goes
// through here; it runs on the event loop's thread only.
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit.h"
#include "bulwark/gateway/protocol.h"
#include "event_loop.h"
#include "history.h"
#include "job_worker.h"
#include "policy_input.h"
#include "apply_engine.h"
#include "bulwark/review/plan_review.h"
#include "kinds/firewall_kind.h"

namespace bulwark::daemon {

using engine::KindError;
using engine::KindPlan;
using engine::KindResult;
using engine::KindStatePtr;
using engine::ResourceKindPtr;

enum class DriftMode { Repair, Alert };

struct Actor {
  std::string who;
  long uid = -1;  // -1: the daemon itself
};

// The answer to one request: ok + body, or an error code, message and details.
struct Outcome {
  bool ok = true;
  gateway::ErrorCode code = gateway::ErrorCode::Internal;
  std::string message;
  std::vector<std::string> details;
  nlohmann::json body = nlohmann::json::object();
  // What the firewall kind changed (for revocation, which the caller starts: not sent).
  std::optional<engine::FirewallChange> firewallChange = std::nullopt;

  static Outcome success(nlohmann::json body) { return Outcome{true, {}, {}, {}, std::move(body)}; }
  static Outcome failure(gateway::ErrorCode c, std::string m, std::vector<std::string> d = {}) {
    return Outcome{false, c, std::move(m), std::move(d), nlohmann::json::object()};
  }
};

struct ReconcilerStats {
  std::uint64_t appliesOk = 0;
  std::uint64_t appliesFailed = 0;
  double applySecondsSum = 0;
  double lastApplySeconds = 0;
  std::uint64_t driftDetected = 0;
  std::uint64_t driftRepairs = 0;
  std::uint64_t rollbacks = 0;
  std::uint64_t revocations = 0;         // revocation passes run
  std::uint64_t revocationFailures = 0;  // passes that could not read the table, or a delete failed
  std::uint64_t revokedConnections = 0;  // conntrack entries deleted
  double lastRevocationSeconds = 0;      // dump + judge + delete of the last pass
};

// The CPU-heavy half of plan/apply/rollback/reload: load, validate, and each kind's desired
// state (the engine's desired(), const and pure). It touches no Reconciler state, so it runs
// on the policy worker (job_worker.h) while the loop answers status and confirm.
struct PreparedPolicy {
  PolicyInput input;                                // with its hash
  bool valid = false;                               // loaded and validated without errors
  std::size_t errorCount = 0;
  std::vector<std::string> diagnostics;             // "file:line:col: ..." (at most kMaxDiagnosticLines)
  std::vector<KindResult<KindStatePtr>> desired;    // per kind, in order, when valid
  std::shared_ptr<const policies::Policy> policy;   // only when asked for (the dir's settings)
};
inline constexpr std::size_t kMaxDiagnosticLines = 1000;  // in one reply; then "... N more"
// The review in a plan reply: enough for a person to read, bounded for the reply's size.
inline constexpr review::ReviewLimits kPlanReviewLimits{};  // 200 changes, 50 groups of 50 lines

class PolicyPreparer {
 public:
  explicit PolicyPreparer(engine::ApplyEngine& engine) : engine_(&engine) {}
  // Any thread. keepPolicy: also hand back the loaded model (for onDirPolicy).
  [[nodiscard]] PreparedPolicy prepare(PolicyInput in, bool keepPolicy = false) const;
  // Any thread: prepare, then the engine's plan() of each kind (observe + plan; kinds allow
  // that off the loop, see engine/resource_kind.h). The reply body of the `plan` op.
  // `kept`: the caller's own connections, which the revocation count leaves out as the
  // apply would (its SSH session, its TLS connection).
  // `applied`: the running revision's policy (Reconciler::appliedPolicy); when given, the
  // reply's "review" says the change in policy terms and its effect (review/plan_review.h,
  // capped by kPlanReviewLimits) before the kinds' plans.
  [[nodiscard]] Outcome plan(PolicyInput in, std::vector<engine::KeptFlow> kept = {},
                             std::optional<review::AppliedPolicy> applied = std::nullopt) const;

 private:
  engine::ApplyEngine* engine_;  // the Reconciler's, which outlives every job
};

// An apply that is one half of an HA pair's apply (peer_link.h): recorded under the pair's
// revision number, held in a confirm window, and confirmed or aborted by the pair's commit.
struct PairApply {
  int revision = 0;
  std::string peer;  // the other node's name
};

class Reconciler {
 public:
  Reconciler(EventLoop& loop, std::filesystem::path policyDir, History history, AuditLog audit,
             std::vector<ResourceKindPtr> kinds, DriftMode driftMode);

  // Load the policy dir; adopt what already matches, apply what does not (per kind).
  Outcome startup();  // on the loop, before anything is served

  // Called with the policy dir's policy each time startup or reload has loaded and validated
  // it (before the kinds are reconciled, so also when one of them then fails). Settings that
  // are not a resource kind (gateway.control, for the TLS listener) are taken from this same
  // load: parsing a large policy takes tens of MB of heap, and a second parse only to read
  // them doubled the daemon's resident size after startup. Also called at a startup that
  // resumed a pending confirm and at a reload refused because a confirm is pending (the dir
  // is loaded for its settings only). Not called when the dir fails to load or validate, or
  // for an apply of other sources (API, rollback).
  void onDirPolicy(std::function<void(const policies::Policy&)> fn) { onDirPolicy_ = std::move(fn); }

  // For jobs on the policy worker (prepare, plan) and the dir they read.
  [[nodiscard]] PolicyPreparer preparer();
  [[nodiscard]] const std::filesystem::path& policyDir() const { return policyDir_; }
  // The kinds this daemon runs, in order (what a request's `parts` may name).
  [[nodiscard]] std::vector<std::string> kindNames() const;

  // The loop halves of the changing operations, given what the worker prepared.
  Outcome apply(PreparedPolicy prepared, const Actor& actor, std::optional<int> confirmSeconds,
                const PairApply* pair = nullptr);
  // A reload of the dir: `read` is readPolicyDir's result (the read failed: recorded as such).
  Outcome reload(gateway::Result<PreparedPolicy> read, const Actor& actor);
  // An HA pair's node reloading a policy dir that differs from the running revision: this
  // node's half of the pair apply of its content (all or nothing, as apply()), audited as
  // `reload`; the dir's settings (onDirPolicy) follow it as after any reload.
  Outcome pairReload(PreparedPolicy prepared, const Actor& actor, int confirmSeconds, const PairApply& pair);
  // `revision`: only when the pending apply is that revision (the pair's commit).
  Outcome confirm(const Actor& actor, std::optional<int> revision = std::nullopt);
  // The pending apply `revision` rolled back now (the pair's abort: the other half failed).
  Outcome abortPending(int revision, const Actor& actor, const std::string& why);
  // The pending apply is one half of a pair apply: the other node's name (empty: not).
  [[nodiscard]] std::string pendingPairPeer() const { return pending_ ? pending_->pairPeer : std::string(); }
  [[nodiscard]] std::optional<int> pendingRevision() const {
    return pending_ ? std::optional<int>(pending_->revision) : std::nullopt;
  }
  // The highest revision number in the history (0: none).
  [[nodiscard]] int latestRevisionNumber() const { return history_.latest() ? history_.latest()->number : 0; }
  // The sources of a recorded revision (loop: history is the loop's), to prepare on the worker.
  [[nodiscard]] gateway::Result<PolicyInput> revisionInput(int revision) const;
  // Where revision N's record is (to read on the worker: History::loadFile); nullopt: none.
  [[nodiscard]] std::optional<std::filesystem::path> revisionFile(int revision) const {
    return history_.fileIfRecorded(revision);
  }
  // The running revision's recorded policy (loop: reads its history record), what a plan's
  // review compares against; unknown (with why) before the first revision or when its
  // record cannot be read.
  [[nodiscard]] review::AppliedPolicy appliedPolicy() const;
  Outcome rollback(int revision, PreparedPolicy prepared, const Actor& actor);
  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] nlohmann::json history(std::size_t limit) const;

  // Compare every kind with its last good state; repair or alert (drift watcher, timers).
  void checkDrift(const std::string& reason);

  // Revocation (gateway/engine/revocation.h) runs on this worker (the policy worker); until
  // it is set nothing is cut.
  void revokeOn(JobWorker& jobs) { jobs_ = &jobs; }
  // Cut the established connections `change` no longer allows, off the loop; audited
  // (`revoke`, the count and the first flows) and counted. `done` (loop; may be empty) gets
  // the report as JSON. `kept`: the session the change came through.
  void revoke(engine::FirewallChange change, std::vector<engine::KeptFlow> kept, const Actor& actor,
              std::function<void(nlohmann::json)> done);

  [[nodiscard]] const ReconcilerStats& stats() const { return stats_; }
  [[nodiscard]] bool pendingConfirm() const { return pending_.has_value(); }
  // When a pending confirm rolls back (monotonic clock); nullopt when none is pending.
  [[nodiscard]] std::optional<Clock::time_point> confirmDeadline() const {
    return pending_ ? std::optional<Clock::time_point>(pending_->deadline) : std::nullopt;
  }
  [[nodiscard]] int currentRevision() const { return currentRevision_; }
  [[nodiscard]] const std::string& currentHash() const { return currentHash_; }
  // The last good state of the kind named `kind` (null: none, or no such kind).
  [[nodiscard]] KindStatePtr currentState(std::string_view kind) const;
  AuditLog& audit() { return audit_; }

 private:
  struct Slot {
    KindStatePtr current;     // last good state (null + known: Bulwark owns nothing)
    bool known = false;       // false: never applied/adopted by this daemon
    std::string lastError;
    std::string lastDrift;    // last drift alerted (alert mode: said once)
  };
  struct Pending {
    int revision = 0;
    int previousRevision = 0;
    std::string previousHash;
    std::vector<std::optional<KindStatePtr>> previous;  // nullopt: kind not touched
    Clock::time_point deadline;
    EventLoop::TimerId timer = 0;
    std::string who;
    std::chrono::system_clock::time_point wallDeadline;  // the same deadline, for pending.json
    bool resumed = false;  // re-armed from pending.json after a restart
    std::string pairPeer;  // one half of a pair apply with this node (confirm goes to both)
  };
  enum class Mode { PerKind, AllOrNothing };
  // A pair apply's revision number must be above this node's history (else refused).
  [[nodiscard]] std::optional<Outcome> pairRevisionTaken(const PairApply& pair) const;

  // fromDir: `prepared` is the policy dir (startup, reload): onDirPolicy_ sees its model.
  // ahead: the kinds' readings being taken on another thread (startup), waited for here.
  Outcome reconcile(PreparedPolicy prepared, const Actor& actor, Mode mode, const std::string& event,
                    std::optional<int> confirmSeconds, bool fromDir = false, const PairApply* pair = nullptr,
                    std::future<engine::Observations>* ahead = nullptr);
  void confirmTimedOut();
  // The pending apply undone: its previous state restored, audited as `event` by `who`.
  void rollBackPending(const std::string& event, const std::string& who, const std::string& summary);
  // The pending confirm on disk (STATE/pending.json), so it outlives the daemon: written when
  // an apply starts waiting, removed when it is confirmed, rolled back or superseded.
  void persistPending();
  void clearPending();
  // Startup with STATE/pending.json: the kernel holds the pending revision; adopt it and
  // re-arm the timer, or roll back right away if the deadline passed while the daemon was
  // down. nullopt: nothing pending (or unusable: audited, then a normal startup).
  std::optional<Outcome> resumePending();
  // Re-apply `states` (one per kind, nullopt = leave alone); returns the kinds that failed.
  // `firewallChange`: set when the firewall was re-applied (for revocation).
  std::vector<std::string> restore(const std::vector<std::optional<KindStatePtr>>& states,
                                   std::optional<engine::FirewallChange>* firewallChange = nullptr);

  [[nodiscard]] std::string_view kindName(std::size_t i) const { return engine_.kind(i).name(); }
  void submitRevocation(JobWorker::Job job);

  EventLoop& loop_;
  std::filesystem::path policyDir_;
  History history_;
  AuditLog audit_;
  engine::ApplyEngine engine_;
  std::vector<Slot> slots_;  // one per kind of the engine
  DriftMode driftMode_;
  int currentRevision_ = 0;
  std::string currentHash_;
  std::optional<Pending> pending_;
  ReconcilerStats stats_;
  std::string policyError_;  // last load/validation failure of the policy dir
  std::function<void(const policies::Policy&)> onDirPolicy_;
  JobWorker* jobs_ = nullptr;
};

}  // namespace bulwark::daemon
