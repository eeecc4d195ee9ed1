#include "firewall_kind.h"

#include <mutex>
#include <optional>
#include <string>

#include "bulwark/firewall/plan_lines.h"
#include "bulwark/firewall/reconcile.h"
#include "plan_detail.h"

namespace bulwark::engine {

namespace {

using namespace firewall;

// What observe() found: the table (and its generation), or only "the kernel still holds
// exactly `same`", when nothing was committed since this kind last read `same` back.
class FirewallObserved : public KindObserved {
 public:
  TableStatePtr table;  // what was read (null when `same` is set)
  KindStatePtr same;    // set: the table was not read, it is `same`
  std::string read;     // how: KindPlan::read
};

// The plan's detail for apply(): the ruleset it was made for (the state's, with the health
// overlay applied) and the table plan.
struct FirewallPlan {
  std::optional<Ruleset> effective;  // set when the overlay made a copy
  const Ruleset* desired = nullptr;  // effective, or the state's own ruleset; null: no table
  TablePlan table;
};

KindError readError(const KernelError& e) { return KindError{"cannot read table inet bulwark: " + e.message, {}, false}; }

class FirewallKind final : public ResourceKind {
 public:
  FirewallKind(CompileOptions options, FirewallOverlay overlay, std::shared_ptr<TableJournal> journal)
      : options_(std::move(options)), overlay_(std::move(overlay)), journal_(std::move(journal)) {}

  std::string_view name() const override { return "firewall"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    auto compiled = compile(policy, options_);
    if (!compiled.ok()) {
      KindError e{"the firewall compiler rejected the policy", {}, false, KindError::Cause::Policy};
      for (const auto& d : compiled.diagnostics.items()) e.details.push_back(d.str());
      return e;
    }
    return KindStatePtr(std::make_shared<FirewallState>(std::move(compiled.ruleset), std::move(compiled.pools),
                                                        std::make_shared<const FlowContext>(flowContextOf(policy))));
  }

  KindResult<KindObservedPtr> observe(const KindStatePtr& expected) override {
    // Fast path for drift checks: the kernel matched exactly this state at generation G and
    // nftables is still at G (every committed transaction in the netns bumps it), so nothing
    // can differ. Saves a full read-back, which on tables with thousands of sets holds the
    // event loop for seconds, after each of the daemon's own writes (their notifications
    // come back as drift events) and on every periodic check.
    if (auto known = syncedGen(expected)) {
      if (auto gen = currentGenId(); gen && *gen == *known) {
        auto o = std::make_shared<FirewallObserved>();
        o->same = expected;
        return KindObservedPtr(std::move(o));
      }
    }
    auto o = std::make_shared<FirewallObserved>();
    auto table = readTable(o->read);
    if (!table) return readError(table.error());
    o->table = std::move(table.value());
    return KindObservedPtr(std::move(o));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state, const KindObservedPtr& observed) override {
    const auto& o = observedOf(observed);
    if (o.same) {
      if (o.same == state) return KindPlan{};
      auto again = observe(nullptr);  // compared with another state: read it after all
      if (!again) return again.error();
      return plan(state, *again);
    }
    if (!o.table) return KindError{"firewall: nothing observed to plan against", {}, false};
    if (const auto* fs = dynamic_cast<const FirewallState*>(state.get()); fs && !fs->pools.empty() && overlay_.found) {
      overlay_.found(*fs, o.table->table ? &*o.table->table : nullptr);
    }
    const auto version = overlayVersion();
    auto fp = std::make_shared<FirewallPlan>();
    fp->desired = effectiveRuleset(state, fp->effective);
    fp->table = planFor(fp->desired, o.table);
    const auto& tp = fp->table;
    KindPlan p;
    p.inSync = tp.inSync();
    p.incremental = tp.incremental();
    p.partial = tp.rewritesChains();
    for (const auto& c : tp.diff.changes) p.changes.push_back(c.description);
    p.commands = planLines(fp->desired, tp.observed->table, tp.diff);
    p.read = o.read;
    if (p.inSync && tp.observed->table) verified(tp.observed);
    {
      // A plan of another policy (a `plan` request on the policy worker) leaves the drift
      // check's cache alone.
      std::lock_guard<std::mutex> lock(syncedMutex_);
      if (p.inSync && tp.observed->table && state) {
        synced_ = Synced{state, tp.observed->genId, version};
      } else if (synced_ && synced_->state == state) {
        synced_.reset();
      }
    }
    return withDetail(std::move(p), std::move(fp));
  }

  KindResult<KindApplied> apply(const KindStatePtr& state, const KindPlan& plan) override {
    KindApplied out = appliedOf(plan);
    const auto* fp = detailOf<FirewallPlan>(plan);
    if (fp == nullptr) return out;  // in sync
    const auto version = overlayVersion();
    auto r = applyTable(fp->desired, fp->table);
    if (!r) {
      const auto& e = r.error();
      if (!e.written) {
        KindError k{"the kernel refused the batch; nothing was changed", e.items, false};
        if (k.details.empty()) k.details.push_back(e.message);
        return k;
      }
      return KindError{e.message, e.items, true};
    }
    out.millis = r->millis;
    out.messages = r->batch.messages;
    out.bytes = r->batch.bytes;
    out.counts = std::to_string(r->batch.messages) + " netlink messages, " + std::to_string(r->batch.bytes) + " bytes";
    out.written = plan.detail;
    if (r->observed && r->observed->table) verified(r->observed);
    if (state) {
      std::lock_guard<std::mutex> lock(syncedMutex_);
      synced_ = Synced{state, r->genId, version};
    }
    return out;
  }

  KindResult<KindStatePtr> adopt(const KindObservedPtr& observed) override {
    const auto& o = observedOf(observed);
    if (o.same) return o.same;
    if (!o.table || !o.table->table) return KindStatePtr{};
    return KindStatePtr(std::make_shared<FirewallState>(o.table->table->ruleset()));
  }

 private:
  static const FirewallObserved& observedOf(const KindObservedPtr& observed) {
    static const FirewallObserved kNone;
    const auto* o = dynamic_cast<const FirewallObserved*>(observed.get());
    return o ? *o : kNone;
  }
  // The state's ruleset with the overlay (health) applied; `storage` holds it when it is a copy.
  const Ruleset* effectiveRuleset(const KindStatePtr& state, std::optional<Ruleset>& storage) const {
    const auto* fs = dynamic_cast<const FirewallState*>(state.get());
    if (!fs) return nullptr;
    if (fs->pools.empty() || !overlay_.effective) return &fs->ruleset;
    storage = overlay_.effective(*fs);
    return &*storage;
  }
  [[nodiscard]] std::uint64_t overlayVersion() const { return overlay_.version ? overlay_.version() : 0; }

  // The generation at which the kernel last matched `state` exactly, if it was this state.
  std::optional<std::uint32_t> syncedGen(const KindStatePtr& state) {
    std::lock_guard<std::mutex> lock(syncedMutex_);
    // The overlay (health) changes the effective ruleset without changing the state.
    if (synced_ && synced_->state == state && state && synced_->overlay == overlayVersion()) return synced_->gen;
    return std::nullopt;
  }

  // The whole table, or -- when the journal accounts for every generation since the last
  // verified reading -- that reading with only the chains and sets the events named read
  // again (observeSince(): still a reading of the kernel, at the generation the events end at).
  KernelResult<TableStatePtr> readTable(std::string& how) {
    how = "whole table";
    TableStatePtr base;
    {
      std::lock_guard<std::mutex> lock(syncedMutex_);
      base = verified_;
    }
    if (!journal_ || !base) return observeTable();
    auto touched = journal_->since(base->genId);
    if (!touched) return observeTable();
    bool partial = false;
    auto table = observeSince(base, touched->genId, touched->chains, touched->sets, &partial);
    if (table && partial) {
      how = std::to_string(touched->chains.size()) + (touched->chains.size() == 1 ? " chain, " : " chains, ") +
            std::to_string(touched->sets.size()) + (touched->sets.size() == 1 ? " set" : " sets");
    }
    return table;
  }
  // A reading of the kernel found equal to what was planned (or written): the base of the
  // next partial read; the journal forgets the generations up to it.
  void verified(const TableStatePtr& reading) {
    {
      std::lock_guard<std::mutex> lock(syncedMutex_);
      // A `plan` on the policy worker may finish after a newer reading of the loop's.
      if (verified_ && verified_->genId > reading->genId) return;
      verified_ = reading;
    }
    if (journal_) journal_->forget(reading->genId);
  }

  CompileOptions options_;
  FirewallOverlay overlay_;
  std::shared_ptr<TableJournal> journal_;
  struct Synced {
    KindStatePtr state;  // held, so its address cannot be reused by another state
    std::uint32_t gen = 0;
    std::uint64_t overlay = 0;
  };
  // observe() and plan() also run on the policy worker (a `plan` request) while the loop
  // checks drift or applies.
  std::mutex syncedMutex_;
  std::optional<Synced> synced_;  // guarded: the kernel was found equal to `state` at `gen`
  TableStatePtr verified_;        // guarded: the last reading found equal to a plan's ruleset
};

}  // namespace

ResourceKindPtr makeFirewallKind(CompileOptions options, FirewallOverlay overlay,
                                 std::shared_ptr<TableJournal> journal) {
  return std::make_unique<FirewallKind>(std::move(options), std::move(overlay), std::move(journal));
}

namespace {

std::optional<FirewallChange> changeOf(const std::shared_ptr<const void>& detail, const KindStatePtr& state) {
  const auto* fs = dynamic_cast<const FirewallState*>(state.get());
  if (!detail || !fs) return std::nullopt;
  const auto* fp = static_cast<const FirewallPlan*>(detail.get());
  return FirewallChange{fp->table.observed, fp->desired, fs->flows, detail, state, &fp->table.diff};
}

}  // namespace

std::optional<FirewallChange> firewallChange(const KindPlan& plan, const KindStatePtr& state) {
  return changeOf(plan.detail, state);
}

std::optional<FirewallChange> firewallChange(const KindApplied& applied, const KindStatePtr& state) {
  return changeOf(applied.written, state);
}

std::optional<Result<RevocationReport, RevocationError>> revokeChange(const FirewallChange& change,
                                                                      const RevocationOptions& options) {
  if (!change.judgeable()) return std::nullopt;
  if (change.diff != nullptr && firewall::onlyWidens(*change.diff, *change.after)) {
    // Nothing the ruleset accepted can be refused now: no conntrack read, nothing judged.
    RevocationReport r;
    r.dryRun = options.dryRun;
    r.widensOnly = true;
    return r;
  }
  RevocationOptions o = options;
  if (change.diff != nullptr) o.touching = firewall::changedAddresses(*change.diff);
  const Ruleset before = change.before->table->ruleset();
  return revoke(before, *change.after, *change.flows, o);
}

const Ruleset* firewallRuleset(const KindStatePtr& state) {
  const auto* fs = dynamic_cast<const FirewallState*>(state.get());
  return fs ? &fs->ruleset : nullptr;
}

}  // namespace bulwark::engine
