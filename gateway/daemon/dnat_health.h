#pragma once
// Health checks in bulwarkd: runs the health engine (gateway/health) for the policy's checks
// and keeps every DNAT pool's map on the backends that are up. A backend's transition
// arrives from an engine thread, is handed to the event loop (EventLoop::post), and becomes
// one element update of each map that names it (ElementWriter: a netlink socket kept open,
// ~0.2 ms), an audit entry (journald, STATE/audit.log, the events stream) and metrics.
//
// The firewall kind asks effective() for the ruleset with the current choices, so an apply,
// a rollback or a drift repair writes the maps as health has them (never back to "every
// backend up"), and the maps a health change wrote are not drift.
//
// When every backend of a pool is down, each element keeps the backend it had (the last
// one up): refusing would turn failing checks into a certain outage, while a check can fail
// on a backend that still serves (a wrong path, an overloaded health page). That state is
// audited ("dnat-all-down") and visible in the metrics.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/health/engine.h"
#include "event_loop.h"
#include "kinds/firewall_kind.h"
#include "kinds/health_kind.h"

namespace bulwark::daemon {

class Reconciler;
using engine::FirewallOverlay;
using engine::FirewallState;

class DnatHealth final : public engine::HealthChecks {
 public:
  struct Stats {
    std::uint64_t mapUpdates = 0;       // element updates written
    std::uint64_t mapUpdateFailures = 0;
    double lastUpdateSeconds = 0;       // the last element update's duration
  };

  explicit DnatHealth(EventLoop& loop, health::Engine::Options options = {});
  DnatHealth(const DnatHealth&) = delete;
  DnatHealth& operator=(const DnatHealth&) = delete;

  // After the reconciler exists (it owns the audit log and the firewall's current state).
  void attach(Reconciler& r) { reconciler_ = &r; }

  // The targets the engine probes (the health kind's observe and apply).
  void configure(std::vector<health::Target> targets) override;
  [[nodiscard]] std::vector<health::Target> probed() const override;
  [[nodiscard]] const std::vector<health::Target>& targets() const { return targets_; }

  // The firewall kind's overlay: `state`'s ruleset with each pool's map on its choice.
  [[nodiscard]] firewall::Ruleset effective(const FirewallState& state) const;
  [[nodiscard]] std::uint64_t version() const;
  [[nodiscard]] FirewallOverlay overlay();

  // bulwark_health_* and bulwark_dnat_* series (Prometheus text).
  [[nodiscard]] std::string metrics() const;
  [[nodiscard]] std::vector<health::Status> snapshot() const { return engine_->snapshot(); }
  // The web view's `health` array (gateway/web/README.md): one entry per check and host.
  [[nodiscard]] nlohmann::json webStatus() const;
  [[nodiscard]] const Stats& stats() const { return stats_; }

  // The first reading of the kernel a firewall plan makes at startup (null: no table). A
  // restart must not send new connections back to a backend its predecessor had found down:
  // each pool map found on another choice than "every backend up" keeps it, and the backends
  // that choice passed over count as down until their check rises (rise probes in a row).
  // Later readings are the daemon's own writes and change nothing here; startupDone() (main,
  // after the startup's run) closes it, so found() writes only before the loop runs.
  void found(const FirewallState& state, const firewall::ObservedTable* table);
  void startupDone();

  // On the loop: one transition of one target (public for tests).
  void onTransition(const health::Transition& t);

 private:
  [[nodiscard]] std::vector<firewall::BackendHealth> healthOf(const firewall::DnatPool& pool) const;
  [[nodiscard]] firewall::PoolChoice choiceOf(const firewall::DnatPool& pool) const;
  // The state the loop has acted on (maps written). The series and the web view report this one,
  // not the probe thread's newer state, so "lb1 up" is never read while the map still says lb2.
  [[nodiscard]] health::State actedOn(const health::Target& t) const;
  void log(const std::string& line) const;

  EventLoop& loop_;
  Reconciler* reconciler_ = nullptr;  // not owned; set by attach()
  // The loop writes targets_, health_, choices_ and version_ under view_; the policy worker
  // reads them under it too (a `plan` request runs the firewall kind's overlay and the health
  // kind's observe there). The loop's own reads need no lock: it is the only writer.
  mutable std::mutex view_;
  std::vector<health::Target> targets_;
  std::map<std::string, health::State> health_;             // "check|host" → state
  std::map<std::string, firewall::PoolChoice> choices_;    // map → the choice written last
  std::uint64_t version_ = 1;
  bool foundOpen_ = true;  // found() has not taken its one reading, and startup is not over
  Stats stats_;
  std::optional<firewall::ElementWriter> writer_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);   // posted closures check it
  std::unique_ptr<health::Engine> engine_;                  // last: its threads stop first
};

}  // namespace bulwark::daemon
