#pragma once
// The bulwarkd control protocol, shared by the daemon and its clients (bulwarkctl, tests,
// benchmarks, later the console).
//
// Transport: a Unix stream socket (default /run/bulwark/control.sock), or -- for the console
// and `bulwarkctl --connect` -- TLS 1.3 over TCP on the address the policy's gateway.control
// names, with a client certificate from Bulwark's CA whose group (OU) the policy maps to
// change or view (gateway/daemon/tls_listener.h). The same messages on both: JSON objects, one
// per line ('\n'-terminated, no raw newlines inside: nlohmann's dump() escapes them). Over TLS,
// `status` answers "you" as {"certificate": {"cn", "group", "serial"}, "address", "role"}
// instead of {"user", "uid", "role"}.
//
// Who may talk at all is settled before a byte is parsed: a Unix peer without a role (not
// root, not in the change or view group) gets one refusal line at accept and is hung up on; a
// TLS peer has no connection slot until its certificate is verified, and one whose group has
// no role gets the same one-line refusal. Everything an authorised peer sends is bounded
// before anything recursive runs (parseRequest): a request line holds at most
// kMaxRequestBytes, nesting at most kMaxJsonDepth, at most kMaxJsonValues values; `id` is a
// scalar (a string of at most kMaxIdBytes); `op` one of the names below. A violation gets
// `bad_request` (with "id": null when the id itself was the problem); replies and logs quote
// at most a short, escaped part of what the client sent.
//
// Request:   {"id": 7, "op": "apply", ...arguments}
// Reply:     {"id": 7, "ok": true, ...}                  exactly one per request, same id
//            {"id": 7, "ok": false, "error": {"code": "denied", "message": "...",
//                                             "diagnostics": ["file:line:col: error: ..."]}}
// Event:     {"event": "apply", "time": "...", ...}       only after an "events" request;
//            the connection then stays open and carries events until the client closes it.
//
// Operations (read = any authorised peer; change = root or the change group, `bulwark` by
// default):
//   status                                   read
//   plan     {sources?, nft_only?,           read   (no sources: the daemon's policy dir;
//             local_only?, session?, parts?}         nft_only: true = no "review", below)
//   apply    {sources?, confirm?,            change (no sources: the daemon's policy dir;
//             keep_established?, session?,           confirm: seconds until automatic rollback;
//             parts?}                                keep_established: true = no revocation;
//                                                    session: "ip port ip port", never cut)
//   `parts` (plan, apply): ["firewall", "vpn", ...], kinds of this daemon (status lists
//   them); only those are planned/applied, the others keep what they hold. The policy's own
//   errors count whatever the parts. Not on an HA pair's node without local_only. The
//   revision records its parts (history: "parts"); a rollback to it applies those only (on a
//   pair's node: with local_only, as it was applied).
//
// Error codes: denied, bad_request, invalid_policy (the policy must change: diagnostics
// attached), unavailable (this machine lacks what the policy needs: PKI files, charon, an
// interface), kernel (the kernel or charon refused), conflict (pending confirm, busy),
// not_found, internal. A plan names every part's error, not only the first; its code is
// the first of invalid_policy, unavailable, kernel that applies.
//   confirm                                  change
//   rollback {revision}                      change (revision: 1 .. 2^31-1)
//   reload   {local_only?}                   change (re-read the daemon's policy dir, as SIGHUP;
//                                                    an HA pair's node: a changed dir goes to
//                                                    both nodes, unless local_only)
//   history  {limit?}                        read
//   counters                                 read
//   events                                   read   (streamed)
//   tunnels                                  read   (bulwarkd --vici only)
//   terminate {user}                         change (bulwarkd --vici only)
// An HA pair's nodes to each other only (the peer role: a certificate with OU kPeerGroup and,
// as CN, the name of the other node in the policy's ha.nodes; no other role may call these,
// and the peer role may call nothing else). Every one carries "peer_protocol" (kPeerProtocol;
// another value is refused: the nodes run different bulwarkd versions) and "node" (the
// caller's name, which must be the certificate's CN). gateway/daemon/peer_ops.h:
//   peer-status                              this node's revision, hash, pending, HA role
//   peer-plan   {sources}                    plan of these sources on this node
//   peer-apply  {sources, revision, confirm} validate and apply with a confirm window, record
//                                            as `revision`; answered once applied (or not)
//   peer-confirm {revision}                  confirm the pair apply `revision` (pending here)
//   peer-abort   {revision}                  roll the pending pair apply `revision` back now
// `sources` is [{"name": "campus.yaml", "text": "..."}]: the policy's files as the client read
// them with its own rights (the daemon never opens a path a client names). At most
// policies::kMaxPolicyFiles files and policies::kMaxPolicyBytes of text in all; a name is
// 1..policies::kMaxSourceNameBytes bytes without NUL or other control characters (names appear
// in diagnostics, history and the comments of kernel rules). Diagnostics quote only the
// sources sent, or, without sources, the daemon's own policy dir.
//
// Heavy requests are answered later, in order per connection: plan, apply, rollback and reload
// load and compile the policy on a worker thread (status and confirm are answered meanwhile),
// counters dump on the counters thread, tunnels/terminate talk to charon off the loop. A
// connection has one request in flight; further lines wait. When the workers are full the
// reply is `conflict` ("busy").
//
// `plan` reply: {"in_sync", "policy_hash", "kinds": [{"kind", "in_sync", "changes",
// "commands", ...}], "warnings", "review"}. "review" (review/plan_review.h) is the change in
// policy terms from the running revision's recorded policy to the proposed one, and its
// effect: {"known": true, "text", "before": "revision N (running)", "after": "proposed" (or
// the policy dir), "changed", "policy_changes", "effect", "invariants",
// "more_policy_changes", "more_effect_groups"} -- bounded (kPlanReviewLimits: 200 changes,
// 50 flow groups of 50 lines each; each group's "more_flows" and the "more_*" counts say
// what was left out) -- or {"known": false, "reason"} before the first revision or when the
// revision's record does not load. Absent with nft_only, and in an HA pair's plan.
//
// `counters` reply (one counters-only dump of table inet bulwark; values are the kernel's
// cumulative counters since the table was last replaced; all numbers are JSON integers):
//   {"id": .., "ok": true,
//    "table": true,                      false: Bulwark's table is not in the kernel (lists empty)
//    "zone_pairs": [{"from": "app", "to": "db",
//                    "packets": N, "bytes": N,            every forwarded packet of the pair:
//                                                         decided by its own rules (see
//                                                         shared_rules) or its default drop,
//                                                         or established (both directions)
//                    "drop_packets": N, "drop_bytes": N,  the pair's default drop
//                    "established_packets": N,            after each connection's first
//                    "established_bytes": N,              packets, both directions
//                    "reply_packets": N, "reply_bytes": N,  of those, the replies (to → from)
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
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bulwark::gateway {

inline constexpr const char* kDefaultSocketPath = "/run/bulwark/control.sock";
inline constexpr const char* kDefaultStateDir = "/var/lib/bulwark/state";
inline constexpr const char* kDefaultMetricsAddress = "127.0.0.1:9469";
// A request line: a policy of policies::kMaxPolicyBytes plus its JSON escaping.
inline constexpr std::size_t kMaxRequestBytes = 24u << 20;
// A reply line as a client accepts it (a plan of a large policy lists every command).
inline constexpr std::size_t kMaxReplyBytes = 256u << 20;
inline constexpr std::size_t kMaxJsonDepth = 64;
inline constexpr std::size_t kMaxJsonValues = 10000;
inline constexpr std::size_t kMaxIdBytes = 128;
inline constexpr std::size_t kMaxOpBytes = 32;

// Group names that grant access over the Unix socket (root always may change).
inline constexpr const char* kGroupChange = "bulwark";
inline constexpr const char* kGroupView = "bulwark-view";

enum class Role { None, View, Change, Peer };
// The certificate group (OU) of an HA pair's node certificates (`bulwarkctl pki issue NODE
// --group bulwark-peer`); the CN is the node's name in ha.nodes.
inline constexpr const char* kPeerGroup = "bulwark-peer";
// The version of the peer-* operations; both nodes of a pair must speak the same.
inline constexpr int kPeerProtocol = 1;
[[nodiscard]] std::string_view roleName(Role r);

enum class ErrorCode {
  Denied,         // peer not allowed (or view role asking to change)
  BadRequest,     // malformed JSON, unknown op, missing argument
  InvalidPolicy,  // diagnostics attached; nothing changed
  Unavailable,    // this machine lacks what the policy needs (PKI files, charon, the trunk); nothing changed
  Kernel,         // the kernel refused; nothing changed (batches are atomic)
  Conflict,       // e.g. an apply awaits confirmation
  NotFound,       // unknown revision
  Internal,
};
[[nodiscard]] std::string_view errorCodeName(ErrorCode c);

enum class Op {
  ShowStatus, Plan, Apply, Confirm, Rollback, Reload, History, Revision, Counters, Events, Tunnels, Terminate,
  PeerStatus, PeerPlan, PeerApply, PeerConfirm, PeerAbort,
};
[[nodiscard]] std::optional<Op> parseOp(std::string_view name);
[[nodiscard]] std::string_view opName(Op op);
[[nodiscard]] bool opChanges(Op op);  // needs Role::Change
[[nodiscard]] bool opPeer(Op op);     // needs Role::Peer (and only these are open to it)

// Builders for replies.
[[nodiscard]] nlohmann::json okReply(const nlohmann::json& id, nlohmann::json body = nlohmann::json::object());
[[nodiscard]] nlohmann::json errorReply(const nlohmann::json& id, ErrorCode code, std::string_view message,
                                        const nlohmann::json& diagnostics = nullptr);

// An authorised peer's request after parseRequest: id and op checked, the rest of the object
// (the arguments) bounded in size, depth and value count.
struct Request {
  nlohmann::json id;    // null, a boolean, a number, or a string of at most kMaxIdBytes
  Op op = Op::ShowStatus;
  nlohmann::json body;  // the whole request object; arguments by name
};
struct ParsedRequest {
  std::optional<Request> request;  // set: well-formed
  nlohmann::json id;               // else: the reply's id (null when the id was the problem) ...
  std::string error;               // ... and why (code bad_request)
};
// Bounds first (a linear scan of the bytes: nesting depth and value count, nothing recursive),
// then the JSON parse, then id and op. Never throws.
[[nodiscard]] ParsedRequest parseRequest(std::string_view line);
// The scan parseRequest starts with: false when `text` nests deeper than maxDepth or holds more
// than maxValues values (counted from the structural characters outside strings).
[[nodiscard]] bool jsonWithinBounds(std::string_view text, std::size_t maxDepth, std::size_t maxValues);

// Splits a byte stream into lines, in time linear in the bytes received: every byte is looked
// at once (newline positions are remembered), consumed lines are skipped by an offset, and the
// buffer is compacted only when the consumed part is at least half of it. append() returns
// false when a line (complete or not) grows beyond the limit (the peer is then dropped: the
// stream cannot be resynchronised).
class LineFramer {
 public:
  explicit LineFramer(std::size_t maxLine = kMaxReplyBytes) : max_(maxLine) {}
  [[nodiscard]] bool append(std::string_view bytes);
  // The next complete line without its '\n', if any; valid until the next append().
  [[nodiscard]] std::optional<std::string_view> next();
  // The same line as a string of its own: a large line that starts the buffer takes the
  // buffer's memory instead of being copied (only what follows it is).
  [[nodiscard]] std::optional<std::string> nextOwned();
  // The length of the line next() would return (0 when there is none).
  [[nodiscard]] std::size_t nextLength() const { return ends_.empty() ? 0 : ends_.front() - start_; }
  // Bytes held (consumed lines not counted), and whether part of a line is among them.
  [[nodiscard]] std::size_t buffered() const { return buf_.size() - start_; }
  [[nodiscard]] bool partial() const { return pendingStart_ < buf_.size(); }
  [[nodiscard]] bool hasLine() const { return !ends_.empty(); }
  [[nodiscard]] std::size_t maxLine() const { return max_; }

 private:
  std::string buf_;
  std::size_t start_ = 0;         // first byte not yet returned by next()
  std::size_t pendingStart_ = 0;  // first byte of the line whose newline has not arrived
  std::deque<std::size_t> ends_;  // positions of newlines not yet returned by next()
  std::size_t max_;
};

// One message as it goes on the wire (JSON + '\n').
[[nodiscard]] std::string frame(const nlohmann::json& msg);

}  // namespace bulwark::gateway
