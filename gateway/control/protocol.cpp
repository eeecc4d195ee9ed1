#include "bulwark/gateway/protocol.h"

#include <array>
#include <cstring>
#include <utility>

#include "bulwark/gateway/result.h"

namespace bulwark::gateway {

Error sysError(const std::string& what, int err) { return Error{what + ": " + std::strerror(err), err}; }

std::string_view roleName(Role r) {
  switch (r) {
    case Role::None: return "none";
    case Role::View: return "view";
    case Role::Change: return "change";
  }
  return "none";
}

std::string_view errorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::Denied: return "denied";
    case ErrorCode::BadRequest: return "bad_request";
    case ErrorCode::InvalidPolicy: return "invalid_policy";
    case ErrorCode::Kernel: return "kernel";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::Internal: return "internal";
  }
  return "internal";
}

namespace {
constexpr std::array<std::pair<Op, std::string_view>, 11> kOps{{
    {Op::ShowStatus, "status"},
    {Op::Plan, "plan"},
    {Op::Apply, "apply"},
    {Op::Confirm, "confirm"},
    {Op::Rollback, "rollback"},
    {Op::Reload, "reload"},
    {Op::History, "history"},
    {Op::Counters, "counters"},
    {Op::Events, "events"},
    {Op::Tunnels, "tunnels"},
    {Op::Terminate, "terminate"},
}};
}  // namespace

std::optional<Op> parseOp(std::string_view name) {
  for (const auto& [op, n] : kOps) {
    if (n == name) return op;
  }
  return std::nullopt;
}

std::string_view opName(Op op) {
  for (const auto& [o, n] : kOps) {
    if (o == op) return n;
  }
  return "?";
}

bool opChanges(Op op) {
  return op == Op::Apply || op == Op::Confirm || op == Op::Rollback || op == Op::Reload || op == Op::Terminate;
}

nlohmann::json okReply(const nlohmann::json& id, nlohmann::json body) {
  if (!body.is_object()) body = nlohmann::json::object();
  body["id"] = id;
  body["ok"] = true;
  return body;
}

nlohmann::json errorReply(const nlohmann::json& id, ErrorCode code, std::string_view message,
                          const nlohmann::json& diagnostics) {
  nlohmann::json err{{"code", errorCodeName(code)}, {"message", message}};
  if (!diagnostics.is_null()) err["diagnostics"] = diagnostics;
  return nlohmann::json{{"id", id}, {"ok", false}, {"error", std::move(err)}};
}

bool LineFramer::append(std::string_view bytes) {
  buf_.append(bytes);
  // A line may only be longer than the limit if its newline has not arrived yet.
  auto nl = buf_.find('\n', scanned_);
  if (nl == std::string::npos) {
    scanned_ = buf_.size();
    return buf_.size() <= max_;
  }
  return nl <= max_;
}

std::optional<std::string> LineFramer::next() {
  auto nl = buf_.find('\n');
  if (nl == std::string::npos) {
    scanned_ = buf_.size();
    return std::nullopt;
  }
  std::string line = buf_.substr(0, nl);
  buf_.erase(0, nl + 1);
  scanned_ = 0;
  return line;
}

std::string frame(const nlohmann::json& msg) {
  // Invalid UTF-8 from a policy file must not make dump() throw: replace it.
  auto s = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s.push_back('\n');
  return s;
}

}  // namespace bulwark::gateway
