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
#include "peer_link.h"
#include "reconciler.h"

namespace bulwark::daemon {

// An outcome as the reply to request `id`; "busy" (conflict); who a peer is in the audit.
[[nodiscard]] nlohmann::json reply(const nlohmann::json& id, const Outcome& out);
[[nodiscard]] nlohmann::json busy(const nlohmann::json& id, std::string_view what);
[[nodiscard]] Actor actorOf(const Peer& peer);

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

  // SIGHUP: the same reload as the `reload` op; `done` gets the outcome (on the loop). On an
  // HA pair's node (unless `localOnly`) a policy dir that differs from the running revision is
  // a pair apply of its content (both nodes or neither; pair_handlers.cpp).
  void reload(const Actor& actor, std::function<void(const Outcome&)> done, bool localOnly = false);
  // After each reload (op or SIGHUP), on the loop: main re-configures the TLS listener.
  void onReloaded(std::function<void()> fn) { onReloaded_ = std::move(fn); }
  // After each heavy request's completion (main hands freed heap back to the system).
  void afterHeavyWork(std::function<void()> fn) { afterHeavy_ = std::move(fn); }
  // More of the daemon's state in every `status` reply, on the loop (the HA pair's role).
  void addToStatus(std::function<void(nlohmann::json&)> fn) { statusExtra_ = std::move(fn); }

  // The HA pair (peer_link.h), from the policy dir (loop): apply, plan and confirm then cover
  // both nodes, and the peer-* operations answer the other node. nullopt: no pair. The calls
  // to the peer run on `peerJobs` (a worker of their own: they wait on the network).
  void setPair(std::optional<PeerConfig> pair, JobWorker* peerJobs) {
    pair_ = std::move(pair);
    peerJobs_ = peerJobs;
  }
  [[nodiscard]] const std::optional<PeerConfig>& pair() const { return pair_; }
  // This node's side of the pair (loop): revision, hash, latest, pending, HA role.
  [[nodiscard]] PairState pairState() const;
 private:
  [[nodiscard]] std::optional<nlohmann::json> submit(const Peer& peer, const nlohmann::json& id, JobWorker::Job job);
  std::optional<nlohmann::json> plan(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> apply(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> rollback(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> revision(const Peer& peer, const gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> counters(gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> tunnels(const Peer& peer, gateway::Request& req, Responder& respond);
  std::optional<nlohmann::json> terminate(const Peer& peer, gateway::Request& req, Responder& respond);
  void heavyDone();
  // pair_handlers.cpp: the pair's side of plan/apply/confirm, and the peer-* operations.
  std::optional<nlohmann::json> submitPeer(const nlohmann::json& id, JobWorker::Job job);
  std::optional<nlohmann::json> pairPlan(gateway::Request& req, std::optional<PolicyInput> in,
                                         std::optional<review::AppliedPolicy> applied, Responder& respond);
  // What a pair apply carries from its request to its last step (apply, rollback, reload).
  struct PairChange {
    Actor actor;
    std::optional<PolicyInput> in;  // nullopt: the policy dir
    std::optional<int> confirm;     // asked for (else the pair commits at once)
    bool resync = false;
    bool keepEstablished = false;
    std::vector<engine::KeptFlow> kept;
    bool reload = false;  // the policy dir by a reload: audited as one; unchanged dir = local reload
  };
  using PairDone = std::function<void(Outcome)>;  // on the loop, once
  // Refused at once (the peer worker is full): the outcome to answer; else `done` answers.
  std::optional<Outcome> pairApply(PairChange change, PairDone done);
  std::optional<nlohmann::json> pairRollback(const Actor& actor, const nlohmann::json& id, int revision,
                                             PolicyInput in, std::vector<engine::KeptFlow> kept, Responder& respond);
  void pairReload(const Actor& actor, std::function<void(const Outcome&)> done);
  std::optional<nlohmann::json> pairConfirm(const Peer& peer, gateway::Request& req, Responder& respond);
  // The half that follows the peer's successful peer-apply, on the loop.
  void pairApplyHere(const PeerConfig& cfg, std::shared_ptr<PreparedPolicy> prepared,
                     std::shared_ptr<PairChange> change, int window, int revision, nlohmann::json peerBody,
                     PairDone done);
  // A job for the peer worker; false: its queue is full.
  [[nodiscard]] bool queuePeer(JobWorker::Job job);
  // A local reload of what the worker read (the reload op's second half, on the loop).
  void reloadHere(std::shared_ptr<gateway::Result<PreparedPolicy>> prepared, const Actor& actor,
                  std::function<void(const Outcome&)> done);
  std::optional<nlohmann::json> peerOp(const Peer& peer, gateway::Request& req, Responder& respond);
  // The cut a change owes (takes out.firewallChange): none when it failed or changed nothing
  // a connection could be judged by, or when the caller keeps established connections (said in
  // the reply and audited here).
  std::optional<engine::FirewallChange> owedRevocation(Outcome& out, const Actor& actor, bool keepEstablished);
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
  std::optional<PeerConfig> pair_;
  JobWorker* peerJobs_ = nullptr;
};

}  // namespace bulwark::daemon
