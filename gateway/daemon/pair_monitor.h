#pragma once
// The HA pair seen from this node: every kPeerCheckInterval (and right after a change here)
// the peer's peer-status, on the peer worker; `status` shows it ("peer"), /metrics exports
// it, and a pair whose revisions or policy hashes differ -- or whose peer cannot be reached --
// for kPeerOutOfSyncChecks checks in a row is an alert: an audit event (`ha-peer-out-of-sync`,
// then `ha-peer-in-sync` when it is over) and a log line.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "event_loop.h"
#include "handlers.h"
#include "job_worker.h"
#include "peer_link.h"
#include "reconciler.h"

namespace bulwark::daemon {

// Pure: consecutive checks → when the alert starts and ends.
class PairSyncTracker {
 public:
  enum class Change { None, OutOfSync, BackInSync };
  // One check: this node's state and the peer's (or why it could not be read).
  Change observe(const PairState& mine, const gateway::Result<PairState>& peer);
  [[nodiscard]] bool inSync() const { return inSync_; }
  [[nodiscard]] bool alerting() const { return alerting_; }
  [[nodiscard]] const std::string& reason() const { return reason_; }  // why not in sync
  [[nodiscard]] std::uint64_t alerts() const { return alerts_; }

 private:
  int differing_ = 0;
  bool inSync_ = false;
  bool alerting_ = false;
  std::string reason_;
  std::uint64_t alerts_ = 0;
};

class PairMonitor {
 public:
  using Log = std::function<void(const std::string&)>;
  PairMonitor(EventLoop& loop, JobWorker& peerJobs, RequestHandlers& handlers, Reconciler& rec, Log log)
      : loop_(loop), jobs_(peerJobs), handlers_(handlers), rec_(rec), log_(std::move(log)) {}
  // Starts the periodic check (loop thread).
  void start();
  // A check as soon as the worker is free (after an apply, a confirm, a rollback).
  void checkSoon();
  // The "peer" object of `status` (null: no pair), and the bulwark_ha_peer_* series.
  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] std::string metrics() const;

 private:
  void check();
  void onResult(const PeerConfig& cfg, gateway::Result<PairState> peer, double seconds);

  EventLoop& loop_;
  JobWorker& jobs_;
  RequestHandlers& handlers_;
  Reconciler& rec_;
  Log log_;
  PairSyncTracker tracker_;
  bool inFlight_ = false;
  std::optional<PairState> last_;
  std::string peerNode_;
  std::string error_;
  std::string checkedAt_;
  double checkSeconds_ = 0;
  std::uint64_t checks_ = 0;
};

}  // namespace bulwark::daemon
