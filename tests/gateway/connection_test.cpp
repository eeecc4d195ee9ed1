// The control connection core (connection.h) over real socketpairs on a real event loop:
// slots per role and per key, the buffer pools, the timeouts, deferred replies in order,
// events subscribers that stop reading; the request bounds (parseRequest), the linear line
// framer, the policy worker's fairness and the refusal log.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "bulwark/gateway/protocol.h"
#include "connection.h"
#include "job_worker.h"
#include "refusal_log.h"

namespace bulwark::daemon {
namespace {

using namespace std::chrono_literals;

// ---- request bounds and framing -------------------------------------------------------------

TEST(ParseRequest, DeepIdIsRefusedBeforeAnythingRecursiveRuns) {
  // The reported crash: an id nested 70,000 deep, copied and dumped recursively.
  std::string line = R"({"op":"status","id":)" + std::string(70000, '[') + std::string(70000, ']') + "}";
  auto p = gateway::parseRequest(line);
  ASSERT_FALSE(p.request.has_value());
  EXPECT_TRUE(p.id.is_null());
  EXPECT_NE(p.error.find("nests deeper than 64"), std::string::npos) << p.error;
  // 64 levels are fine (but an array is no id).
  line = R"({"op":"status","x":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_TRUE(gateway::parseRequest(line).request.has_value());
}

TEST(ParseRequest, IdMustBeAScalarOfBoundedSize) {
  EXPECT_EQ(gateway::parseRequest(R"({"id":7,"op":"status"})").request->id, 7);
  EXPECT_EQ(gateway::parseRequest(R"({"id":"a-1","op":"status"})").request->id, "a-1");
  for (const auto* bad : {R"({"id":{"a":1},"op":"status"})", R"({"id":[1],"op":"status"})"}) {
    auto p = gateway::parseRequest(bad);
    EXPECT_FALSE(p.request.has_value()) << bad;
    EXPECT_TRUE(p.id.is_null()) << bad;  // the reply cannot echo it
  }
  auto p = gateway::parseRequest(R"({"id":")" + std::string(129, 'x') + R"(","op":"status"})");
  EXPECT_FALSE(p.request.has_value());
}

TEST(ParseRequest, ManyValuesAreRefusedBeforeTheParse) {
  std::string arr = "[0";
  for (int i = 0; i < 20000; ++i) arr += ",0";
  arr += "]";
  auto p = gateway::parseRequest(R"({"op":"status","x":)" + arr + "}");
  EXPECT_FALSE(p.request.has_value());
  // Commas inside strings are text, not values.
  auto q = gateway::parseRequest(R"({"op":"status","x":")" + std::string(50000, ',') + "\"}");
  EXPECT_TRUE(q.request.has_value()) << q.error;
}

TEST(ParseRequest, UnknownOpsAreQuotedShortAndEscaped) {
  std::string op = std::string("ev\x01il\nop") + std::string(5000, 'A');
  nlohmann::json req{{"id", 1}, {"op", op}};
  auto p = gateway::parseRequest(req.dump());
  ASSERT_FALSE(p.request.has_value());
  EXPECT_EQ(p.id, 1);
  EXPECT_LT(p.error.size(), 100u) << p.error;
  EXPECT_EQ(p.error.find('\n'), std::string::npos);
  EXPECT_EQ(p.error.find('\x01'), std::string::npos);
  EXPECT_NE(p.error.find("ev\\x01il\\x0aop"), std::string::npos) << p.error;  // printable(): one escaping rule
}

TEST(LineFramer, ChecksEveryCompleteLineInAChunkAndGivesMemoryBack) {
  gateway::LineFramer f(8);
  EXPECT_FALSE(f.append("short\n0123456789\nok\n"));  // the second line is too long
  gateway::LineFramer g(1u << 20);
  std::string chunk(1u << 16, '\n');
  std::size_t lines = 0;
  for (int i = 0; i < 64; ++i) {  // 4 MiB of empty lines
    ASSERT_TRUE(g.append(chunk));
    while (auto l = g.next()) {
      EXPECT_TRUE(l->empty());
      ++lines;
    }
  }
  EXPECT_EQ(lines, 64u * chunk.size());
  EXPECT_EQ(g.buffered(), 0u);
  ASSERT_TRUE(g.append("{\"op\":\"st"));
  EXPECT_TRUE(g.partial());
  EXPECT_FALSE(g.hasLine());
  ASSERT_TRUE(g.append("atus\"}\n"));
  EXPECT_EQ(g.next().value(), R"({"op":"status"})");
}

// ---- the connection core --------------------------------------------------------------------

Peer unixPeer(uid_t uid, gateway::Role role) {
  Peer p;
  p.uid = uid;
  p.user = "user" + std::to_string(uid);
  p.role = role;
  return p;
}

struct Client {
  int fd = -1;
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  void send(const std::string& s) const { ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size())); }
  bool trySend(const std::string& s) const { return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) > 0; }
  // Everything readable now (non-blocking), and whether the server closed.
  std::string drain(bool* closed = nullptr) const {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      // Closed: EOF, or a reset (a Unix socket closed with our unread bytes in it).
      if (closed != nullptr) *closed = n == 0 || (n < 0 && errno == ECONNRESET);
      return out;
    }
  }
};

std::vector<nlohmann::json> lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos) break;
    out.push_back(nlohmann::json::parse(text.substr(at, nl - at)));
    at = nl + 1;
  }
  return out;
}

class Core : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = EventLoop::create();
    ASSERT_TRUE(l.ok());
    loop = std::make_unique<EventLoop>(std::move(*l));
  }
  // "status" answers now, "plan" later (after `deferFor`), "confirm" counts.
  DispatchContext context() {
    DispatchContext c;
    c.handler = [this](const Peer&, gateway::Request& req, Responder& respond) -> std::optional<nlohmann::json> {
      handled.push_back(std::string(gateway::opName(req.op)));
      if (req.op == gateway::Op::Plan) {
        loop->after(deferFor, [respond, id = req.id] { respond(gateway::frame(gateway::okReply(id, {{"late", true}}))); });
        return std::nullopt;
      }
      return gateway::okReply(req.id);
    };
    c.denied = [this](const Peer& p, std::string_view what) { denied.push_back(p.who() + " " + std::string(what)); };
    return c;
  }
  std::unique_ptr<ControlConnections> make(ConnectionLimits limits) {
    return std::make_unique<ControlConnections>(*loop, "test", limits, context(), nullptr,
                                                [this](const std::string& l) { logged.push_back(l); });
  }
  // A connected pair: the client's end, and whether the core took the server's end.
  bool connect(ControlConnections& core, Client& client, const Peer& peer) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    client.fd = sv[0];
    return core.admit(std::make_unique<UnixStream>(UniqueFd(sv[1])), peer);
  }
  void spin(std::chrono::milliseconds d) {
    loop->after(d, [this] { loop->stop(0); });
    loop->run();
  }
  // Runs the loop until `got` holds what `done` wants (read from `c`), at most `limit`: the
  // machine may be busy, the test must not depend on how busy.
  std::string spinFor(const Client& c, const std::function<bool(const std::string&)>& done,
                      std::chrono::milliseconds limit = 10s) {
    std::string got;
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done(got) && std::chrono::steady_clock::now() < until) {
      spin(10ms);
      got += c.drain();
    }
    return got;
  }
  static std::function<bool(const std::string&)> lineCount(std::size_t n) {
    return [n](const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')) >= n; };
  }
  std::unique_ptr<EventLoop> loop;
  std::chrono::milliseconds deferFor{300};
  std::vector<std::string> handled, denied, logged;
};

TEST_F(Core, RepliesInOrderWithOneRequestInFlightAndOthersServedMeanwhile) {
  auto core = make({});
  Client a, b;
  ASSERT_TRUE(connect(*core, a, unixPeer(1000, gateway::Role::View)));
  ASSERT_TRUE(connect(*core, b, unixPeer(1001, gateway::Role::View)));
  a.send(R"({"id":1,"op":"plan"})" "\n" R"({"id":2,"op":"status"})" "\n");
  b.send(R"({"id":9,"op":"status"})" "\n");
  auto bReplies = lines(spinFor(b, lineCount(1), 250ms));
  ASSERT_EQ(bReplies.size(), 1u);  // b is answered while a's plan is still running
  EXPECT_EQ(bReplies[0]["id"], 9);
  EXPECT_TRUE(a.drain().empty());
  auto aReplies = lines(spinFor(a, lineCount(2)));
  ASSERT_EQ(aReplies.size(), 2u);
  EXPECT_EQ(aReplies[0]["id"], 1);  // the deferred reply first, then the one that waited
  EXPECT_TRUE(aReplies[0]["late"].get<bool>());
  EXPECT_EQ(aReplies[1]["id"], 2);
}

TEST_F(Core, SlotsPerKeyAndAChangeRoleReserveViewersCannotTake) {
  ConnectionLimits l;
  l.viewSlots = 2;
  l.changeSlots = 1;
  l.slotsPerKey = 1;
  auto core = make(l);
  Client v1, v1b, v2, v3, admin;
  EXPECT_TRUE(connect(*core, v1, unixPeer(1000, gateway::Role::View)));
  EXPECT_FALSE(connect(*core, v1b, unixPeer(1000, gateway::Role::View)));  // same uid: its share is used
  auto refusal = lines(v1b.drain());
  ASSERT_EQ(refusal.size(), 1u);
  EXPECT_NE(refusal[0]["error"]["message"].get<std::string>().find("too many connections from uid 1000"),
            std::string::npos);
  EXPECT_TRUE(connect(*core, v2, unixPeer(1001, gateway::Role::View)));
  EXPECT_FALSE(connect(*core, v3, unixPeer(1002, gateway::Role::View)));  // the view pool is full ...
  EXPECT_TRUE(connect(*core, admin, unixPeer(0, gateway::Role::Change)));  // ... the change reserve is not
  admin.send(R"({"id":1,"op":"confirm"})" "\n");
  EXPECT_EQ(lines(spinFor(admin, lineCount(1))).at(0)["ok"], true);
  Client stranger;
  EXPECT_FALSE(connect(*core, stranger, unixPeer(1003, gateway::Role::None)));  // never a slot
  EXPECT_EQ(core->size(), 3u);
}

TEST_F(Core, OverlongLinesAndTheBufferPoolCloseTheConnectionWithOneLine) {
  ConnectionLimits l;
  l.maxLine = 1u << 20;
  l.freeBytes = 1024;
  l.viewPoolBytes = 256u << 10;
  l.bytesPerKey = 128u << 10;
  auto core = make(l);
  Client big, other, small;
  ASSERT_TRUE(connect(*core, big, unixPeer(1000, gateway::Role::View)));
  ASSERT_TRUE(connect(*core, small, unixPeer(1001, gateway::Role::View)));
  std::string chunk(100u << 10, 'x');  // no newline: a line being sent
  big.send(chunk);
  spin(50ms);
  (void)big.trySend(chunk);  // 200 KiB > this uid's 128 KiB
  auto text = spinFor(big, lineCount(1));
  bool closed = false;
  text += big.drain(&closed);
  auto got = lines(text);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0]["error"]["message"].get<std::string>().find("busy: too much request data"), std::string::npos);
  EXPECT_TRUE(closed);
  EXPECT_EQ(core->pooledBytes(), 0u);  // given back
  small.send(R"({"id":5,"op":"status"})" "\n");  // everybody else goes on
  EXPECT_EQ(lines(spinFor(small, lineCount(1))).at(0)["id"], 5);
}

TEST_F(Core, IdleAndHalfSentLinesTimeOutSubscribersDoNot) {
  ConnectionLimits l;
  l.idle = 100ms;
  l.lineDeadline = 100ms;
  l.sweepEvery = 20ms;
  auto core = make(l);
  Client idle, slow, sub;
  ASSERT_TRUE(connect(*core, idle, unixPeer(1000, gateway::Role::View)));
  ASSERT_TRUE(connect(*core, slow, unixPeer(1001, gateway::Role::View)));
  ASSERT_TRUE(connect(*core, sub, unixPeer(1002, gateway::Role::View)));
  sub.send(R"({"id":1,"op":"events"})" "\n");
  for (int i = 0; i < 10; ++i) {  // one byte every 40 ms: never idle, never finished
    (void)slow.trySend("{");  // fails once the daemon has closed it
    spin(40ms);
  }
  bool idleClosed = false, slowClosed = false, subClosed = false;
  (void)idle.drain(&idleClosed);
  auto slowLines = lines(slow.drain(&slowClosed));
  (void)sub.drain(&subClosed);
  EXPECT_TRUE(idleClosed);
  EXPECT_TRUE(slowClosed);
  ASSERT_EQ(slowLines.size(), 1u);
  EXPECT_NE(slowLines[0]["error"]["message"].get<std::string>().find("not completed within"), std::string::npos);
  EXPECT_FALSE(subClosed);
  EXPECT_EQ(core->size(), 1u);
}

TEST_F(Core, ASubscriberThatStopsReadingIsDroppedOthersKeepTheirEvents) {
  ConnectionLimits l;
  l.maxSubscriberBacklog = 256u << 10;
  auto core = make(l);
  Client stuck, reader;
  ASSERT_TRUE(connect(*core, stuck, unixPeer(1000, gateway::Role::View)));
  ASSERT_TRUE(connect(*core, reader, unixPeer(1001, gateway::Role::View)));
  stuck.send(R"({"id":1,"op":"events"})" "\n");
  reader.send(R"({"id":1,"op":"events"})" "\n");
  (void)spinFor(stuck, lineCount(1));
  (void)spinFor(reader, lineCount(1));
  nlohmann::json event{{"event", "apply"}, {"summary", std::string(8192, 's')}};
  std::size_t got = 0;
  for (int i = 0; i < 200; ++i) {  // 1.6 MiB: more than the stuck client's socket and backlog
    core->broadcast(event);
    got += lines(reader.drain()).size();
  }
  EXPECT_EQ(core->subscribers(), 1u);
  EXPECT_EQ(got, 200u);
}

TEST_F(Core, ANewlineFloodIsSkippedInTurnsAndTheRequestAfterItAnswered) {
  auto core = make({});
  Client flood, other;
  ASSERT_TRUE(connect(*core, flood, unixPeer(1000, gateway::Role::View)));
  ASSERT_TRUE(connect(*core, other, unixPeer(1001, gateway::Role::View)));
  std::string nl(100000, '\n');
  flood.send(nl);
  flood.send(R"({"id":3,"op":"status"})" "\n");
  other.send(R"({"id":4,"op":"status"})" "\n");
  EXPECT_EQ(lines(spinFor(other, lineCount(1))).at(0)["id"], 4);
  auto got = lines(spinFor(flood, lineCount(1)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["id"], 3);
}

// ---- the policy worker and the refusal log -------------------------------------------------

TEST(JobWorker, FairQueueWithAReserveForChanges) {
  auto l = EventLoop::create();
  ASSERT_TRUE(l.ok());
  EventLoop& loop = *l;
  JobWorker w(loop, "test-worker");
  std::mutex m;
  std::condition_variable cv;
  bool started = false, release = false;
  std::vector<std::string> order;
  auto job = [&](std::string name, bool block) {
    return [&, name, block]() -> std::function<void()> {
      if (block) {
        std::unique_lock<std::mutex> lock(m);
        started = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      }
      return [&, name] { order.push_back(name); };
    };
  };
  ASSERT_TRUE(w.submit("uid 1", JobWorker::Priority::Normal, job("block", true)));
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return started; });  // the worker is busy with it
  }
  EXPECT_FALSE(w.submit("uid 1", JobWorker::Priority::Normal, job("x", false)) &&
               w.submit("uid 1", JobWorker::Priority::Normal, job("y", false)));  // 2 per key
  // Other viewers fill the normal share (kMaxQueued - kReservedHigh) ...
  std::size_t viewers = 0;
  for (int uid = 2; uid < 20; ++uid) {
    if (w.submit("uid " + std::to_string(uid), JobWorker::Priority::Normal, job("v", false))) ++viewers;
  }
  EXPECT_EQ(w.pending(), JobWorker::kMaxQueued - JobWorker::kReservedHigh);
  // ... and the administrator still gets in, ahead of them.
  ASSERT_TRUE(w.submit("uid 0", JobWorker::Priority::High, job("admin", false)));
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  loop.after(300ms, [&] { loop.stop(0); });
  loop.run();
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(order[0], "block");
  EXPECT_EQ(order[1], "admin");
  EXPECT_EQ(w.pending(), 0u);
}

TEST(RefusalLog, OneRecordPerPeerAndWindow) {
  RefusalLog log(std::chrono::hours(1));
  std::vector<std::string> records;
  DeniedHandler denied = [&](const Peer& p, std::string_view what) { records.push_back(p.who() + " " + std::string(what)); };
  for (int i = 0; i < 50; ++i) log.refused(unixPeer(1000, gateway::Role::None), denied);
  log.refused(unixPeer(1001, gateway::Role::None), denied);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], "user1000 (uid 1000) connect");
  RefusalLog now(0ms);
  now.refused(unixPeer(1000, gateway::Role::None), denied);
  now.refused(unixPeer(1000, gateway::Role::None), denied);
  EXPECT_EQ(records.size(), 4u);
}

}  // namespace
}  // namespace bulwark::daemon
