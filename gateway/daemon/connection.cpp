#include "connection.h"

#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <vector>

namespace bulwark::daemon {

namespace {

constexpr std::size_t kChunk = 64u << 10;
constexpr std::size_t kMaxWrite = 1u << 20;  // per write() call: a huge reply goes out in pieces
constexpr std::size_t kEmptyLinesPerTurn = 4096;

// The HA peer shares the change role's slots: a pair apply must never wait behind viewers.
std::size_t roleIndex(const Peer& p) {
  return p.role == gateway::Role::Change || p.role == gateway::Role::Peer ? 1 : 0;
}

std::string mib(std::size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

}  // namespace

struct ControlConnections::Conn {
  ConnId id = 0;
  std::unique_ptr<ByteStream> stream;
  Peer peer;
  std::string key;
  std::size_t role = 0;
  gateway::LineFramer in;
  std::size_t charged = 0;  // pool bytes held
  std::string out;
  std::size_t outPos = 0;
  bool subscribed = false;
  bool busy = false;     // a request is in flight (deferred reply or parse on the worker)
  bool closing = false;  // close once the output is out and nothing is in flight
  bool eof = false;      // the peer has finished sending
  bool readWantsWrite = false;
  bool writeWantsRead = false;
  bool resumeScheduled = false;
  bool lineOpen = false;
  bool watched = false;
  std::uint32_t armed = 0;
  Clock::time_point lastActivity;
  Clock::time_point lineSince;
  Clock::time_point lastWrite;

  explicit Conn(std::size_t maxLine) : in(maxLine) {}
  [[nodiscard]] std::size_t pending() const { return out.size() - outPos; }
};

ControlConnections::ControlConnections(EventLoop& loop, std::string name, ConnectionLimits limits,
                                       DispatchContext ctx, JobWorker* parser, Log log)
    : loop_(loop), name_(std::move(name)), limits_(limits), ctx_(std::move(ctx)), parser_(parser),
      note_(std::move(log)) {}

ControlConnections::~ControlConnections() {
  if (sweepTimer_) loop_.cancel(*sweepTimer_);
  for (auto& [id, c] : conns_) {
    if (c->watched) loop_.unwatch(c->stream->fd());
  }
}

ControlConnections::Conn* ControlConnections::find(ConnId id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void ControlConnections::refuse(ByteStream& stream, const nlohmann::json& reply) {
  auto line = gateway::frame(reply);
  (void)stream.write(line.data(), line.size());  // the socket's buffer is empty: it fits
  stream.goodbye();
}

bool ControlConnections::admit(std::unique_ptr<ByteStream> stream, Peer peer) {
  if (peer.role == gateway::Role::None) {  // the listeners refuse these before; never a slot
    refuse(*stream, gateway::errorReply(nullptr, gateway::ErrorCode::Denied, deniedMessage(ctx_, peer, "connect")));
    return false;
  }
  const std::size_t role = roleIndex(peer);
  auto key = peer.limitKey();
  const std::size_t cap = role == 1 ? limits_.changeSlots : limits_.viewSlots;
  std::string full;
  if (slots_[role] >= cap) {
    full = "too many " + std::string(role == 1 ? "change" : "view") + "-role connections (" + std::to_string(cap) + ")";
  } else if (slotsByKey_[role][key] >= limits_.slotsPerKey) {
    full = "too many connections from " + key + " (" + std::to_string(limits_.slotsPerKey) + ")";
  }
  if (!full.empty()) {
    if (slotsByKey_[role][key] == 0) slotsByKey_[role].erase(key);
    note_(name_ + ": refused " + peer.who() + ": " + full);
    refuse(*stream, gateway::errorReply(nullptr, gateway::ErrorCode::Conflict, full + "; close one and try again"));
    return false;
  }
  auto c = std::make_unique<Conn>(limits_.maxLine);
  c->id = nextId_++;
  c->stream = std::move(stream);
  c->peer = std::move(peer);
  c->key = std::move(key);
  c->role = role;
  c->lastActivity = c->lastWrite = Clock::now();
  ++slots_[role];
  ++slotsByKey_[role][c->key];
  Conn& ref = *c;
  conns_[c->id] = std::move(c);
  rearm(ref);
  if (!find(ref.id)) return true;  // could not be watched: dropped (and counted back)
  scheduleSweep();
  readSome(ref);  // a request may be there already (TLS: with the handshake's last flight)
  return true;
}

void ControlConnections::rearm(Conn& c) {
  const bool canRead = !c.closing && !c.eof && !c.busy && c.pending() < limits_.maxReplyBacklog && !c.in.hasLine();
  std::uint32_t want = 0;
  if (canRead || c.writeWantsRead) want |= EPOLLIN | EPOLLRDHUP;
  if (c.pending() > 0 || c.readWantsWrite) want |= EPOLLOUT;
  if (c.watched && want == c.armed) return;
  const ConnId id = c.id;
  // With no interest epoll still reports EPOLLHUP/EPOLLERR: a peer that vanishes while its
  // request is in flight is noticed.
  auto st = loop_.watch(c.stream->fd(), want, [this, id](std::uint32_t ev) { onEvent(id, ev); });
  if (!st) {
    drop(id);
    return;
  }
  c.watched = true;
  c.armed = want;
}

void ControlConnections::onEvent(ConnId id, std::uint32_t events) {
  Conn* c = find(id);
  if (c == nullptr) return;
  if ((events & EPOLLOUT) != 0) {
    if (c->readWantsWrite) {
      c->readWantsWrite = false;
      readSome(*c);
      if ((c = find(id)) == nullptr) return;
    }
    if (c->pending() > 0 && !flush(*c)) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    if (c->writeWantsRead) {
      c->writeWantsRead = false;
      if (!flush(*c)) return;
    }
    const bool canRead = !c->closing && !c->eof && !c->busy && c->pending() < limits_.maxReplyBacklog;
    if (canRead) {
      readSome(*c);
      return;
    }
    if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
      // Gone both ways while we were not reading: nothing can reach it any more.
      drop(id);
      return;
    }
  }
  rearm(*c);
}

void ControlConnections::readSome(Conn& c) {
  const ConnId id = c.id;
  std::array<char, kChunk> buf;  // NOLINT: filled before use
  // This connection's share of the turn, and what is left of the turn's share for everyone:
  // eight connections each growing a many-MiB line would otherwise all copy it in one turn.
  if (budgetTurn_ != loop_.turn()) {
    budgetTurn_ = loop_.turn();
    readLeft_ = limits_.readPerLoopTurn;
  }
  std::size_t budget = std::min(limits_.readPerTurn, readLeft_);
  const std::size_t granted = budget;
  while (budget > 0 && !c.closing && !c.eof && !c.busy && !c.in.hasLine()) {
    auto r = c.stream->read(buf.data(), std::min(buf.size(), budget));
    if (r.io == ByteStream::Io::Done) {
      budget -= r.n;
      c.lastActivity = Clock::now();
      if (!c.in.append(std::string_view(buf.data(), r.n))) {
        closeAfter(c, gateway::errorReply(nullptr, gateway::ErrorCode::BadRequest,
                                          "request line longer than " + std::to_string(limits_.maxLine) + " bytes"));
        return;
      }
      if (!charge(c)) {
        note_(name_ + ": " + c.peer.who() + ": request data over the buffer pool, connection closed");
        closeAfter(c, gateway::errorReply(nullptr, gateway::ErrorCode::Conflict,
                                          "busy: too much request data buffered (" + c.key + " at most " +
                                              mib(limits_.bytesPerKey) + "); connection closed, send it again later"));
        return;
      }
      continue;
    }
    if (r.io == ByteStream::Io::WantRead) break;
    if (r.io == ByteStream::Io::WantWrite) {
      c.readWantsWrite = true;
      break;
    }
    if (r.io == ByteStream::Io::Closed) {
      c.eof = true;
      break;
    }
    drop(id);  // Failed
    return;
  }
  readLeft_ -= granted - budget;
  // Out of this turn's budget with bytes the fd cannot announce (decrypted TLS records), or
  // the turn's share was gone: come back after the others had their turn.
  if (budget == 0 && (c.stream->buffered() || granted < limits_.readPerTurn)) scheduleResume(c);
  process(c);
}

void ControlConnections::process(Conn& c) {
  const ConnId id = c.id;
  std::size_t lines = 0;
  std::size_t empty = 0;
  while (!c.busy && !c.closing && c.pending() < limits_.maxReplyBacklog && c.in.hasLine()) {
    if (lines == limits_.linesPerTurn || empty == kEmptyLinesPerTurn) {
      scheduleResume(c);
      break;
    }
    if (c.in.nextLength() > limits_.inlineParseBytes && parser_ != nullptr) {
      ++lines;
      handleLargeLine(c, *c.in.nextOwned());
      if (find(id) == nullptr) return;
      continue;
    }
    auto line = c.in.next();
    if (line->empty()) {  // skipped, cheaply, but not without end: a flood of them yields too
      ++empty;
      continue;
    }
    ++lines;
    handleLine(c, *line);
    if (find(id) == nullptr) return;
  }
  release(c);
  if (c.in.partial()) {
    if (!c.lineOpen) {
      c.lineOpen = true;
      c.lineSince = Clock::now();
    }
  } else {
    c.lineOpen = false;
  }
  if (c.eof && !c.busy && !c.in.hasLine()) c.closing = true;
  if (c.closing && !c.busy && c.pending() == 0) {
    c.stream->goodbye();
    drop(id);
    return;
  }
  rearm(c);
}

void ControlConnections::handleLine(Conn& c, std::string_view line) {
  c.lastActivity = Clock::now();
  onParsed(c.id, gateway::parseRequest(line), false);
}

void ControlConnections::handleLargeLine(Conn& c, std::string line) {
  // Parsing megabytes of JSON takes longer than the loop may be held: on the worker.
  c.lastActivity = Clock::now();
  const ConnId id = c.id;
  auto prio = c.role == 1 ? JobWorker::Priority::High : JobWorker::Priority::Normal;
  auto job = [this, alive = std::weak_ptr<int>(alive_), id, text = std::move(line)]() mutable {
    auto parsed = std::make_shared<gateway::ParsedRequest>(gateway::parseRequest(text));
    std::string().swap(text);  // freed on the worker
    return std::function<void()>([this, alive, id, parsed] {
      if (!alive.expired()) onParsed(id, std::move(*parsed), true);
    });
  };
  c.busy = true;
  if (!parser_->submit(c.key, prio, std::move(job))) {
    c.busy = false;
    queue(c, gateway::frame(gateway::errorReply(nullptr, gateway::ErrorCode::Conflict,
                                                "busy: the policy worker's queue is full; try again in a moment")));
    (void)flush(c);
  }
}

void ControlConnections::onParsed(ConnId id, gateway::ParsedRequest parsed, bool fromWorker) {
  Conn* c = find(id);
  if (c == nullptr) return;
  c->busy = false;
  if (!parsed.request) {
    queue(*c, gateway::frame(gateway::errorReply(parsed.id, gateway::ErrorCode::BadRequest, parsed.error)));
  } else {
    c->busy = true;  // until a reply: the responder may run before dispatchRequest returns
    Peer peer = c->peer;
    auto d = dispatchRequest(ctx_, peer, *parsed.request, responderFor(id));
    // The handler's audit record is broadcast to subscribers, which may drop a connection
    // (this one too): look it up again.
    c = find(id);
    if (c == nullptr) return;
    if (d.subscribe) c->subscribed = true;
    if (d.close) c->closing = true;
    if (d.reply) {
      c->busy = false;
      queue(*c, gateway::frame(*d.reply));
    }
  }
  if (!flush(*c)) return;
  // From the worker: take up the requests that waited behind this one (inline, process() is
  // still running and goes on by itself).
  if (fromWorker && !c->busy) process(*c);
}

Responder ControlConnections::responderFor(ConnId id) {
  return [this, alive = std::weak_ptr<int>(alive_), id](std::string framed) {
    if (alive.expired()) return;
    Conn* c = find(id);
    if (c == nullptr) return;  // gone meanwhile: the reply has nowhere to go
    c->busy = false;
    queue(*c, std::move(framed));
    if (!flush(*c)) return;
    process(*c);
  };
}

void ControlConnections::queue(Conn& c, std::string framed) {
  if (c.pending() == 0) {
    c.out = std::move(framed);
    c.outPos = 0;
    c.lastWrite = Clock::now();  // the write-stall clock starts with the first unsent byte
    return;
  }
  if (c.outPos > 0 && c.outPos >= c.out.size() / 2) {
    c.out.erase(0, c.outPos);
    c.outPos = 0;
  }
  c.out += framed;
}

bool ControlConnections::flush(Conn& c) {
  const ConnId id = c.id;
  while (c.pending() > 0) {
    auto r = c.stream->write(c.out.data() + c.outPos, std::min(c.pending(), kMaxWrite));
    if (r.io == ByteStream::Io::Done) {
      c.outPos += r.n;
      c.lastWrite = Clock::now();
      continue;
    }
    if (r.io == ByteStream::Io::WantWrite) break;
    if (r.io == ByteStream::Io::WantRead) {
      c.writeWantsRead = true;
      break;
    }
    drop(id);
    return false;
  }
  if (c.pending() == 0) {
    c.outPos = 0;
    c.out.clear();
    if (c.out.capacity() > (1u << 20)) std::string().swap(c.out);  // a big reply is done with
    if (c.closing && !c.busy) {
      c.stream->goodbye();
      drop(id);
      return false;
    }
  }
  // Requests that waited for the output to drain: their turn comes after this one.
  if (!c.busy && !c.closing && c.in.hasLine() && c.pending() < limits_.maxReplyBacklog) scheduleResume(c);
  rearm(c);
  return find(id) != nullptr;
}

void ControlConnections::closeAfter(Conn& c, const nlohmann::json& lastLine) {
  c.closing = true;
  queue(c, gateway::frame(lastLine));
  (void)flush(c);
}

void ControlConnections::drop(ConnId id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (c.watched) loop_.unwatch(c.stream->fd());
  c.charged = std::min(c.charged, poolUsed_[c.role]);
  poolUsed_[c.role] -= c.charged;
  if (c.charged > 0) {
    auto k = bytesByKey_.find(c.key);
    if (k != bytesByKey_.end() && (k->second -= std::min(k->second, c.charged)) == 0) bytesByKey_.erase(k);
  }
  --slots_[c.role];
  auto s = slotsByKey_[c.role].find(c.key);
  if (s != slotsByKey_[c.role].end() && --s->second == 0) slotsByKey_[c.role].erase(s);
  conns_.erase(it);  // the stream closes its fd (TLS: SSL_free first)
}

bool ControlConnections::charge(Conn& c) {
  const std::size_t held = c.in.buffered();
  const std::size_t need = held > limits_.freeBytes ? held - limits_.freeBytes : 0;
  if (need <= c.charged) {
    release(c);
    return true;
  }
  const std::size_t more = need - c.charged;
  const std::size_t pool = c.role == 1 ? limits_.changePoolBytes : limits_.viewPoolBytes;
  auto& mine = bytesByKey_[c.key];
  if (poolUsed_[c.role] + more > pool || mine + more > limits_.bytesPerKey) {
    if (mine == 0) bytesByKey_.erase(c.key);
    return false;
  }
  poolUsed_[c.role] += more;
  mine += more;
  c.charged = need;
  return true;
}

void ControlConnections::release(Conn& c) {
  const std::size_t held = c.in.buffered();
  const std::size_t need = held > limits_.freeBytes ? held - limits_.freeBytes : 0;
  if (need >= c.charged) return;
  const std::size_t less = c.charged - need;
  poolUsed_[c.role] -= std::min(less, poolUsed_[c.role]);
  auto k = bytesByKey_.find(c.key);
  if (k != bytesByKey_.end() && (k->second -= std::min(k->second, less)) == 0) bytesByKey_.erase(k);
  c.charged = need;
}

void ControlConnections::scheduleResume(Conn& c) {
  if (c.resumeScheduled) return;
  c.resumeScheduled = true;
  const ConnId id = c.id;
  loop_.after(std::chrono::milliseconds(0), [this, alive = std::weak_ptr<int>(alive_), id] {
    if (alive.expired()) return;
    Conn* conn = find(id);
    if (conn == nullptr) return;
    conn->resumeScheduled = false;
    if (conn->in.hasLine()) {
      process(*conn);
    } else {
      readSome(*conn);
    }
  });
}

void ControlConnections::scheduleSweep() {
  if (sweepTimer_ || conns_.empty()) return;
  sweepTimer_ = loop_.after(limits_.sweepEvery, [this] {
    sweepTimer_.reset();
    sweep();
    scheduleSweep();
  });
}

void ControlConnections::sweep() {
  const auto now = Clock::now();
  std::vector<std::pair<ConnId, std::string>> expired;
  for (const auto& [id, c] : conns_) {
    if (c->pending() > 0 && now - c->lastWrite > limits_.writeStall) {
      expired.emplace_back(id, "");  // it reads nothing: no last line can reach it
    } else if (c->lineOpen && !c->busy && now - c->lineSince > limits_.lineDeadline) {
      expired.emplace_back(id, "request line not completed within " +
                                   std::to_string(limits_.lineDeadline.count() / 1000) + " s; connection closed");
    } else if (!c->subscribed && !c->busy && c->pending() == 0 && !c->lineOpen &&
               now - c->lastActivity > limits_.idle) {
      expired.emplace_back(id, "");
    }
  }
  for (const auto& [id, why] : expired) {
    Conn* c = find(id);
    if (c == nullptr) continue;
    if (why.empty()) {
      c->stream->goodbye();
      drop(id);
    } else {
      note_(name_ + ": " + c->peer.who() + ": " + why);
      c->eof = true;  // read nothing more
      closeAfter(*c, gateway::errorReply(nullptr, gateway::ErrorCode::BadRequest, why));
    }
  }
}

void ControlConnections::broadcast(const nlohmann::json& event) {
  std::vector<ConnId> targets;
  for (const auto& [id, c] : conns_) {
    if (c->subscribed) targets.push_back(id);
  }
  if (targets.empty()) return;
  const auto line = gateway::frame(event);
  for (ConnId id : targets) {
    Conn* c = find(id);
    if (c == nullptr) continue;
    if (c->pending() + line.size() > limits_.maxSubscriberBacklog) {
      note_(name_ + ": dropped events subscriber " + c->peer.who() + ": " + mib(c->pending()) + " unread");
      drop(id);
      continue;
    }
    queue(*c, line);
    (void)flush(*c);
  }
}

std::size_t ControlConnections::subscribers() const {
  std::size_t n = 0;
  for (const auto& [id, c] : conns_) n += c->subscribed ? 1 : 0;
  return n;
}

void ControlConnections::forEach(const std::function<void(ConnId, const Peer&, ByteStream&)>& fn) const {
  for (const auto& [id, c] : conns_) fn(id, c->peer, *c->stream);
}

void ControlConnections::closeWithNotice(ConnId id, const nlohmann::json& notice) {
  Conn* c = find(id);
  if (c == nullptr) return;
  // One last line, best effort: undelivered replies and events are dropped, and a client that
  // does not read cannot hold the connection open.
  if (c->pending() == 0) {
    auto line = gateway::frame(notice);
    (void)c->stream->write(line.data(), line.size());
  }
  c->stream->goodbye();
  drop(id);
}

}  // namespace bulwark::daemon
