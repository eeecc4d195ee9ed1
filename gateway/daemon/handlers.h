#pragma once
// Control API operations → the reconciler: one case per op, with the arguments checked by
// request_args.h. Heavy operations answer later: their work runs on the policy worker
// (job_worker.h) or the counters thread, and the reply goes back through a Responder
// (dispatch.h, the request path both transports share).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "counter_worker.h"
#include "dispatch.h"
#include "job_worker.h"
#include "peer_auth.h"
#include "reconciler.h"

namespace bulwark::daemon {

struct HandlerLimits {
  int maxConfirmSeconds = 3600;
  std::string viciUri;  // empty: no VPN (tunnels/terminate answer not-found)
};

// The ops, against the reconciler and the workers. Loop thread only.
class RequestHandlers {
 public:
  RequestHandlers(EventLoop& loop, Reconciler& r, JobWorker& jobs, CounterWorker& counters, HandlerLimits limits)
      : loop_(loop), r_(r), jobs_(jobs), counters_(counters), limits_(std::move(limits)) {}

  std::optional<nlohmann::json> operator()(const Peer& peer, gateway::Request& req, Responder& respond);

  // SIGHUP: the same reload as the `reload` op; `done` gets the outcome (on the loop).
  void reload(const Actor& actor, std::function<void(const Outcome&)> done);
  // After each reload (op or SIGHUP), on the loop: main re-configures the TLS listener.
  void onReloaded(std::function<void()> fn) { onReloaded_ = std::move(fn); }
  // After each heavy request's completion (main hands freed heap back to the system).
  void afterHeavyWork(std::function<void()> fn) { afterHeavy_ = std::move(fn); }
  // More of the daemon's state in every `status` reply, on the loop (the HA pair's role).
  void addToStatus(std::function<void(nlohmann::json&)> fn) { statusExtra_ = std::move(fn); }

 private:
  [[nodiscard]] std::optional<nlohmann::json> submit(const Peer& peer, const nlohmann::json& id, JobWorker::Job job);
  std::optional<nlohmann::json> plan(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> apply(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> rollback(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> counters(gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> tunnels(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> terminate(const Peer& peer, gateway::Request& req, Responder& respond);
  void heavyDone();
  // The reply to a change, after the revocation its firewall change calls for (reconciler.h).
  void answerAfterRevocation(Outcome out, const nlohmann::json& id, const Responder& respond, const Actor& actor,
                             bool keepEstablished, std::vector<engine::KeptFlow> kept);

  EventLoop& loop_;
  Reconciler& r_;
  JobWorker& jobs_;
  CounterWorker& counters_;
  HandlerLimits limits_;
  std::function<void()> onReloaded_;
  std::function<void()> afterHeavy_;
  std::function<void(nlohmann::json&)> statusExtra_;
};

}  // namespace bulwark::daemon
