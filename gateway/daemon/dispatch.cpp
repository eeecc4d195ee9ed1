#include "dispatch.h"

namespace bulwark::daemon {

using gateway::ErrorCode;

std::string deniedMessage(const DispatchContext& ctx, const Peer& p, std::string_view op) {
  if (p.role == gateway::Role::Peer) {
    return "permission denied: " + p.who() + " is the HA peer; '" + std::string(op) + "' is not a peer operation";
  }
  if (gateway::opPeer(gateway::parseOp(op).value_or(gateway::Op::ShowStatus))) {
    return "permission denied: '" + std::string(op) + "' is for the HA pair's other node only (a certificate "
           "with group '" + gateway::kPeerGroup + "' named after that node)";
  }
  if (p.tls) {
    if (p.role == gateway::Role::None) {
      return "permission denied: " + p.who() + ": certificate group '" + p.certGroup +
             "' is not named in the policy's gateway.control change or view";
    }
    return "permission denied: " + p.who() + " has the read-only role (certificate group '" + p.certGroup +
           "' is in gateway.control view); '" + std::string(op) + "' needs a group listed in change";
  }
  if (p.role == gateway::Role::None) {
    return "permission denied: " + p.who() + " is not root and not in group '" + ctx.changeGroup +
           "' (may change) or '" + ctx.viewGroup + "' (may read)";
  }
  return "permission denied: " + p.who() + " has the read-only role ('" + ctx.viewGroup + "'); '" +
         std::string(op) + "' needs root or group '" + ctx.changeGroup + "'";
}

Dispatch dispatchRequest(const DispatchContext& ctx, const Peer& peer, gateway::Request& req, Responder respond) {
  Dispatch d;
  const auto op = gateway::opName(req.op);  // validated by parseRequest: one of ours
  if (peer.role == gateway::Role::None) {
    if (ctx.denied) ctx.denied(peer, op);
    d.reply = gateway::errorReply(req.id, ErrorCode::Denied, deniedMessage(ctx, peer, "connect"));
    d.close = true;
    return d;
  }
  // The peer role (the other node of an HA pair) has the peer-* operations and nothing else;
  // nobody else has them: an administrator's certificate cannot push a policy as a node.
  if (gateway::opPeer(req.op) != (peer.role == gateway::Role::Peer)) {
    if (ctx.denied) ctx.denied(peer, op);
    d.reply = gateway::errorReply(req.id, ErrorCode::Denied, deniedMessage(ctx, peer, op));
    return d;
  }
  if (gateway::opChanges(req.op) && peer.role != gateway::Role::Change) {
    if (ctx.denied) ctx.denied(peer, op);
    d.reply = gateway::errorReply(req.id, ErrorCode::Denied, deniedMessage(ctx, peer, op));
    return d;
  }
  if (req.op == gateway::Op::Events) {
    d.subscribe = true;
    d.reply = gateway::okReply(req.id, {{"subscribed", true}});
    return d;
  }
  d.reply = ctx.handler(peer, req, respond);
  if (d.reply && peer.tls && req.op == gateway::Op::ShowStatus && d.reply->value("ok", false)) {
    // The handler describes Unix peers (user, uid); a remote peer is its certificate.
    (*d.reply)["you"] = {{"certificate", {{"cn", peer.certCn}, {"group", peer.certGroup}, {"serial", peer.certSerial}}},
                         {"address", peer.address},
                         {"role", gateway::roleName(peer.role)}};
  }
  return d;
}

Dispatch dispatchLine(const DispatchContext& ctx, const Peer& peer, std::string_view line, Responder respond) {
  if (peer.role == gateway::Role::None) {
    // Authenticate first, then parse: nothing a peer without a role sends is looked at.
    if (ctx.denied) ctx.denied(peer, "connect");
    Dispatch d;
    d.reply = gateway::errorReply(nullptr, ErrorCode::Denied, deniedMessage(ctx, peer, "connect"));
    d.close = true;
    return d;
  }
  auto parsed = gateway::parseRequest(line);
  if (!parsed.request) {
    Dispatch d;
    d.reply = gateway::errorReply(parsed.id, ErrorCode::BadRequest, parsed.error);
    return d;
  }
  return dispatchRequest(ctx, peer, *parsed.request, std::move(respond));
}

}  // namespace bulwark::daemon
