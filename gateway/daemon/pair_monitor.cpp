#include "pair_monitor.h"

#include "history.h"

namespace bulwark::daemon {

PairSyncTracker::Change PairSyncTracker::observe(const PairState& mine, const gateway::Result<PairState>& peer) {
  if (!peer) {
    reason_ = peer.error().message;
  } else if (!pairInSync(mine, *peer)) {
    reason_ = "peer at revision " + std::to_string(peer->revision) + " (policy " + peer->hash.substr(0, 12) +
              "), this node at revision " + std::to_string(mine.revision) + " (policy " + mine.hash.substr(0, 12) + ")";
  } else {
    reason_.clear();
  }
  inSync_ = reason_.empty();
  if (inSync_) {
    differing_ = 0;
    if (!alerting_) return Change::None;
    alerting_ = false;
    return Change::BackInSync;
  }
  if (++differing_ < kPeerOutOfSyncChecks || alerting_) return Change::None;
  alerting_ = true;
  ++alerts_;
  return Change::OutOfSync;
}

void PairMonitor::start() {
  check();
  loop_.after(kPeerCheckInterval, [this] { start(); });
}

void PairMonitor::checkSoon() { check(); }

void PairMonitor::check() {
  const auto& pair = handlers_.pair();
  if (!pair || inFlight_) return;
  auto job = [cfg = *pair, this]() -> std::function<void()> {
    const auto t0 = std::chrono::steady_clock::now();
    auto reply = peerCall(cfg, "peer-status", nlohmann::json::object(), kPeerStatusTimeout);
    gateway::Result<PairState> state = gateway::Error{"?"};
    if (!reply) {
      state = reply.error();
    } else if (!reply->value("ok", false)) {
      const auto& e = (*reply)["error"];
      state = gateway::Error{"peer " + cfg.describe() + " refused peer-status: " +
                             (e.is_object() ? e.value("message", "?") : std::string("?"))};
    } else {
      state = pairStateOf(*reply);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return [this, cfg, state = std::move(state), s]() mutable { onResult(cfg, std::move(state), s); };
  };
  if (jobs_.submit("pair-monitor", JobWorker::Priority::Normal, std::move(job))) inFlight_ = true;
}

void PairMonitor::onResult(const PeerConfig& cfg, gateway::Result<PairState> peer, double seconds) {
  inFlight_ = false;
  ++checks_;
  checkSeconds_ = seconds;
  checkedAt_ = utcNow();
  peerNode_ = cfg.peer;
  const PairState mine = handlers_.pairState();
  if (peer) {
    last_ = *peer;
    error_.clear();
  } else {
    error_ = peer.error().message;
  }
  const auto change = tracker_.observe(mine, peer);
  nlohmann::json detail{{"peer", cfg.peer},
                        {"address", cfg.describe()},
                        {"revision", mine.revision},
                        {"policy_hash", mine.hash}};
  if (peer) {
    detail["peer_revision"] = peer->revision;
    detail["peer_policy_hash"] = peer->hash;
  } else {
    detail["error"] = error_;
  }
  if (change == PairSyncTracker::Change::OutOfSync) {
    log_("ha: the pair is out of sync with " + cfg.peer + ": " + tracker_.reason());
    rec_.audit().record({"ha-peer-out-of-sync", "bulwarkd (pair check)", -1, mine.revision, mine.hash,
                         "out of sync with " + cfg.peer + ": " + tracker_.reason(), false, detail});
  } else if (change == PairSyncTracker::Change::BackInSync) {
    log_("ha: the pair is in sync again with " + cfg.peer + " (revision " + std::to_string(mine.revision) + ")");
    rec_.audit().record({"ha-peer-in-sync", "bulwarkd (pair check)", -1, mine.revision, mine.hash,
                         "in sync with " + cfg.peer + " again (revision " + std::to_string(mine.revision) + ")", true,
                         detail});
  }
}

nlohmann::json PairMonitor::status() const {
  const auto& pair = handlers_.pair();
  if (!pair) return nullptr;
  nlohmann::json j{{"node", pair->peer},
                   {"address", pair->describe()},
                   {"checked", checkedAt_},
                   {"reachable", checks_ > 0 && error_.empty()},
                   {"in_sync", checks_ > 0 && tracker_.inSync()},
                   {"alert", tracker_.alerting()},
                   {"error", error_}};
  if (!tracker_.inSync()) j["why"] = tracker_.reason();
  if (last_) {
    j["revision"] = last_->revision;
    j["policy_hash"] = last_->hash;
    j["role"] = last_->role;
    j["pending"] = last_->pending ? nlohmann::json(*last_->pending) : nlohmann::json(nullptr);
  }
  return j;
}

std::string PairMonitor::metrics() const {
  const auto& pair = handlers_.pair();
  if (!pair) return {};
  const std::string l = "{peer=\"" + pair->peer + "\"}";
  std::string t;
  auto gauge = [&](const char* name, const char* help, const std::string& value, const char* type = "gauge") {
    t += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + l + " " + value +
         "\n";
  };
  const bool reachable = checks_ > 0 && error_.empty();
  gauge("bulwark_ha_peer_reachable", "1 when the last check reached the HA peer's control API.", reachable ? "1" : "0");
  gauge("bulwark_ha_peer_in_sync", "1 when the HA peer runs this node's revision and policy hash.",
        checks_ > 0 && tracker_.inSync() ? "1" : "0");
  gauge("bulwark_ha_peer_revision", "The HA peer's current revision (last check; -1: never read).",
        last_ ? std::to_string(last_->revision) : "-1");
  gauge("bulwark_ha_peer_check_seconds", "How long the last check of the HA peer took.", std::to_string(checkSeconds_));
  gauge("bulwark_ha_peer_out_of_sync_total", "Times the pair was found out of sync (alerts raised).",
        std::to_string(tracker_.alerts()), "counter");
  return t;
}

}  // namespace bulwark::daemon
