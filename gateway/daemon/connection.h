#pragma once
// The control connections of one listener: one connection over a byte stream (byte_stream.h)
// each, with the protocol's framing, the limits, the timeouts, deferred replies and the
// events stream. The Unix socket (control_server.*) and the TLS listener (tls_listener.*) hand
// their authenticated peers to a ControlConnections; TLS adds only the handshake before it
// and the certificate re-checks (forEach / closeWithNotice).
//
// Nothing here lets one client hold up the loop or the others:
//  * Slots. The change role (root, the change group, change certificates) has slots of its
//    own that view-role peers cannot take, so an administrator can always reach `confirm` or
//    `rollback` -- lock-out safety is the point of commit-confirm. Within each role a key (a
//    uid, a TLS source address) holds at most slotsPerKey of them.
//  * Memory. Each connection may buffer freeBytes of request; beyond that it draws on its
//    role's pool, at most bytesPerKey per key; a line longer than maxLine, or a connection the
//    pools cannot serve, gets one error line and is closed. Unsent replies stop further
//    requests being read (backpressure); an events subscriber more than maxSubscriberBacklog
//    behind is dropped.
//  * Time. At most readPerTurn bytes and linesPerTurn requests per connection per loop turn
//    (then the others get their turn); lines longer than inlineParseBytes are parsed on the
//    worker, and heavy requests answer later (handlers.h), one in flight per connection. A
//    connection idle for `idle` (events subscribers excepted), a request line not finished
//    within lineDeadline, and a peer that reads nothing of its pending output for writeStall
//    are closed.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "byte_stream.h"
#include "event_loop.h"
#include "dispatch.h"
#include "job_worker.h"
#include "peer_auth.h"
#include "rate_limited_log.h"

namespace bulwark::daemon {

struct ConnectionLimits {
  std::size_t viewSlots = 64;
  std::size_t changeSlots = 32;
  std::size_t slotsPerKey = 8;
  std::size_t maxLine = gateway::kMaxRequestBytes;
  std::size_t freeBytes = 64u << 10;
  std::size_t viewPoolBytes = 48u << 20;
  std::size_t changePoolBytes = 96u << 20;
  std::size_t bytesPerKey = gateway::kMaxRequestBytes + (1u << 20);
  std::size_t readPerTurn = 256u << 10;  // per connection
  std::size_t readPerLoopTurn = 1u << 20;  // all connections together: no turn copies much
  std::size_t linesPerTurn = 32;
  std::size_t inlineParseBytes = 64u << 10;
  std::size_t maxReplyBacklog = 1u << 20;
  std::size_t maxSubscriberBacklog = 16u << 20;
  std::chrono::milliseconds idle{std::chrono::seconds(300)};
  std::chrono::milliseconds lineDeadline{std::chrono::seconds(30)};
  std::chrono::milliseconds writeStall{std::chrono::seconds(60)};
  std::chrono::milliseconds sweepEvery{std::chrono::seconds(1)};
};

class ControlConnections {
 public:
  using ConnId = std::uint64_t;
  using Log = std::function<void(const std::string&)>;

  // `parser`: where long request lines are parsed (null: on the loop, for tests).
  ControlConnections(EventLoop& loop, std::string name, ConnectionLimits limits, DispatchContext ctx,
                     JobWorker* parser, Log log);
  ~ControlConnections();
  ControlConnections(const ControlConnections&) = delete;
  ControlConnections& operator=(const ControlConnections&) = delete;

  // Takes an authenticated connection (role View or Change). false: no slot for it; the peer
  // got one refusal line and the stream is closed.
  bool admit(std::unique_ptr<ByteStream> stream, Peer peer);

  void broadcast(const nlohmann::json& event);
  [[nodiscard]] std::size_t subscribers() const;
  [[nodiscard]] std::size_t size() const { return conns_.size(); }
  // Request bytes drawn from the pools now (beyond the free allowance).
  [[nodiscard]] std::size_t pooledBytes() const { return poolUsed_[0] + poolUsed_[1]; }
  [[nodiscard]] const ConnectionLimits& limits() const { return limits_; }

  // The TLS listener's re-checks: every connection with its peer and stream; and closing one
  // with a last line (best effort, never waits for the peer) and a goodbye.
  void forEach(const std::function<void(ConnId, const Peer&, ByteStream&)>& fn) const;
  void closeWithNotice(ConnId id, const nlohmann::json& notice);

  // One refusal line and a goodbye on a stream that gets no slot (also the listeners' refusal
  // of peers without a role): one non-blocking write, never waits.
  static void refuse(ByteStream& stream, const nlohmann::json& reply);

 private:
  struct Conn;
  Conn* find(ConnId id);
  void onEvent(ConnId id, std::uint32_t events);
  void readSome(Conn& c);
  void process(Conn& c);
  void handleLine(Conn& c, std::string_view line);
  void handleLargeLine(Conn& c, std::string line);
  void onParsed(ConnId id, gateway::ParsedRequest parsed, bool fromWorker);
  Responder responderFor(ConnId id);
  void queue(Conn& c, std::string framed);
  bool flush(Conn& c);  // false: c is gone
  void closeAfter(Conn& c, const nlohmann::json& lastLine);
  void rearm(Conn& c);
  void drop(ConnId id);
  bool charge(Conn& c);  // false: over the pools
  void release(Conn& c);
  void scheduleResume(Conn& c);
  void scheduleSweep();
  void sweep();

  EventLoop& loop_;
  std::string name_;
  ConnectionLimits limits_;
  DispatchContext ctx_;
  JobWorker* parser_;
  RateLimitedLog note_;  // what clients cause goes to the log, rate-limited
  std::map<ConnId, std::unique_ptr<Conn>> conns_;
  ConnId nextId_ = 1;
  std::size_t slots_[2] = {0, 0};                    // [0] view, [1] change
  std::map<std::string, std::size_t> slotsByKey_[2];
  std::size_t poolUsed_[2] = {0, 0};
  std::map<std::string, std::size_t> bytesByKey_;
  std::optional<EventLoop::TimerId> sweepTimer_;
  std::uint64_t budgetTurn_ = 0;  // the loop turn readLeft_ is for
  std::size_t readLeft_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // deferred callbacks check it
};

}  // namespace bulwark::daemon
