// The HTTP side of /metrics (http_server.h): cpp-httplib on its own threads with whole-request
// deadlines and a connection limit, serving the snapshots a SnapshotBoard holds. Real sockets
// on 127.0.0.1, no event loop (the refresher publishes directly).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "http_server.h"

namespace bulwark::daemon {
namespace {

using namespace std::chrono_literals;

int connectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Sends `request`, reads until the server closes (or `wait` passes); the response text.
std::string roundTrip(int port, const std::string& request, std::chrono::milliseconds wait = 5s) {
  int fd = connectTo(port);
  if (!request.empty()) (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + wait;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

class Http : public ::testing::Test {
 protected:
  void start(HttpOptions o) {
    board.setRefresher([this] { board.publish("bulwark_revision " + std::to_string(++refreshes) + "\n"); });
    o.address = "127.0.0.1:0";
    std::map<std::string, HttpServer::Route> routes;
    routes["/metrics"] = [this] {
      auto s = board.get(0ms, 2s);
      if (!s) return HttpReply{503, "text/plain", "late\n"};
      return HttpReply{200, "text/plain; version=0.0.4", *s->body};
    };
    auto h = HttpServer::start(o, std::move(routes));
    ASSERT_TRUE(h.ok()) << h.error().message;
    server = std::move(*h);
    port = boundPort();
  }
  int boundPort() { return server->port(); }
  SnapshotBoard board;
  std::atomic<int> refreshes{0};
  std::unique_ptr<HttpServer> server;
  int port = 0;
};

// A snapshot is as old as the ask that made it: a dump that took 300 ms and was published a
// moment ago holds data from 300 ms ago, so a scrape that wants data younger than 250 ms must
// not be served it (the daemon test compares a scrape with the counters read just before).
TEST(SnapshotBoardAge, ASlowRefreshIsAsOldAsItsAsk) {
  SnapshotBoard board;
  int asked = 0;
  std::vector<std::thread> dumps;
  board.setRefresher([&] {
    dumps.emplace_back([&board, n = ++asked] {
      std::this_thread::sleep_for(300ms);
      board.publish(std::to_string(n));
    });
  });
  auto first = board.get(250ms, 5s);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first->body, "1");
  auto second = board.get(250ms, 5s);  // published just now, asked 300 ms ago: a new one
  ASSERT_TRUE(second);
  EXPECT_EQ(*second->body, "2");
  auto third = board.get(60s, 5s);  // young enough for this one: served as it is
  ASSERT_TRUE(third);
  EXPECT_EQ(*third->body, "2");
  EXPECT_EQ(asked, 2);
  for (auto& t : dumps) t.join();
}

TEST_F(Http, ServesFreshSnapshotsAndAnswersWhatItDoesNotServe) {
  HttpOptions o;
  start(o);
  ASSERT_GT(port, 0);
  auto r = roundTrip(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_NE(r.find("bulwark_revision 1"), std::string::npos) << r;
  EXPECT_NE(roundTrip(port, "GET /metrics HTTP/1.1\r\n\r\n").find("bulwark_revision 2"), std::string::npos);
  EXPECT_EQ(roundTrip(port, "GET /other HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(roundTrip(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  // Bare LF line ends and HTTP/0.9: an answer (400), not a hang.
  EXPECT_EQ(roundTrip(port, "GET /metrics HTTP/1.1\n\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(roundTrip(port, "GET /metrics\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  // A TLS record header where HTTP is expected (it holds a NUL: the length comes from sizeof).
  static const char kTlsRecord[] = "\x16\x03\x01\x00\x05hello\r\n\r\n";
  EXPECT_EQ(roundTrip(port, std::string(kTlsRecord, sizeof kTlsRecord - 1)).rfind("HTTP/1.1 400", 0), 0u);
}

TEST_F(Http, ThirtyTwoSlowClientsDoNotBlockAScrape) {
  HttpOptions o;
  o.maxConnections = 64;
  o.requestDeadline = 60s;  // if they held the scrape up, it would wait that long
  start(o);
  std::vector<int> slow;
  for (int i = 0; i < 32; ++i) {  // local clients that send one byte and then nothing
    slow.push_back(connectTo(port));
    (void)::send(slow.back(), "G", 1, MSG_NOSIGNAL);
  }
  std::this_thread::sleep_for(100ms);
  auto r = roundTrip(port, "GET /metrics HTTP/1.1\r\n\r\n", 10s);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  for (int fd : slow) ::close(fd);
}

TEST_F(Http, ATricklingClientIsCutOffAtTheRequestDeadline) {
  HttpOptions o;
  o.requestDeadline = 1s;
  start(o);
  int fd = connectTo(port);
  // One byte every 200 ms: each read succeeds, only the whole-request deadline ends it.
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    closed = ::send(fd, "G", 1, MSG_NOSIGNAL) < 0;
    char c;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) == 1 && ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0) closed = true;
  }
  EXPECT_TRUE(closed);
  ::close(fd);
}

TEST_F(Http, MoreConnectionsThanTheLimitGet503AtOnce) {
  HttpOptions o;
  o.maxConnections = 2;
  o.requestDeadline = 3s;
  start(o);
  // Two that started a request and stall: they hold both threads. (Ones that send nothing
  // would not: TCP_DEFER_ACCEPT keeps them in the kernel, see IdleConnectionsHoldNoThread.)
  int a = connectTo(port), b = connectTo(port);
  (void)::send(a, "G", 1, MSG_NOSIGNAL);
  (void)::send(b, "G", 1, MSG_NOSIGNAL);
  std::this_thread::sleep_for(100ms);
  auto r = roundTrip(port, "GET /metrics HTTP/1.1\r\n\r\n", 2s);
  EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r;
  ::close(a);
  ::close(b);
}

TEST_F(Http, IdleConnectionsHoldNoThread) {
  HttpOptions o;
  o.maxConnections = 2;
  start(o);
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) idle.push_back(connectTo(port));  // connected, nothing sent
  std::this_thread::sleep_for(100ms);
  auto r = roundTrip(port, "GET /metrics HTTP/1.1\r\n\r\n", 2s);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  for (int fd : idle) ::close(fd);
}

}  // namespace
}  // namespace bulwark::daemon
