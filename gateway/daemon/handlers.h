#pragma once
#include <string>
// Control API operations → the reconciler. One function: request in, reply out.
#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "peer_auth.h"
#include "reconciler.h"

namespace bulwark::daemon {

struct HandlerLimits {
  int maxConfirmSeconds = 3600;
  std::string viciUri;  // empty: no VPN (tunnels/terminate answer not-found)
};

[[nodiscard]] nlohmann::json handleRequest(Reconciler& r, const Peer& peer, gateway::Op op, const nlohmann::json& req,
                                           const HandlerLimits& limits);

}  // namespace bulwark::daemon
