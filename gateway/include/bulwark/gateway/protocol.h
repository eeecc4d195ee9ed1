#pragma once
// The bulwarkd control protocol, shared by the daemon and its clients (bulwarkctl, tests,
// benchmarks, later the console).
//
// Transport: a Unix stream socket (default /run/bulwark/control.sock), or -- for the console
// and `bulwarkctl --connect` -- TLS 1.3 over TCP on the address the policy's gateway.control
// names, with a client certificate from Bulwark's CA whose group (OU) the policy maps to
// change or view (gateway/daemon/tls_listener.h). The same messages on both: JSON objects, one
// per line ('\n'-terminated, no raw newlines inside: nlohmann's dump() escapes them), at most
// kMaxMessageBytes each. Over TLS, `status` answers "you" as {"certificate": {"cn", "group",
// "serial"}, "address", "role"} instead of {"user", "uid", "role"}.
//
// Request:   {"id": 7, "op": "apply", ...arguments}
// Reply:     {"id": 7, "ok": true, ...}                  exactly one per request, same id
//            {"id": 7, "ok": false, "error": {"code": "denied", "message": "...",
//                                             "diagnostics": ["file:line:col: error: ..."]}}
// Event:     {"event": "apply", "time": "...", ...}       only after an "events" request;
//            the connection then stays open and carries events until the client closes it.
//
// Operations (read = any authorised peer; change = root or group `bulwark`):
//   status                                   read
//   plan     {sources | path}                read   (no sources: the daemon's policy dir)
//   apply    {sources | path, confirm?}      change (confirm: seconds until automatic rollback)
//   confirm                                  change
//   rollback {revision}                      change
//   reload                                   change (re-read the daemon's policy dir, as SIGHUP)
//   history  {limit?}                        read
//   counters                                 read
//   events                                   read   (streamed)
//   tunnels                                  read   (bulwarkd --vici only)
//   terminate {user}                         change (bulwarkd --vici only)
// `sources` is [{"name": "campus.yaml", "text": "..."}] (names appear in diagnostics);
// `path` is a file or directory the daemon reads itself.
//
// `counters` reply (one counters-only dump of table inet bulwark; values are the kernel's
// cumulative counters since the table was last replaced; all numbers are JSON integers):
//   {"id": .., "ok": true,
//    "table": true,                      false: Bulwark's table is not in the kernel (lists empty)
//    "zone_pairs": [{"from": "app", "to": "db",
//                    "packets": N, "bytes": N,            decided in this pair: its own rules +
//                                                         its default drop (see shared_rules)
//                    "drop_packets": N, "drop_bytes": N,  the pair's default drop
//                    "shared_rules": N}],                 rules this pair shares with other pairs:
//                                                         counted per rule only, not in packets/bytes
//    "rules": [{"rule": "public-web",                     policy rule name ("name:rate" /
//                                                         "name:connections" for its limit drops;
//                                                         built-ins such as "default-drop")
//               "origin": "campus.yaml:78",               "" for built-ins
//               "packets": N, "bytes": N,
//               "zone_pairs": ["app>db"]}],               pairs whose chains lead to the rule
//    "conntrack": {"count": N|null, "max": N|null},       nf_conntrack_count / _max of the
//                                                         daemon's netns (null: module not loaded)
//    "dump_millis": 1.5}                                  time the kernel dump took
//
// `tunnels` reply: {"tunnels": [{"user": "alice", "group": "netops", "identity": "CN=alice, OU=netops",
//   "virtual_ip": "10.250.0.1", "outer": "192.0.2.2", "state": "ESTABLISHED", "since": <Unix time>,
//   "bytes_in": N, "bytes_out": N, "packets_in": N, "packets_out": N, "ike_id": "3"}]};
//   `terminate {user}` reply: {"terminated": <IKE_SAs closed>} (not_found when none was up).
// Tunnel events (after "events"): {"event": "tunnel", "state": "up"|"down", "sa": "ike"|"child",
//   "connection": "bulwark-admin-netops", "user": "alice", "time": "..."}.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bulwark::gateway {

inline constexpr const char* kDefaultSocketPath = "/run/bulwark/control.sock";
inline constexpr const char* kDefaultStateDir = "/var/lib/bulwark";
inline constexpr const char* kDefaultMetricsAddress = "127.0.0.1:9469";
inline constexpr std::size_t kMaxMessageBytes = 64u << 20;  // policies are large, but not that large

// Group names that grant access over the Unix socket (root always may change).
inline constexpr const char* kGroupChange = "bulwark";
inline constexpr const char* kGroupView = "bulwark-view";

enum class Role { None, View, Change };
[[nodiscard]] std::string_view roleName(Role r);

enum class ErrorCode {
  Denied,         // peer not allowed (or view role asking to change)
  BadRequest,     // malformed JSON, unknown op, missing argument
  InvalidPolicy,  // diagnostics attached; nothing changed
  Kernel,         // the kernel refused; nothing changed (batches are atomic)
  Conflict,       // e.g. an apply awaits confirmation
  NotFound,       // unknown revision
  Internal,
};
[[nodiscard]] std::string_view errorCodeName(ErrorCode c);

enum class Op { ShowStatus, Plan, Apply, Confirm, Rollback, Reload, History, Counters, Events, Tunnels, Terminate };
[[nodiscard]] std::optional<Op> parseOp(std::string_view name);
[[nodiscard]] std::string_view opName(Op op);
[[nodiscard]] bool opChanges(Op op);  // needs Role::Change

// Builders for replies.
[[nodiscard]] nlohmann::json okReply(const nlohmann::json& id, nlohmann::json body = nlohmann::json::object());
[[nodiscard]] nlohmann::json errorReply(const nlohmann::json& id, ErrorCode code, std::string_view message,
                                        const nlohmann::json& diagnostics = nullptr);

// Splits a byte stream into lines. append() returns false when a line grows beyond the limit
// (the peer is then dropped: the stream cannot be resynchronised).
class LineFramer {
 public:
  explicit LineFramer(std::size_t maxLine = kMaxMessageBytes) : max_(maxLine) {}
  [[nodiscard]] bool append(std::string_view bytes);
  // The next complete line without its '\n', if any.
  [[nodiscard]] std::optional<std::string> next();

 private:
  std::string buf_;
  std::size_t scanned_ = 0;
  std::size_t max_;
};

// One message as it goes on the wire (JSON + '\n').
[[nodiscard]] std::string frame(const nlohmann::json& msg);

}  // namespace bulwark::gateway
