#include "firewall_kind.h"

#include <chrono>
#include <mutex>

#include "../cli/plan_lines.h"
#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/programmer.h"
#include "nft_delete_table.h"

namespace bulwark::daemon {

namespace {

using namespace firewall;

KindPlan toPlan(const Ruleset* desired, const std::optional<ObservedTable>& observed, const Diff& d) {
  KindPlan p;
  p.inSync = d.empty();
  p.incremental = !d.empty() && d.elementsOnly();
  for (const auto& c : d.changes) p.changes.push_back(c.description);
  if (desired) p.commands = cli::planLines(*desired, observed, d);
  return p;
}

class FirewallKind final : public ResourceKind {
 public:
  FirewallKind(CompileOptions options, FirewallOverlay overlay)
      : options_(std::move(options)), overlay_(std::move(overlay)) {}

  std::string_view name() const override { return "firewall"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    auto compiled = compile(policy, options_);
    if (!compiled.ok()) {
      KindError e{"the firewall compiler rejected the policy", {}};
      for (const auto& d : compiled.diagnostics.items()) e.details.push_back(d.str());
      return e;
    }
    return KindStatePtr(std::make_shared<FirewallState>(std::move(compiled.ruleset), std::move(compiled.pools)));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state) override {
    // Fast path for drift checks: the kernel matched exactly this state at generation G and
    // nftables is still at G (every committed transaction in the netns bumps it), so nothing
    // can differ. Saves a full read-back, which on tables with thousands of sets holds the
    // event loop for seconds, after each of the daemon's own writes (their notifications
    // come back as drift events) and on every periodic check.
    if (auto known = syncedGen(state)) {
      if (auto gen = currentGenId(); gen && *gen == *known) return KindPlan{};
    }
    auto observed = observe();
    if (!observed) return KindError{"cannot read table inet bulwark: " + observed.error().message, {}};
    const auto version = overlayVersion();
    Ruleset effective;
    const auto* rs = effectiveRuleset(state, effective);
    if (!rs) {
      KindPlan p;
      if (observed.value()) {
        p.inSync = false;
        p.changes.push_back("table inet bulwark removed");
        p.commands.push_back("delete table inet bulwark");
      }
      return p;
    }
    auto d = diff(*rs, observed.value());
    {
      // A plan of another policy (a `plan` request) leaves the drift check's cache alone.
      std::lock_guard<std::mutex> lock(syncedMutex_);
      if (d.empty() && observed.value()) {
        synced_ = Synced{state, observed.value()->genId, version};
      } else if (synced_ && synced_->state == state) {
        synced_.reset();
      }
    }
    return toPlan(rs, observed.value(), d);
  }

  KindResult<KindApplied> apply(const KindStatePtr& state) override {
    Ruleset effective;
    const auto* rs = effectiveRuleset(state, effective);
    KindApplied out;
    auto start = std::chrono::steady_clock::now();
    if (!rs) {
      auto planned = plan(state);
      if (!planned.ok()) return planned.error();
      out.plan = std::move(planned.value());
      if (out.plan.inSync) return out;
      start = std::chrono::steady_clock::now();
      auto del = deleteBulwarkTable();
      if (!del) return KindError{del.error().message, {}};
    } else {
      auto observed = observe();
      if (!observed) return KindError{"cannot read table inet bulwark: " + observed.error().message, {}};
      auto d = diff(*rs, observed.value());
      out.plan = toPlan(rs, observed.value(), d);
      if (out.plan.inSync) return out;
      // The write is guarded by the generation the diff was made against (NFNL_BATCH_GENID):
      // a foreign change in between makes the kernel refuse the whole batch.
      ApplyOptions ao;
      if (observed.value()) ao.expectedGenId = observed.value()->genId;
      start = std::chrono::steady_clock::now();
      auto r = out.plan.incremental ? applyElementChanges(*rs, d.elementAdditions(), d.elementRemovals(), ao)
                                    : firewall::apply(*rs, ao);
      if (!r) {
        KindError e{"the kernel refused the batch; nothing was changed", r.error().items};
        if (e.details.empty()) e.details.push_back(r.error().message);
        return e;
      }
      out.messages = r->messages;
      out.bytes = r->bytes;
    }
    out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    // Read back: the kernel must now hold exactly the desired state.
    auto check = plan(state);
    if (!check.ok()) return check.error();
    if (!check.value().inSync) {
      return KindError{"applied, but the kernel's table still differs from the policy",
                       check.value().changes};
    }
    return out;
  }

  KindResult<KindStatePtr> adoptObserved() override {
    auto observed = observe();
    if (!observed) return KindError{"cannot read table inet bulwark: " + observed.error().message, {}};
    if (!observed.value()) return KindStatePtr{};
    return KindStatePtr(std::make_shared<FirewallState>(observed.value()->ruleset()));
  }

 private:
  // The state's ruleset with the overlay (health) applied; `storage` holds it when it is a copy.
  const Ruleset* effectiveRuleset(const KindStatePtr& state, Ruleset& storage) const {
    const auto* fs = dynamic_cast<const FirewallState*>(state.get());
    if (!fs) return nullptr;
    if (fs->pools.empty() || !overlay_.effective) return &fs->ruleset;
    storage = overlay_.effective(*fs);
    return &storage;
  }
  [[nodiscard]] std::uint64_t overlayVersion() const { return overlay_.version ? overlay_.version() : 0; }

  CompileOptions options_;
  FirewallOverlay overlay_;
  struct Synced {
    KindStatePtr state;  // held, so its address cannot be reused by another state
    std::uint32_t gen = 0;
    std::uint64_t overlay = 0;
  };
  // The generation at which the kernel last matched `state` exactly, if it was this state.
  std::optional<std::uint32_t> syncedGen(const KindStatePtr& state) {
    std::lock_guard<std::mutex> lock(syncedMutex_);
    // The overlay (health) changes the effective ruleset without changing the state.
    if (synced_ && synced_->state == state && state && synced_->overlay == overlayVersion()) return synced_->gen;
    return std::nullopt;
  }
  // plan() also runs on the policy worker (a `plan` request) while the loop checks drift.
  std::mutex syncedMutex_;
  // Guarded by syncedMutex_: the last plan() that found the kernel equal to its state.
  std::optional<Synced> synced_;
};

}  // namespace

ResourceKindPtr makeFirewallKind(CompileOptions options, FirewallOverlay overlay) {
  return std::make_unique<FirewallKind>(std::move(options), std::move(overlay));
}

const Ruleset* firewallRuleset(const KindStatePtr& state) {
  const auto* fs = dynamic_cast<const FirewallState*>(state.get());
  return fs ? &fs->ruleset : nullptr;
}

}  // namespace bulwark::daemon
