// The probes and the engine against real servers: the binary moves into a private network
// namespace first (main), so nothing here touches the host. Servers: a TCP listener of the
// test's own, nginx (Debian's, private config) for HTTP and HTTPS, its TLS port for the
// handshake check; a port nothing listens on (refused); a port whose SYNs an nft rule in this
// namespace drops (connect timeout); a listener that accepts and never answers (read timeout).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "bulwark/health/engine.h"
#include "bulwark/health/probe.h"

namespace bulwark::health {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool gInNetns = false;

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

Target target(CheckType type, std::uint16_t port, std::chrono::milliseconds timeout = 300ms) {
  Target t;
  t.check = "c";
  t.host = "lo";
  t.address = *IpAddress::parse("127.0.0.1");
  t.type = type;
  t.port = port;
  t.timeout = timeout;
  t.interval = 100ms;
  t.rise = 2;
  t.fall = 2;
  return t;
}

// A listening TCP socket on 127.0.0.1:port (accepting via the backlog, never answering).
class Listener {
 public:
  explicit Listener(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 64) == 0;
  }
  ~Listener() { ::close(fd_); }
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// nginx with a private prefix: :18080 (http) and :18443 (https); /healthz 200, /bad 503.
class Nginx {
 public:
  Nginx() {
    dir_ = fs::temp_directory_path() / ("bulwark-health-nginx-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "tmp");
    if (sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=lb.test "
           "-keyout " + (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string()) != 0) {
      return;
    }
    const std::string d = dir_.string();
    std::ofstream(dir_ / "nginx.conf") << "pid " << d << "/nginx.pid;\nerror_log " << d << "/error.log warn;\n"
        << "daemon off;\nworker_processes 1;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n"
        << "  client_body_temp_path " << d << "/tmp/b; proxy_temp_path " << d << "/tmp/p; fastcgi_temp_path " << d
        << "/tmp/f; uwsgi_temp_path " << d << "/tmp/u; scgi_temp_path " << d << "/tmp/s;\n"
        << "  server {\n    listen 127.0.0.1:18080; listen 127.0.0.1:18443 ssl;\n"
        << "    ssl_certificate " << d << "/cert.pem; ssl_certificate_key " << d << "/key.pem;\n"
        << "    location = /healthz { return 200 \"ok $host\\n\"; }\n    location = /bad { return 503; }\n"
        << "    location = /named { if ($host != \"lb.test\") { return 421; } return 204; }\n  }\n}\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/usr/sbin/nginx", "nginx", "-p", d.c_str(), "-c", (d + "/nginx.conf").c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 100 && !up(); ++i) std::this_thread::sleep_for(50ms);
  }
  ~Nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  [[nodiscard]] bool up() const { return probeTcp(target(CheckType::Tcp, 18443)).ok; }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
};

class Probes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (gInNetns) nginx_ = new Nginx();
  }
  static void TearDownTestSuite() {
    delete nginx_;
    nginx_ = nullptr;
  }
  void SetUp() override {
    if (!gInNetns) GTEST_SKIP() << "needs root: unshare(CLONE_NEWNET) failed";
    if (::access("/usr/sbin/nginx", X_OK) != 0) GTEST_SKIP() << "nginx missing (tools/packages.txt: nginx-light)";
    ASSERT_TRUE(nginx_ != nullptr && nginx_->up()) << "nginx did not start";
  }
  static Nginx* nginx_;
};
Nginx* Probes::nginx_ = nullptr;

TEST_F(Probes, TcpConnectSucceedsAndIsRefusedWhereNothingListens) {
  Listener l(18001);
  ASSERT_TRUE(l.ok());
  auto ok = probeTcp(target(CheckType::Tcp, 18001));
  EXPECT_TRUE(ok.ok) << ok.error;
  EXPECT_GE(ok.latencyMs, 0);
  auto refused = probeTcp(target(CheckType::Tcp, 18002));
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.error, "connect: Connection refused");
}

TEST_F(Probes, TcpConnectTimesOutWhereSynsAreDropped) {
  ASSERT_EQ(sh("nft add table inet probetest && nft add chain inet probetest in "
               "'{ type filter hook input priority 0; }' && nft add rule inet probetest in tcp dport 18003 drop"),
            0);
  auto start = std::chrono::steady_clock::now();
  auto r = probeTcp(target(CheckType::Tcp, 18003, 200ms));
  auto took = std::chrono::steady_clock::now() - start;
  sh("nft delete table inet probetest");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "connect timed out after 200 ms");
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1500ms);  // bounded by the timeout, not by TCP's retransmissions
}

TEST_F(Probes, HttpAndHttpsGetWithTheExpectedStatus) {
  auto http = target(CheckType::Http, 18080);
  http.path = "/healthz";
  auto r = probeHttp(http);
  EXPECT_TRUE(r.ok) << r.error;
  http.path = "/bad";
  r = probeHttp(http);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "status 503");
  http.expect = {503};
  EXPECT_TRUE(probeHttp(http).ok);
  auto https = target(CheckType::Https, 18443);
  https.path = "/healthz";
  r = probeHttp(https);
  EXPECT_TRUE(r.ok) << r.error;  // a self-signed certificate: not verified, by design
  https.path = "/named";           // nginx answers 204 only for Host lb.test
  https.expect = {204};
  EXPECT_FALSE(probeHttp(https).ok);
  https.serverName = "lb.test";    // connect to 127.0.0.1, say lb.test (Host, SNI)
  r = probeHttp(https);
  EXPECT_TRUE(r.ok) << r.error;
  auto plainOnTls = target(CheckType::Http, 18443);  // HTTP spoken to a TLS port: nginx says 400
  EXPECT_FALSE(probeHttp(plainOnTls).ok);
  auto refused = probeHttp(target(CheckType::Http, 18004));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("connection failed"), std::string::npos) << refused.error;
}

TEST_F(Probes, HttpReadTimesOutOnAServerThatNeverAnswers) {
  Listener l(18005);
  ASSERT_TRUE(l.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = probeHttp(target(CheckType::Http, 18005, 200ms));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("read failed"), std::string::npos) << r.error;
  EXPECT_LT(took, 1500ms);
}

TEST_F(Probes, TlsHandshake) {
  auto t = target(CheckType::Tls, 18443);
  t.serverName = "lb.test";
  auto r = probeTls(t);
  EXPECT_TRUE(r.ok) << r.error;
  auto notTls = probeTls(target(CheckType::Tls, 18080));  // plain HTTP port
  EXPECT_FALSE(notTls.ok);
  Listener silent(18006);
  auto start = std::chrono::steady_clock::now();
  auto stuck = probeTls(target(CheckType::Tls, 18006, 200ms));
  EXPECT_FALSE(stuck.ok);
  EXPECT_EQ(stuck.error, "TLS handshake timed out after 200 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_F(Probes, EngineFollowsAListenerGoingAwayAndComingBack) {
  Engine e(Engine::Options{});
  auto t = target(CheckType::Tcp, 18007, 100ms);
  auto listener = std::make_unique<Listener>(18007);
  e.configure({t});
  auto waitFor = [&](State want) {
    for (int i = 0; i < 100; ++i) {
      if (e.snapshot().at(0).state == want) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  ASSERT_TRUE(waitFor(State::Up));
  listener.reset();  // refused from now on
  auto downSince = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor(State::Down));
  // fall 2 at 100 ms: the second failed probe comes ≤ 2 intervals after the listener went
  EXPECT_LT(std::chrono::steady_clock::now() - downSince, 800ms);
  EXPECT_EQ(e.snapshot().at(0).lastError, "connect: Connection refused");
  listener = std::make_unique<Listener>(18007);
  ASSERT_TRUE(waitFor(State::Up));
  EXPECT_EQ(e.snapshot().at(0).transitions, 3u);
}

TEST_F(Probes, EngineRunsEveryCheckTypeAgainstNginx) {
  std::vector<Target> ts;
  auto http = target(CheckType::Http, 18080);
  http.path = "/healthz";
  ts.push_back(http);
  auto https = target(CheckType::Https, 18443);
  https.path = "/healthz";
  ts.push_back(https);
  ts.push_back(target(CheckType::Tls, 18443));
  auto bad = target(CheckType::Http, 18080);
  bad.path = "/bad";
  bad.check = "bad";  // another check on the same host and port: a target of its own
  ts.push_back(bad);
  Engine e(Engine::Options{});
  ASSERT_EQ(e.configure(ts), 4u);
  for (int i = 0; i < 200; ++i) {
    auto s = e.snapshot();
    if (std::all_of(s.begin(), s.end(), [](const Status& x) { return x.state != State::Unknown; })) break;
    std::this_thread::sleep_for(20ms);
  }
  for (const auto& s : e.snapshot()) {
    const bool wantUp = s.target.path != "/bad";
    EXPECT_EQ(s.state, wantUp ? State::Up : State::Down) << s.target.key() << ": " << s.lastError;
  }
}

}  // namespace
}  // namespace bulwark::health

int main(int argc, char** argv) {
  bulwark::health::gInNetns = ::unshare(CLONE_NEWNET) == 0;
  if (bulwark::health::gInNetns) bulwark::health::sh("ip link set lo up");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
