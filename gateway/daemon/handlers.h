#pragma once
// Control API operations → the reconciler: the request dispatch both transports share, and
// one function per request (request in, reply out).
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "peer_auth.h"
#include "reconciler.h"

namespace bulwark::daemon {

struct HandlerLimits {
  int maxConfirmSeconds = 3600;
  std::string viciUri;  // empty: no VPN (tunnels/terminate answer not-found)
};

// The one request path of both transports (control_server.* for the Unix socket,
// tls_listener.* for TLS): parse the line, check the peer's role against the op (a peer with
// no role is refused and hung up on; the view role may not change; refusals go to `denied`,
// which audits them), "events" subscribes, everything else goes to `handler`. The refusal
// texts name the peer as its transport knows it (uid and groups, or certificate and group).
struct Dispatch {
  nlohmann::json reply;
  bool subscribe = false;
  bool close = false;  // refused peer: hang up after the reply
};
using RequestHandler = std::function<nlohmann::json(const Peer&, gateway::Op, const nlohmann::json& request)>;
using DeniedHandler = std::function<void(const Peer&, std::string_view op)>;
[[nodiscard]] Dispatch dispatchRequest(const Peer& peer, const std::string& line, const RequestHandler& handler,
                                       const DeniedHandler& denied);

[[nodiscard]] nlohmann::json handleRequest(Reconciler& r, const Peer& peer, gateway::Op op, const nlohmann::json& req,
                                           const HandlerLimits& limits);

}  // namespace bulwark::daemon
