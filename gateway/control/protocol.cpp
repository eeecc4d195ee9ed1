#include "bulwark/gateway/protocol.h"

#include <algorithm>
#include <array>
#include <utility>

#include "bulwark/gateway/result.h"
#include "bulwark/policies/source_files.h"

namespace bulwark::gateway {

std::string_view roleName(Role r) {
  switch (r) {
    case Role::None: return "none";
    case Role::View: return "view";
    case Role::Change: return "change";
    case Role::Peer: return "peer";
  }
  return "none";
}

std::string_view errorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::Denied: return "denied";
    case ErrorCode::BadRequest: return "bad_request";
    case ErrorCode::InvalidPolicy: return "invalid_policy";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Kernel: return "kernel";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::Internal: return "internal";
  }
  return "internal";
}

namespace {
constexpr std::array<std::pair<Op, std::string_view>, 17> kOps{{
    {Op::ShowStatus, "status"},
    {Op::Plan, "plan"},
    {Op::Apply, "apply"},
    {Op::Confirm, "confirm"},
    {Op::Rollback, "rollback"},
    {Op::Reload, "reload"},
    {Op::History, "history"},
    {Op::Revision, "revision"},
    {Op::Counters, "counters"},
    {Op::Events, "events"},
    {Op::Tunnels, "tunnels"},
    {Op::Terminate, "terminate"},
    {Op::PeerStatus, "peer-status"},
    {Op::PeerPlan, "peer-plan"},
    {Op::PeerApply, "peer-apply"},
    {Op::PeerConfirm, "peer-confirm"},
    {Op::PeerAbort, "peer-abort"},
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

bool opPeer(Op op) {
  return op == Op::PeerStatus || op == Op::PeerPlan || op == Op::PeerApply || op == Op::PeerConfirm ||
         op == Op::PeerAbort;
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

bool jsonWithinBounds(std::string_view text, std::size_t maxDepth, std::size_t maxValues) {
  std::size_t depth = 0;
  std::size_t values = 1;  // the top-level value
  bool inString = false;
  bool escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    switch (c) {
      case '"': inString = true; break;
      case '[':
      case '{':
        if (++depth > maxDepth) return false;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case ',':  // one more element or member
      case ':':  // a member's value
        if (++values > maxValues) return false;
        break;
      default: break;
    }
  }
  return true;
}

namespace {

bool validId(const nlohmann::json& id) {
  if (id.is_null() || id.is_boolean() || id.is_number()) return true;
  return id.is_string() && id.get_ref<const std::string&>().size() <= kMaxIdBytes;
}

}  // namespace

ParsedRequest parseRequest(std::string_view line) {
  ParsedRequest out;
  if (line.size() > kMaxRequestBytes) {
    out.error = "request longer than " + std::to_string(kMaxRequestBytes) + " bytes";
    return out;
  }
  // Depth and size are settled before the parser builds anything: a DOM of unbounded depth
  // is copied, compared and dumped recursively (a 70,000-deep "id" crashed the daemon).
  if (!jsonWithinBounds(line, kMaxJsonDepth, kMaxJsonValues)) {
    out.error = "request nests deeper than " + std::to_string(kMaxJsonDepth) + " levels or holds more than " +
                std::to_string(kMaxJsonValues) + " values";
    return out;
  }
  auto req = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (req.is_discarded() || !req.is_object()) {
    out.error = "not a JSON object";
    return out;
  }
  if (auto it = req.find("id"); it != req.end()) {
    if (!validId(*it)) {
      out.error = "'id' must be null, a boolean, a number or a string of at most " + std::to_string(kMaxIdBytes) +
                  " bytes";
      return out;
    }
    out.id = *it;
  }
  auto opIt = req.find("op");
  if (opIt == req.end()) {
    out.error = "missing 'op'";
    return out;
  }
  if (!opIt->is_string()) {
    out.error = "'op' must be a string";
    return out;
  }
  const auto& name = opIt->get_ref<const std::string&>();
  auto op = name.size() <= kMaxOpBytes ? parseOp(name) : std::nullopt;
  if (!op) {
    out.error = "unknown op '" + policies::printable(name, kMaxOpBytes) + "'";
    return out;
  }
  Request r;
  r.id = out.id;
  r.op = *op;
  r.body = std::move(req);
  out.request = std::move(r);
  return out;
}

bool LineFramer::append(std::string_view bytes) {
  // Drop what next() has consumed once it is at least half the buffer: each byte is moved
  // at most once more than it is received, so the work stays linear.
  if (start_ > 0 && start_ >= buf_.size() - start_) {
    buf_.erase(0, start_);
    for (auto& e : ends_) e -= start_;
    pendingStart_ -= start_;
    start_ = 0;
    // A large request is done with: give its memory back instead of keeping the capacity.
    if (buf_.empty() && buf_.capacity() > (1u << 20)) std::string().swap(buf_);
  }
  const std::size_t from = buf_.size();
  buf_.append(bytes);
  // Each new byte is scanned once; the lines completed in it are checked against the limit.
  const char* base = buf_.data();
  std::size_t at = from;
  while (at < buf_.size()) {
    const void* hit = std::memchr(base + at, '\n', buf_.size() - at);
    if (hit == nullptr) break;
    auto nl = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    if (nl - pendingStart_ > max_) return false;
    ends_.push_back(nl);
    pendingStart_ = nl + 1;
    at = nl + 1;
  }
  return buf_.size() - pendingStart_ <= max_;
}

std::optional<std::string_view> LineFramer::next() {
  if (ends_.empty()) return std::nullopt;
  std::size_t nl = ends_.front();
  ends_.pop_front();
  std::string_view line(buf_.data() + start_, nl - start_);
  start_ = nl + 1;
  return line;
}

std::optional<std::string> LineFramer::nextOwned() {
  if (ends_.empty()) return std::nullopt;
  const std::size_t nl = ends_.front();
  if (start_ != 0) {
    auto line = next();
    return std::string(*line);
  }
  ends_.pop_front();
  // The line is the front of the buffer: hand the buffer over and keep only what follows.
  std::string rest = buf_.substr(nl + 1);
  std::string line = std::move(buf_);
  line.resize(nl);
  buf_ = std::move(rest);
  for (auto& e : ends_) e -= nl + 1;
  pendingStart_ -= nl + 1;
  start_ = 0;
  return line;
}

std::string frame(const nlohmann::json& msg) {
  // Invalid UTF-8 from a policy file must not make dump() throw: replace it.
  auto s = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s.push_back('\n');
  return s;
}

}  // namespace bulwark::gateway
