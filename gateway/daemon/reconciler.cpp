#include "reconciler.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "policy_check.h"

namespace bulwark::daemon {

namespace {

constexpr std::size_t kMaxDetailLines = 200;
constexpr std::size_t kAuditedFlows = 5;  // flows named in a `revoke` audit entry

std::string kindSummary(std::string_view kind, const KindPlan& p) {
  std::ostringstream s;
  s << kind << ": ";
  if (p.inSync) {
    s << "in sync";
  } else {
    s << p.changes.size() << " change(s)"
      << (p.incremental ? " as set element updates"
          : p.partial   ? " as a rewrite of the changed chains"
                        : " as one atomic replacement");
  }
  return s.str();
}

nlohmann::json limitedLines(const std::vector<std::string>& lines) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < lines.size() && i < kMaxDetailLines; ++i) out.push_back(lines[i]);
  if (lines.size() > kMaxDetailLines) out.push_back("... " + std::to_string(lines.size() - kMaxDetailLines) + " more");
  return out;
}

std::string joinSummaries(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s.empty() ? "nothing to do" : s;
}

// A request's `parts` (policy_input.h): kind `kind` is planned/applied (every kind when empty).
bool wantedPart(const std::vector<std::string>& parts, std::string_view kind) {
  return parts.empty() || std::find(parts.begin(), parts.end(), kind) != parts.end();
}

// The kinds' failures of one plan or apply, all of them (a plan reports every error the apply
// would hit), and the one error code a client acts on: invalid_policy (the policy must
// change) over unavailable (this machine lacks something) over kernel.
struct KindFailures {
  // desired: the failure came from the kind's desired() (the policy's, unless Unavailable).
  void add(std::string_view kind, const KindError& e, bool desired);
  [[nodiscard]] bool empty() const { return summaries.empty(); }
  [[nodiscard]] Outcome outcome(const std::string& suffix) const;  // "kind: message; ..." + suffix
  gateway::ErrorCode code = gateway::ErrorCode::Kernel;
  std::vector<std::string> summaries;  // "kind: message"
  std::vector<std::string> lines;      // the summaries, each with its details below it
};

void KindFailures::add(std::string_view kind, const KindError& e, bool desired) {
  using Cause = KindError::Cause;
  using gateway::ErrorCode;
  // A desired state that cannot be made is the policy's fault, unless this machine lacks
  // something; later steps are the kernel's (or charon's) unless the kind says otherwise.
  const ErrorCode c = e.cause == Cause::Unavailable         ? ErrorCode::Unavailable
                      : desired || e.cause == Cause::Policy ? ErrorCode::InvalidPolicy
                                                            : ErrorCode::Kernel;
  // The code a client acts on first: fix the policy, then the machine, then look at the kernel.
  auto rank = [](ErrorCode x) { return x == ErrorCode::InvalidPolicy ? 3 : x == ErrorCode::Unavailable ? 2 : 1; };
  if (summaries.empty() || rank(c) > rank(code)) code = c;
  summaries.push_back(std::string(kind) + ": " + e.message);
  lines.push_back(summaries.back());
  for (const auto& d : e.details) lines.push_back("  " + d);
}

Outcome KindFailures::outcome(const std::string& suffix) const {
  return Outcome::failure(code, joinSummaries(summaries) + suffix, lines);
}

}  // namespace

Reconciler::Reconciler(EventLoop& loop, std::filesystem::path policyDir, History history, AuditLog audit,
                       std::vector<ResourceKindPtr> kinds, DriftMode driftMode)
    : loop_(loop),
      policyDir_(std::move(policyDir)),
      history_(std::move(history)),
      audit_(std::move(audit)),
      engine_(std::move(kinds)),
      slots_(engine_.size()),
      driftMode_(driftMode) {}

namespace {

nlohmann::json kindPlanJson(std::string_view kind, const KindPlan& kp) {
  return {{"kind", kind},
          {"in_sync", kp.inSync},
          {"incremental", kp.incremental},
          {"partial", kp.partial},
          {"changes", kp.changes},
          {"commands", kp.commands}};
}

}  // namespace

PreparedPolicy PolicyPreparer::prepare(PolicyInput in, bool keepPolicy) const {
  PreparedPolicy out;
  out.input = withHash(std::move(in));
  auto loaded = loadAndValidate(out.input);
  const auto& items = loaded.diagnostics.items();
  for (std::size_t i = 0; i < items.size() && i < kMaxDiagnosticLines; ++i) out.diagnostics.push_back(items[i].str());
  if (items.size() > kMaxDiagnosticLines) {
    out.diagnostics.push_back("... " + std::to_string(items.size() - kMaxDiagnosticLines) + " more");
  }
  out.errorCount = loaded.diagnostics.errorCount();
  out.valid = loaded.ok();
  if (!out.valid) return out;
  out.desired = engine_->desired(loaded.policy);
  if (keepPolicy) out.policy = std::make_shared<const policies::Policy>(std::move(loaded.policy));
  return out;
}

Outcome PolicyPreparer::plan(PolicyInput in, std::vector<engine::KeptFlow> kept,
                             std::optional<review::AppliedPolicy> applied) const {
  auto p = prepare(std::move(in));
  if (!p.valid) {
    return Outcome::failure(gateway::ErrorCode::InvalidPolicy,
                            "invalid policy: " + std::to_string(p.errorCount) + " error(s)", p.diagnostics);
  }
  nlohmann::json kinds = nlohmann::json::array();
  bool inSync = true;
  // Every error the apply would hit, not only the first (each kind is planned regardless).
  KindFailures failures;
  for (std::size_t i = 0; i < engine_->size(); ++i) {
    const auto name = engine_->kind(i).name();
    const bool wanted = wantedPart(p.input.parts, name);
    if (!p.desired[i].ok()) {
      // A part left out is not planned; but the policy's own errors count whatever the parts.
      const auto& e = p.desired[i].error();
      if (wanted || e.cause == KindError::Cause::Policy) failures.add(name, e, true);
      continue;
    }
    if (!wanted) continue;
    auto kp = engine_->plan(i, p.desired[i].value());
    if (!kp.ok()) {
      failures.add(name, kp.error(), false);
      continue;
    }
    const auto& plan = kp->plan;
    inSync = inSync && plan.inSync;
    kinds.push_back(kindPlanJson(name, plan));
    // How many live connections the change would cut (a dry run of revocation, here on the
    // policy worker like the rest of the plan).
    if (auto change = engine::firewallChange(plan, p.desired[i].value())) {
      engine::RevocationOptions o;
      o.dryRun = true;
      o.kept = kept;
      if (auto r = engine::revokeChange(*change, o)) {
        kinds.back()["revocation"] = *r ? engine::revocationJson(r->value()) : nlohmann::json{{"error", r->error().message}};
      }
    }
  }
  if (!failures.empty()) return failures.outcome("");
  nlohmann::json body{{"in_sync", inSync}, {"policy_hash", p.input.hash}, {"kinds", kinds}, {"warnings", p.diagnostics}};
  if (!p.input.parts.empty()) body["parts"] = p.input.parts;
  if (applied) {
    const auto label = p.input.origin == "payload" ? std::string("proposed") : p.input.origin;
    body["review"] = review::planReview(*applied, {label, p.input.sources}, kPlanReviewLimits);
  }
  return Outcome::success(std::move(body));
}

PolicyPreparer Reconciler::preparer() { return PolicyPreparer(engine_); }

std::vector<std::string> Reconciler::kindNames() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < slots_.size(); ++i) out.emplace_back(kindName(i));
  return out;
}

Outcome Reconciler::startup() {
  if (auto resumed = resumePending()) {
    // The kernel keeps the pending revision, but the dir's settings outside the kinds (the
    // TLS listener) still follow the dir.
    if (auto in = readPolicyDir(policyDir_); in && onDirPolicy_) {
      auto p = preparer().prepare(std::move(*in), true);
      if (p.valid && p.policy) onDirPolicy_(*p.policy);
    }
    return *resumed;
  }
  auto in = readPolicyDir(policyDir_);
  if (!in) {
    policyError_ = in.error().message;
    audit_.record({"startup-failed", "bulwarkd", -1, 0, "", policyError_, false, {}});
    return Outcome::failure(gateway::ErrorCode::InvalidPolicy, policyError_);
  }
  // The revision whose policy the kernel already holds: reuse its number instead of
  // recording the same policy again after a restart.
  // The newest such revision that was not rolled back (later ones may have been, e.g. an
  // unconfirmed apply on top of it).
  for (const auto& r : history_.list(std::numeric_limits<std::size_t>::max())) {
    if (r.hash == in->hash && r.status != "rolled-back") {
      currentRevision_ = r.number;
      currentHash_ = r.hash;
      break;
    }
  }
  // The kernel is read on a second thread while this one loads, validates and compiles the
  // policy (at 10,000 rules each takes a good part of a second): the reading does not depend
  // on the policy, and nothing is written before the plan is made against it, so it is the
  // reading run() would take after the load. Its generation still locks the write.
  // (No thread to be had: read in run() as before.)
  auto ahead = std::async(std::launch::async | std::launch::deferred, [this] { return engine_.observeAll(); });
  return reconcile(preparer().prepare(std::move(*in), true), Actor{"bulwarkd (startup)", -1}, Mode::PerKind,
                   "startup", std::nullopt, true, nullptr, &ahead);
}

Outcome Reconciler::reload(gateway::Result<PreparedPolicy> read, const Actor& actor) {
  if (!read) {
    policyError_ = read.error().message;
    audit_.record({"reload-failed", actor.who, actor.uid, currentRevision_, currentHash_, policyError_, false, {}});
    return Outcome::failure(gateway::ErrorCode::InvalidPolicy, policyError_);
  }
  // A pending confirm refuses the reload of the kinds (reconcile answers Conflict), but the
  // dir's own settings (TLS listener) still follow the dir, as they did when main re-read the
  // dir after every reload.
  if (pending_ && onDirPolicy_ && read->valid && read->policy) onDirPolicy_(*read->policy);
  return reconcile(std::move(*read), actor, Mode::PerKind, "reload", std::nullopt, true);
}

std::optional<Outcome> Reconciler::pairRevisionTaken(const PairApply& pair) const {
  if (pair.revision > latestRevisionNumber()) return std::nullopt;
  // Refused before anything is written: the pair's two histories must keep one numbering.
  return Outcome::failure(gateway::ErrorCode::Conflict,
                          "revision " + std::to_string(pair.revision) + " is taken on this node (its latest is " +
                              std::to_string(latestRevisionNumber()) + "); nothing was changed");
}

Outcome Reconciler::apply(PreparedPolicy prepared, const Actor& actor, std::optional<int> confirmSeconds,
                          const PairApply* pair) {
  if (pair) {
    if (auto taken = pairRevisionTaken(*pair)) return *taken;
  }
  return reconcile(std::move(prepared), actor, Mode::AllOrNothing, "apply", confirmSeconds, false, pair);
}

Outcome Reconciler::pairReload(PreparedPolicy prepared, const Actor& actor, int confirmSeconds,
                               const PairApply& pair) {
  if (auto taken = pairRevisionTaken(pair)) return *taken;
  return reconcile(std::move(prepared), actor, Mode::AllOrNothing, "reload", confirmSeconds, true, &pair);
}

Outcome Reconciler::reconcile(PreparedPolicy prepared, const Actor& actor, Mode mode, const std::string& event,
                              std::optional<int> confirmSeconds, bool fromDir, const PairApply* pair,
                              std::future<engine::Observations>* ahead) {
  if (pending_ && event != "rollback") {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(pending_->deadline - Clock::now()).count();
    return Outcome::failure(gateway::ErrorCode::Conflict,
                            "revision " + std::to_string(pending_->revision) + " awaits confirmation (" +
                                std::to_string(left) + " s left): confirm or rollback first");
  }
  const PolicyInput& input = prepared.input;
  const std::size_t n = slots_.size();
  std::vector<std::optional<KindStatePtr>> desired(n);
  std::vector<std::string> failures;
  std::vector<std::string> diags = std::move(prepared.diagnostics);
  if (!prepared.valid) {
    auto msg = "invalid policy: " + std::to_string(prepared.errorCount) + " error(s); nothing was changed";
    if (mode == Mode::PerKind) policyError_ = msg;
    audit_.record({event + "-rejected", actor.who, actor.uid, currentRevision_, input.hash, msg, false, {}});
    return Outcome::failure(gateway::ErrorCode::InvalidPolicy, msg, diags);
  }
  if (mode == Mode::PerKind) policyError_.clear();
  if (fromDir && onDirPolicy_ && prepared.policy) onDirPolicy_(*prepared.policy);
  // The model was only needed for the settings above: freed before the kernel work.
  prepared.policy.reset();

  KindFailures unusable;  // kinds whose desired state cannot be made (AllOrNothing: all of them named)
  for (std::size_t i = 0; i < n && i < prepared.desired.size(); ++i) {
    auto& d = prepared.desired[i];
    const bool wanted = wantedPart(input.parts, kindName(i));
    if (d.ok()) {
      if (wanted) desired[i] = d.value();  // a part left out keeps what it holds
      continue;
    }
    const auto& e = d.error();
    // The policy's own errors count whatever the parts (as in plan).
    if (!wanted && e.cause != KindError::Cause::Policy) continue;
    if (mode == Mode::AllOrNothing) {
      unusable.add(kindName(i), e, true);
      continue;
    }
    slots_[i].lastError = e.message;
    failures.push_back(std::string(kindName(i)) + ": " + e.message);
  }
  if (!unusable.empty()) {
    audit_.record({event + "-rejected", actor.who, actor.uid, currentRevision_, input.hash,
                   joinSummaries(unusable.summaries), false, {}});
    return unusable.outcome("; nothing was changed");
  }
  prepared.desired.clear();

  // What each kind returns to if this apply is not confirmed (or fails half way): its last
  // good state, or (never applied by this daemon) what the engine observes before writing.
  std::vector<std::optional<KindStatePtr>> previous(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (desired[i] && slots_[i].known) previous[i] = slots_[i].current;
  }
  auto run = engine_.run(desired, previous,
                         mode == Mode::AllOrNothing ? engine::FailureMode::AllOrNothing : engine::FailureMode::PerKind,
                         ahead ? ahead->get() : engine::Observations{});

  nlohmann::json kinds = nlohmann::json::array();
  std::vector<std::string> summaries;
  std::vector<std::size_t> changed;
  double seconds = 0;
  bool failed = false;
  KindFailures runFailures;  // the kinds that failed in the run: lines and code of the reply
  std::vector<std::optional<KindStatePtr>> touched(n);  // the previous state of each kind run
  std::optional<engine::FirewallChange> fwChange;
  for (const auto& k : run.kinds) {
    const std::size_t i = k.index;
    auto& slot = slots_[i];
    if (k.restored) {
      // Put back to what it held before this run (the engine's undo after a failure).
      slot.current = k.previous;
      slot.known = true;
    }
    if (k.error) {
      const auto& e = *k.error;
      failed = true;
      runFailures.add(kindName(i), e, false);
      slot.lastError = e.message;
      failures.push_back(std::string(kindName(i)) + ": " + e.message);
      continue;  // this kind keeps its last good state; the others go on (PerKind)
    }
    // Planned but never written: a later kind failed to observe or plan, and an all-or-nothing
    // run stops before any write (the engine returns these without `applied`).
    if (!k.applied) continue;
    touched[i] = k.previous;
    if (k.restored) continue;
    const auto& a = *k.applied;
    if (!a.plan.inSync && !fwChange) fwChange = engine::firewallChange(a, *desired[i]);
    slot.current = *desired[i];
    slot.known = true;
    slot.lastError.clear();
    slot.lastDrift.clear();
    if (!a.plan.inSync) changed.push_back(i);
    seconds += a.millis / 1000.0;
    summaries.push_back(kindSummary(kindName(i), a.plan));
    kinds.push_back({{"kind", kindName(i)},
                     {"changed", !a.plan.inSync},
                     {"incremental", a.plan.incremental},
                     {"partial", a.plan.partial},
                     {"changes", limitedLines(a.plan.changes)},
                     {"commands", limitedLines(a.plan.commands)},
                     {"millis", a.millis},
                     {"messages", a.messages},
                     {"bytes", a.bytes}});
  }

  if (failed && mode == Mode::AllOrNothing) {
    // The engine put every kind this apply wrote back where it was (the failing one included
    // when it failed after writing): all or nothing.
    auto errorLines = std::move(runFailures.lines);
    for (const auto& f : run.restoreFailures) errorLines.push_back("undo failed: " + f);
    ++stats_.appliesFailed;
    audit_.record({event + "-failed", actor.who, actor.uid, currentRevision_, input.hash, joinSummaries(failures),
                   false, {{"errors", limitedLines(errorLines)}}});
    return Outcome::failure(runFailures.code, joinSummaries(failures), errorLines);
  }
  if (!changed.empty()) {
    ++stats_.appliesOk;
    stats_.applySecondsSum += seconds;
    stats_.lastApplySeconds = seconds;
  }
  if (failed) ++stats_.appliesFailed;

  nlohmann::json body{{"kinds", kinds}, {"warnings", diags}, {"policy_hash", input.hash}, {"changed", !changed.empty()}};
  if (!failures.empty()) body["failures"] = failures;
  if (!input.parts.empty()) body["parts"] = input.parts;
  if (changed.empty() && input.hash == currentHash_ && pair == nullptr) {
    body["revision"] = currentRevision_;
    body["summary"] = "in sync, nothing to apply";
    if (confirmSeconds) body["note"] = "nothing changed, so there is nothing to confirm";
    return Outcome::success(std::move(body));
  }

  Revision rev;
  rev.hash = input.hash;
  rev.who = actor.who;
  rev.uid = actor.uid;
  rev.gitCommit = input.gitCommit;
  rev.origin = input.origin;
  rev.summary = joinSummaries(summaries);
  // A pair apply is always held in its window (its commit is the pair's), even when this
  // node's half changed nothing: both nodes then record the same revision.
  bool wantConfirm = confirmSeconds && (!changed.empty() || pair != nullptr);
  rev.status = wantConfirm ? "pending" : "applied";
  rev.sources = input.sources;
  rev.parts = input.parts;
  if (pair) rev.origin += " (pair apply with " + pair->peer + ")";
  int previousRevision = currentRevision_;
  std::string previousHash = currentHash_;
  // A start that finds the kernel without the policy of the revision it last ran (a reboot:
  // empty tables) writes it again, but that is still the same revision, not a new one: an HA
  // node coming back keeps the numbering it shares with its peer (a new number here would put
  // the pair out of sync after every reboot). startup() set currentHash_ from the history.
  const bool sameRevision = event == "startup" && pair == nullptr && !currentHash_.empty() && input.hash == currentHash_;
  if (!sameRevision) {
    auto num = history_.record(std::move(rev), pair ? pair->revision : 0);
    if (num) {
      currentRevision_ = *num;
    } else {
      body["history_error"] = num.error().message;
    }
  }
  currentHash_ = input.hash;

  nlohmann::json detail{{"changes", nlohmann::json::array()}};
  for (auto i : changed) {
    for (const auto& k : kinds) {
      if (k["kind"] == kindName(i)) detail["changes"].push_back({{"kind", k["kind"]}, {"changes", k["changes"]}});
    }
  }
  if (!input.gitCommit.empty()) detail["git_commit"] = input.gitCommit;
  if (!input.parts.empty()) detail["parts"] = input.parts;
  if (wantConfirm) detail["confirm_seconds"] = *confirmSeconds;
  if (pair) detail["pair"] = {{"peer", pair->peer}, {"revision", pair->revision}};
  audit_.record({event, actor.who, actor.uid, currentRevision_, input.hash, joinSummaries(summaries),
                 failures.empty(), detail});

  if (wantConfirm) {
    Pending p;
    p.revision = currentRevision_;
    p.previousRevision = previousRevision;
    p.previousHash = previousHash;
    p.previous.resize(n);
    for (std::size_t i = 0; i < n; ++i) p.previous[i] = touched[i];
    p.deadline = Clock::now() + std::chrono::seconds(*confirmSeconds);
    p.wallDeadline = std::chrono::system_clock::now() + std::chrono::seconds(*confirmSeconds);
    p.timer = loop_.after(std::chrono::seconds(*confirmSeconds), [this] { confirmTimedOut(); });
    p.who = actor.who;
    if (pair) p.pairPeer = pair->peer;
    pending_ = std::move(p);
    persistPending();
    body["confirm_deadline_seconds"] = *confirmSeconds;
  }
  body["revision"] = currentRevision_;
  body["summary"] = joinSummaries(summaries);
  auto out = Outcome::success(std::move(body));
  out.firewallChange = std::move(fwChange);
  return out;
}

std::vector<std::string> Reconciler::restore(const std::vector<std::optional<KindStatePtr>>& states,
                                             std::optional<engine::FirewallChange>* firewallChange) {
  std::vector<std::string> failures;
  std::vector<std::optional<engine::KindApplied>> applied;
  auto failed = engine_.restore(states, &applied);
  for (std::size_t i = 0; firewallChange && i < applied.size() && i < states.size(); ++i) {
    if (applied[i] && !applied[i]->plan.inSync && !*firewallChange) {
      *firewallChange = engine::firewallChange(*applied[i], *states[i]);
    }
  }
  for (std::size_t i = 0; i < slots_.size() && i < states.size(); ++i) {
    if (!states[i]) continue;
    auto f = std::find_if(failed.begin(), failed.end(), [&](const auto& x) { return x.first == i; });
    if (f != failed.end()) {
      failures.push_back(std::string(kindName(i)) + ": " + f->second.message);
      slots_[i].lastError = f->second.message;
      continue;
    }
    slots_[i].current = *states[i];
    slots_[i].known = true;
  }
  return failures;
}

void Reconciler::confirmTimedOut() {
  if (!pending_) return;
  rollBackPending("rollback", "bulwarkd (confirm timeout)",
                  "revision " + std::to_string(pending_->revision) + " by " + pending_->who +
                      " was not confirmed in time: restored the previous state" +
                      (pending_->resumed ? " (the confirm window outlived a daemon restart)" : ""));
}

void Reconciler::rollBackPending(const std::string& event, const std::string& who, const std::string& summary) {
  if (!pending_) return;
  Pending p = std::move(*pending_);
  pending_.reset();
  loop_.cancel(p.timer);
  std::optional<engine::FirewallChange> change;
  auto failures = restore(p.previous, &change);
  // A rollback can narrow too (the unconfirmed revision had opened something): what it
  // opened is cut. What the revision cut is not brought back (gateway/engine/README.md).
  if (change) revoke(std::move(*change), {}, Actor{who, -1}, nullptr);
  clearPending();
  auto st = history_.setStatus(p.revision, "rolled-back");
  (void)st;
  currentRevision_ = p.previousRevision;
  currentHash_ = p.previousHash;
  ++stats_.rollbacks;
  audit_.record({event, who, -1, p.previousRevision, p.previousHash, summary, failures.empty(),
                 failures.empty() ? nlohmann::json::object() : nlohmann::json{{"errors", failures}}});
}

Outcome Reconciler::abortPending(int revision, const Actor& actor, const std::string& why) {
  if (!pending_ || pending_->revision != revision) {
    return Outcome::failure(gateway::ErrorCode::Conflict,
                            "revision " + std::to_string(revision) + " does not await confirmation here");
  }
  const int previous = pending_->previousRevision;
  rollBackPending("rollback", actor.who,
                  "revision " + std::to_string(revision) + " rolled back: " + why + "; restored revision " +
                      std::to_string(previous));
  return Outcome::success({{"revision", previous}, {"rolled_back", revision}});
}

Outcome Reconciler::confirm(const Actor& actor, std::optional<int> revision) {
  if (!pending_) return Outcome::failure(gateway::ErrorCode::Conflict, "no apply awaits confirmation");
  if (revision && pending_->revision != *revision) {
    return Outcome::failure(gateway::ErrorCode::Conflict, "revision " + std::to_string(pending_->revision) +
                                                              " awaits confirmation here, not " +
                                                              std::to_string(*revision));
  }
  loop_.cancel(pending_->timer);
  int rev = pending_->revision;
  pending_.reset();
  clearPending();
  auto st = history_.setStatus(rev, "confirmed");
  audit_.record({"confirm", actor.who, actor.uid, rev, currentHash_, "revision " + std::to_string(rev) + " confirmed",
                 true, {}});
  nlohmann::json body{{"revision", rev}};
  if (!st) body["history_error"] = st.error().message;
  return Outcome::success(std::move(body));
}

gateway::Result<PolicyInput> Reconciler::revisionInput(int revision) const {
  auto rev = history_.load(revision);
  if (!rev) return rev.error();
  PolicyInput in;
  in.sources = std::move(rev->sources);
  in.origin = "revision " + std::to_string(revision);
  in.gitCommit = rev->gitCommit;
  in.parts = std::move(rev->parts);  // its rollback applies what it applied
  return in;
}

review::AppliedPolicy Reconciler::appliedPolicy() const {
  review::AppliedPolicy out;
  if (currentRevision_ == 0) {
    out.unknown = "no revision applied yet";
    return out;
  }
  auto in = revisionInput(currentRevision_);
  if (!in) {
    out.unknown = "revision " + std::to_string(currentRevision_) + "'s record cannot be read: " + in.error().message;
    return out;
  }
  out.input = review::ReviewInput{"revision " + std::to_string(currentRevision_) + " (running)", std::move(in->sources)};
  return out;
}

Outcome Reconciler::rollback(int revision, PreparedPolicy prepared, const Actor& actor) {
  (void)revision;  // named in the prepared input's origin
  // 0: none pending (revisions start at 1). A plain int: GCC 12 at -O2 took an optional<int>
  // here for maybe-uninitialized (-Werror in the release preset).
  const int wasPending = pending_ ? pending_->revision : 0;
  auto out = reconcile(std::move(prepared), actor, Mode::AllOrNothing, "rollback", std::nullopt);
  if (out.ok && wasPending > 0 && pending_ && pending_->revision == wasPending) {
    // The unconfirmed revision is superseded by the rollback.
    loop_.cancel(pending_->timer);
    auto st = history_.setStatus(pending_->revision, "rolled-back");
    (void)st;
    pending_.reset();
    clearPending();
  }
  if (out.ok) ++stats_.rollbacks;
  return out;
}

void Reconciler::revoke(engine::FirewallChange change, std::vector<engine::KeptFlow> kept, const Actor& actor,
                        std::function<void(nlohmann::json)> done) {
  if (!change.judgeable() || jobs_ == nullptr) {
    if (done) done(nullptr);
    return;
  }
  // The dump, the judgement and the deletes on the policy worker (a 250k-entry table takes
  // a while); audit and counters back on the loop.
  auto job = [change = std::move(change), kept = std::move(kept), actor, done,
              this]() mutable -> std::function<void()> {
    engine::RevocationOptions o;
    o.kept = std::move(kept);
    auto r = engine::revokeChange(change, o);
    change = {};  // the rulesets are freed here, not on the loop
    auto result = std::make_shared<decltype(r)>(std::move(r));
    return [this, result, actor, done] {
      nlohmann::json j;
      ++stats_.revocations;
      if (!*result) {
        ++stats_.revocationFailures;
      } else if (!**result) {
        ++stats_.revocationFailures;
        const auto& e = (**result).error();
        j = {{"error", e.message}};
        audit_.record({"revoke-failed", actor.who, actor.uid, currentRevision_, currentHash_,
                       "established connections were not judged: " + e.message, false, {}});
      } else {
        const auto& rep = (**result).value();
        j = engine::revocationJson(rep);
        stats_.revokedConnections += rep.cut;
        stats_.lastRevocationSeconds = rep.totalMillis() / 1000;
        if (rep.failed > 0) ++stats_.revocationFailures;
        if (rep.toCut > 0 || rep.failed > 0) {
          nlohmann::json detail = j;
          // The audit keeps the first few; the reply has up to RevocationOptions::listed.
          if (detail["flows"].size() > kAuditedFlows) detail["flows"].get_ref<nlohmann::json::array_t&>().resize(kAuditedFlows);
          audit_.record({"revoke", actor.who, actor.uid, currentRevision_, currentHash_,
                         "cut " + std::to_string(rep.cut) + " established connection(s) the policy no longer allows" +
                             (rep.failed > 0 ? " (" + std::to_string(rep.failed) + " delete(s) failed)" : ""),
                         rep.failed == 0, detail});
        }
      }
      if (done) done(std::move(j));
    };
  };
  submitRevocation(std::move(job));
}

void Reconciler::submitRevocation(JobWorker::Job job) {
  // Retried when the worker's queue is full: a cut must not be lost (the queue drains in
  // seconds; the job itself is bounded by the table's size).
  if (jobs_->submit("revoke", JobWorker::Priority::High, job)) return;
  loop_.after(std::chrono::milliseconds(50), [this, job = std::move(job)]() mutable { submitRevocation(std::move(job)); });
}

KindStatePtr Reconciler::currentState(std::string_view kind) const {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (kindName(i) == kind) return slots_[i].current;
  }
  return nullptr;
}

nlohmann::json Reconciler::status() const {
  nlohmann::json kinds = nlohmann::json::array();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const auto& s = slots_[i];
    kinds.push_back({{"kind", kindName(i)},
                     {"state", !s.lastError.empty() ? "error" : (s.known ? "ok" : "unknown")},
                     {"last_error", s.lastError}});
  }
  nlohmann::json j{{"revision", currentRevision_},
                   {"policy_hash", currentHash_},
                   {"policy_dir", policyDir_.string()},
                   {"policy_error", policyError_},
                   {"drift_mode", driftMode_ == DriftMode::Repair ? "repair" : "alert"},
                   {"kinds", kinds},
                   {"applies", stats_.appliesOk},
                   {"drift_repairs", stats_.driftRepairs},
                   {"pending", nullptr}};
  if (pending_) {
    j["pending"] = {{"revision", pending_->revision},
                    {"by", pending_->who},
                    {"pair", pending_->pairPeer},
                    {"seconds_left",
                     std::chrono::duration_cast<std::chrono::seconds>(pending_->deadline - Clock::now()).count()}};
  }
  return j;
}

nlohmann::json Reconciler::history(std::size_t limit) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : history_.list(limit)) {
    auto m = r.meta();
    m["current"] = r.number == currentRevision_;
    out.push_back(std::move(m));
  }
  return out;
}

void Reconciler::checkDrift(const std::string& reason) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    auto& slot = slots_[i];
    if (!slot.known) continue;
    auto p = engine_.plan(i, slot.current);
    if (!p.ok()) {
      slot.lastError = p.error().message;
      continue;
    }
    const auto& kp = p->plan;
    if (kp.inSync) {
      slot.lastDrift.clear();
      continue;
    }
    std::string joined;
    for (const auto& c : kp.changes) joined += c + "\n";
    nlohmann::json detail{{"changes", limitedLines(kp.changes)}, {"trigger", reason}};
    if (!kp.read.empty()) detail["read"] = kp.read;  // the firewall: the whole table or what the events named
    std::string what = std::string(kindName(i)) + ": " + std::to_string(kp.changes.size()) + " foreign change(s)";
    if (driftMode_ == DriftMode::Alert) {
      if (joined != slot.lastDrift) {
        ++stats_.driftDetected;
        audit_.record({"drift-detected", "bulwarkd (drift)", -1, currentRevision_, currentHash_, what, true, detail});
        slot.lastDrift = joined;
      }
      continue;
    }
    ++stats_.driftDetected;
    auto r = engine_.kind(i).apply(slot.current, kp);
    if (!r.ok()) {
      const auto& e = r.error();
      slot.lastError = e.message;
      detail["errors"] = e.details;
      audit_.record({"drift-repair-failed", "bulwarkd (drift)", -1, currentRevision_, currentHash_,
                     what + ", repair failed: " + e.message, false, detail});
      continue;
    }
    ++stats_.driftRepairs;
    detail["millis"] = r.value().millis;
    // A foreign allow that was reverted: the connections it let in are cut.
    if (auto change = engine::firewallChange(r.value(), slot.current)) {
      revoke(std::move(*change), {}, Actor{"bulwarkd (drift)", -1}, nullptr);
    }
    audit_.record({"drift-repaired", "bulwarkd (drift)", -1, currentRevision_, currentHash_, what + " reverted", true,
                   detail});
  }
}

// ---- a pending confirm across restarts ------------------------------------------------------
//
// STATE/pending.json: {"revision": N, "previous_revision": M, "previous_hash": "...",
//   "deadline_unix_ms": T, "who": "...", "kinds": [{"kind": "firewall", "touched": true,
//   "previous_null": false}, ...]}
// The previous state of each touched kind is what revision M's policy compiles to (history
// keeps its sources), or nothing ("previous_null": Bulwark owned nothing of that kind).

namespace {
std::filesystem::path pendingFile(const History& h) { return h.stateDir() / "pending.json"; }
}  // namespace

void Reconciler::persistPending() {
  if (!pending_) return;
  nlohmann::json kinds = nlohmann::json::array();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const auto& prev = i < pending_->previous.size() ? pending_->previous[i] : std::optional<KindStatePtr>{};
    kinds.push_back({{"kind", kindName(i)},
                     {"touched", prev.has_value()},
                     {"previous_null", prev.has_value() && *prev == nullptr}});
  }
  nlohmann::json j{{"revision", pending_->revision},
                   {"previous_revision", pending_->previousRevision},
                   {"previous_hash", pending_->previousHash},
                   {"deadline_unix_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                            pending_->wallDeadline.time_since_epoch())
                                            .count()},
                   {"who", pending_->who},
                   {"pair", pending_->pairPeer},
                   {"kinds", kinds}};
  auto st = writeFileAtomic(pendingFile(history_), j.dump());
  if (!st) {
    // The confirm still works while the daemon runs; only a restart would forget it.
    audit_.record({"pending-persist-failed", "bulwarkd", -1, pending_->revision, currentHash_, st.error().message,
                   false, {}});
  }
}

void Reconciler::clearPending() {
  std::error_code ec;
  std::filesystem::remove(pendingFile(history_), ec);
}

std::optional<Outcome> Reconciler::resumePending() {
  const auto file = pendingFile(history_);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::nullopt;
  auto fail = [&](const std::string& why) -> std::optional<Outcome> {
    audit_.record({"pending-resume-failed", "bulwarkd (startup)", -1, 0, "",
                   "a pending confirm could not be resumed (" + why + "); starting from the policy dir", false, {}});
    clearPending();
    return std::nullopt;
  };
  auto j = readJsonFile(file);
  if (!j) return fail(j.error().message);
  const int number = j->value("revision", 0);
  const int previousNumber = j->value("previous_revision", 0);
  const auto deadlineMs = j->value("deadline_unix_ms", std::int64_t{0});
  const auto kindsJson = j->value("kinds", nlohmann::json::array());
  if (number <= 0 || !kindsJson.is_array() || kindsJson.size() != slots_.size()) return fail("damaged pending.json");
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (kindsJson[i].value("kind", std::string()) != kindName(i)) return fail("kinds differ");
  }

  // A revision's per-kind states, from the policy sources history keeps.
  auto statesOf = [&](int rev) -> std::optional<std::vector<KindStatePtr>> {
    auto r = history_.load(rev);
    if (!r) return std::nullopt;
    PolicyInput in;
    in.sources = r->sources;
    in.hash = r->hash;
    auto loaded = loadAndValidate(in);
    if (!loaded.ok()) return std::nullopt;
    std::vector<KindStatePtr> out;
    for (auto& d : engine_.desired(loaded.policy)) {
      if (!d.ok()) return std::nullopt;
      out.push_back(d.value());
    }
    return out;
  };
  auto current = statesOf(number);
  if (!current) return fail("revision " + std::to_string(number) + " cannot be loaded");
  std::optional<std::vector<KindStatePtr>> before;
  if (previousNumber > 0) {
    before = statesOf(previousNumber);
    if (!before) return fail("revision " + std::to_string(previousNumber) + " cannot be loaded");
  }
  Pending p;
  p.revision = number;
  p.previousRevision = previousNumber;
  p.previousHash = j->value("previous_hash", std::string());
  p.who = j->value("who", std::string("?"));
  p.pairPeer = j->value("pair", std::string());
  p.resumed = true;
  p.previous.resize(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!kindsJson[i].value("touched", false)) continue;
    if (kindsJson[i].value("previous_null", false)) {
      p.previous[i] = KindStatePtr{};
    } else if (before) {
      p.previous[i] = (*before)[i];
    } else {
      return fail(std::string(kindName(i)) + ": the previous state was not a recorded revision");
    }
  }
  // The kernel holds revision N (drift repair keeps it there while the window is open).
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].current = (*current)[i];
    slots_[i].known = true;
  }
  currentRevision_ = number;
  if (const auto* meta = history_.find(number)) currentHash_ = meta->hash;

  p.wallDeadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(deadlineMs));
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(p.wallDeadline - std::chrono::system_clock::now());
  if (left.count() <= 0) {
    pending_ = std::move(p);
    confirmTimedOut();
    return Outcome::success({{"summary", "revision " + std::to_string(number) +
                                             " was pending and its confirm deadline passed while bulwarkd was "
                                             "down: rolled back to revision " +
                                             std::to_string(previousNumber)}});
  }
  p.deadline = Clock::now() + left;
  p.timer = loop_.after(left, [this] { confirmTimedOut(); });
  pending_ = std::move(p);
  audit_.record({"pending-resumed", "bulwarkd (startup)", -1, number, currentHash_,
                 "revision " + std::to_string(number) + " still awaits confirmation (" +
                     std::to_string(left.count() / 1000) + " s left)",
                 true, {}});
  return Outcome::success({{"summary", "revision " + std::to_string(number) + " awaits confirmation, " +
                                           std::to_string(left.count() / 1000) + " s left (resumed)"}});
}

}  // namespace bulwark::daemon
