#include "handlers.h"

#include <map>

#include "counters.h"
#include "vpn_kind.h"

namespace bulwark::daemon {

namespace {

using gateway::ErrorCode;

nlohmann::json reply(const nlohmann::json& id, Outcome out) {
  if (out.ok) return gateway::okReply(id, std::move(out.body));
  return gateway::errorReply(id, out.code, out.message,
                             out.details.empty() ? nlohmann::json(nullptr) : nlohmann::json(out.details));
}

// The policy of a plan/apply request: inline sources, or a path the daemon reads.
std::optional<gateway::Result<PolicyInput>> policyOf(const nlohmann::json& req) {
  if (req.contains("sources")) return policyFromJson(req["sources"]);
  if (req.contains("path")) {
    if (!req["path"].is_string()) return gateway::Result<PolicyInput>(gateway::Error{"'path' must be a string"});
    return readPolicyPath(req["path"].get<std::string>());
  }
  return std::nullopt;
}

std::string deniedMessage(const Peer& p, std::string_view op) {
  if (p.tls) {
    if (p.role == gateway::Role::None) {
      return "permission denied: " + p.who() + ": certificate group '" + p.certGroup +
             "' is not named in the policy's gateway.control change or view";
    }
    return "permission denied: " + p.who() + " has the read-only role (certificate group '" + p.certGroup +
           "' is in gateway.control view); '" + std::string(op) + "' needs a group listed in change";
  }
  if (p.role == gateway::Role::None) {
    return "permission denied: " + p.who() + " is not root and not in group '" + gateway::kGroupChange +
           "' (may change) or '" + gateway::kGroupView + "' (may read)";
  }
  return "permission denied: " + p.who() + " has the read-only role ('" + gateway::kGroupView + "'); '" +
         std::string(op) + "' needs root or group '" + gateway::kGroupChange + "'";
}

nlohmann::json counters(const nlohmann::json& id) {
  auto report = collectCounters();
  if (!report) return gateway::errorReply(id, ErrorCode::Kernel, report.error().message);
  return gateway::okReply(id, countersJson(*report));
}

}  // namespace

Dispatch dispatchRequest(const Peer& peer, const std::string& line, const RequestHandler& handler,
                         const DeniedHandler& denied) {
  Dispatch d;
  auto req = nlohmann::json::parse(line, nullptr, false);
  if (req.is_discarded() || !req.is_object()) {
    d.reply = gateway::errorReply(nullptr, gateway::ErrorCode::BadRequest, "not a JSON object");
    return d;
  }
  nlohmann::json id = req.contains("id") ? req["id"] : nlohmann::json(nullptr);
  std::string opName = req.contains("op") && req["op"].is_string() ? req["op"].get<std::string>() : "";
  if (peer.role == gateway::Role::None) {
    if (denied) denied(peer, opName.empty() ? "?" : opName);
    d.reply = gateway::errorReply(id, gateway::ErrorCode::Denied, deniedMessage(peer, opName));
    d.close = true;
    return d;
  }
  if (opName.empty()) {
    d.reply = gateway::errorReply(id, gateway::ErrorCode::BadRequest, "missing 'op'");
    return d;
  }
  auto op = gateway::parseOp(opName);
  if (!op) {
    d.reply = gateway::errorReply(id, gateway::ErrorCode::BadRequest, "unknown op '" + opName + "'");
    return d;
  }
  if (gateway::opChanges(*op) && peer.role != gateway::Role::Change) {
    if (denied) denied(peer, opName);
    d.reply = gateway::errorReply(id, gateway::ErrorCode::Denied, deniedMessage(peer, opName));
    return d;
  }
  if (*op == gateway::Op::Events) {
    d.subscribe = true;
    d.reply = gateway::okReply(id, {{"subscribed", true}});
    return d;
  }
  d.reply = handler(peer, *op, req);
  if (peer.tls && *op == gateway::Op::ShowStatus && d.reply.value("ok", false)) {
    // The handler describes Unix peers (user, uid); a remote peer is its certificate.
    d.reply["you"] = {{"certificate", {{"cn", peer.certCn}, {"group", peer.certGroup}, {"serial", peer.certSerial}}},
                      {"address", peer.address},
                      {"role", gateway::roleName(peer.role)}};
  }
  return d;
}

nlohmann::json handleRequest(Reconciler& r, const Peer& peer, gateway::Op op, const nlohmann::json& req,
                             const HandlerLimits& limits) {
  const nlohmann::json id = req.contains("id") ? req["id"] : nlohmann::json(nullptr);
  Actor actor{peer.who(), peer.tls ? -1L : static_cast<long>(peer.uid)};  // a certificate has no uid
  switch (op) {
    case gateway::Op::ShowStatus: {
      auto body = r.status();
      body["you"] = {{"user", peer.user}, {"uid", peer.uid}, {"role", gateway::roleName(peer.role)}};
      return gateway::okReply(id, std::move(body));
    }
    case gateway::Op::Plan: {
      auto in = policyOf(req);
      if (in && !*in) return gateway::errorReply(id, ErrorCode::BadRequest, (*in).error().message);
      return reply(id, r.plan(in ? std::optional<PolicyInput>(std::move(in->value())) : std::nullopt));
    }
    case gateway::Op::Apply: {
      auto in = policyOf(req);
      if (!in) return gateway::errorReply(id, ErrorCode::BadRequest, "apply needs 'sources' or 'path'");
      if (!*in) return gateway::errorReply(id, ErrorCode::BadRequest, (*in).error().message);
      std::optional<int> confirm;
      if (req.contains("confirm") && !req["confirm"].is_null()) {
        if (!req["confirm"].is_number_integer() || req["confirm"].get<long>() < 1 ||
            req["confirm"].get<long>() > limits.maxConfirmSeconds) {
          return gateway::errorReply(id, ErrorCode::BadRequest,
                                     "'confirm' must be 1.." + std::to_string(limits.maxConfirmSeconds) + " seconds");
        }
        confirm = req["confirm"].get<int>();
      }
      return reply(id, r.apply(in->value(), actor, confirm));
    }
    case gateway::Op::Confirm: return reply(id, r.confirm(actor));
    case gateway::Op::Rollback: {
      if (!req.contains("revision") || !req["revision"].is_number_integer()) {
        return gateway::errorReply(id, ErrorCode::BadRequest, "rollback needs an integer 'revision'");
      }
      return reply(id, r.rollback(req["revision"].get<int>(), actor));
    }
    case gateway::Op::Reload: return reply(id, r.reload(actor));
    case gateway::Op::History: {
      std::size_t limit = 50;
      if (req.contains("limit") && req["limit"].is_number_unsigned()) limit = req["limit"].get<std::size_t>();
      return gateway::okReply(id, {{"revisions", r.history(limit)}});
    }
    case gateway::Op::Counters: return counters(id);
    case gateway::Op::Events: break;  // handled by the server (subscription)
    case gateway::Op::Tunnels: {
      if (limits.viciUri.empty()) return gateway::errorReply(id, ErrorCode::NotFound, "no VPN: bulwarkd runs without --vici");
      auto rows = tunnelRows(limits.viciUri);
      if (!rows) return gateway::errorReply(id, ErrorCode::Internal, rows.error().message);
      return gateway::okReply(id, {{"tunnels", *rows}});
    }
    case gateway::Op::Terminate: {
      if (limits.viciUri.empty()) return gateway::errorReply(id, ErrorCode::NotFound, "no VPN: bulwarkd runs without --vici");
      if (!req.contains("user") || !req["user"].is_string() || req["user"].get<std::string>().empty()) {
        return gateway::errorReply(id, ErrorCode::BadRequest, "terminate needs a 'user'");
      }
      const auto user = req["user"].get<std::string>();
      auto n = terminateTunnels(limits.viciUri, user);
      if (!n) return gateway::errorReply(id, ErrorCode::Internal, n.error().message);
      r.audit().record({"terminate", actor.who, actor.uid, r.currentRevision(), "",
                        "terminated " + std::to_string(*n) + " tunnel(s) of " + user, true, {{"user", user}}});
      if (*n == 0) return gateway::errorReply(id, ErrorCode::NotFound, "no tunnel of " + user + " is up");
      return gateway::okReply(id, {{"terminated", *n}});
    }
  }
  return gateway::errorReply(id, ErrorCode::BadRequest, "unsupported op");
}

}  // namespace bulwark::daemon
