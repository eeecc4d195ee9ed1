#pragma once
// The one request path of both transports (connection.h, used by control_server.* and
// tls_listener.*): role checks, refusals, the events subscription, and the hand-over to the
// handler. Pure (no daemon state): the request dispatch fuzz target (tests/fuzz) runs it with
// every role.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "peer_auth.h"

namespace bulwark::daemon {

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

// The peer is authenticated already (a peer without a role never gets this
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

}  // namespace bulwark::daemon
