#pragma once
// Control API operations → the reconciler: the request dispatch both transports share, and
// the handlers (one case per op). Heavy operations answer later: their work runs on the policy
// worker (job_worker.h) or the counters thread, and the reply goes back through a Responder.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "counter_worker.h"
#include "job_worker.h"
#include "peer_auth.h"
#include "reconciler.h"

namespace bulwark::daemon {

struct HandlerLimits {
  int maxConfirmSeconds = 3600;
  std::string viciUri;  // empty: no VPN (tunnels/terminate answer not-found)
  std::size_t maxHistory = 1000;
};

// Takes a request's reply as the line that goes on the wire (gateway::frame(reply)); called
// exactly once, on the loop thread, for a request whose handler deferred it.
using Responder = std::function<void(std::string framedReply)>;
// A reply now, or nullopt: the handler kept (moved) the Responder and answers later. The
// request may be taken apart (the sources are moved out of it).
using RequestHandler = std::function<std::optional<nlohmann::json>(const Peer&, gateway::Request&, Responder&)>;
// A refused attempt, audited by main: `what` is a validated op name, or "connect" (a peer
// without a role, refused at accept). Never raw client bytes.
using DeniedHandler = std::function<void(const Peer&, std::string_view what)>;

struct DispatchContext {
  RequestHandler handler;
  DeniedHandler denied;
  // The Unix socket's group names as configured (--change-group/--view-group), for refusals.
  std::string changeGroup = gateway::kGroupChange;
  std::string viewGroup = gateway::kGroupView;
};

// The one request path of both transports (connection.h, used by control_server.* and
// tls_listener.*): the peer is authenticated already (a peer without a role never gets this
// far: refused at accept or right after the TLS handshake; a None role here is refused and
// hung up on all the same); the view role may not change (refusals go to `denied`, which
// audits them); "events" subscribes; everything else goes to the handler.
struct Dispatch {
  std::optional<nlohmann::json> reply;  // nullopt: deferred, the responder will be called
  bool subscribe = false;
  bool close = false;  // hang up after the reply
};
[[nodiscard]] Dispatch dispatchRequest(const DispatchContext& ctx, const Peer& peer, gateway::Request& req,
                                       Responder respond);
// parseRequest + dispatchRequest (the fuzzer's entry point, and tests').
[[nodiscard]] Dispatch dispatchLine(const DispatchContext& ctx, const Peer& peer, std::string_view line,
                                    Responder respond);
// The refusal text for a peer without the role `op` needs ("connect": no role at all).
[[nodiscard]] std::string deniedMessage(const DispatchContext& ctx, const Peer& p, std::string_view op);

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

 private:
  [[nodiscard]] std::optional<nlohmann::json> submit(const Peer& peer, const nlohmann::json& id, JobWorker::Job job);
  std::optional<nlohmann::json> plan(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> apply(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> rollback(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> counters(gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> tunnels(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> terminate(const Peer& peer, gateway::Request& req, Responder& respond);
  void heavyDone();

  EventLoop& loop_;
  Reconciler& r_;
  JobWorker& jobs_;
  CounterWorker& counters_;
  HandlerLimits limits_;
  std::function<void()> onReloaded_;
  std::function<void()> afterHeavy_;
};

}  // namespace bulwark::daemon
