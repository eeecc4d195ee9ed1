// The supervisor with real child processes: start order and readiness, restart with back-off,
// stop in reverse order, leftovers, a program that cannot start.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "bulwark/ha/supervisor.h"
#include "poll_loop.h"

namespace bulwark::ha {
namespace {

namespace fs = std::filesystem;

class HaSupervisor : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bulwark-ha-sup-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A shell child that notes "NAME start" and, on SIGTERM, "NAME stop" in the journal.
  ChildSpec shell(const std::string& name, const std::string& extra = "") {
    auto j = (dir_ / "journal").string();
    return {name,
            {"/bin/sh", "-c",
             "echo '" + name + " start' >> " + j + "; trap 'echo \"" + name + " stop\" >> " + j +
                 "; exit 0' TERM; " + extra + " while :; do sleep 0.05; done"},
            {"PATH=/usr/bin:/bin"},
            dir_ / (name + ".log")};
  }
  // A child that is ready only once it listens on `socket` (after `delay` seconds).
  ChildSpec listener(const std::string& name, const fs::path& socket, double delay) {
    auto j = (dir_ / "journal").string();
    std::string py = "import socket,signal,sys,time\n"
                     "open('" + j + "','a').write('" + name + " start\\n')\n"
                     "def bye(*a):\n  open('" + j + "','a').write('" + name + " stop\\n'); sys.exit(0)\n"
                     "signal.signal(signal.SIGTERM, bye)\n"
                     "time.sleep(" + std::to_string(delay) + ")\n"
                     "s=socket.socket(socket.AF_UNIX); s.bind('" + socket.string() + "'); s.listen(4)\n"
                     "while True: time.sleep(0.05)\n";
    return {name, {"/usr/bin/python3", "-c", py}, {"PATH=/usr/bin:/bin"}, dir_ / (name + ".log")};
  }
  std::vector<std::string> journal() {
    std::ifstream in(dir_ / "journal");
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  fs::path dir_;
};

TEST_F(HaSupervisor, StartsInOrderOnceTheFirstIsReadyAndStopsInReverse) {
  test::PollLoop loop;
  auto sock = dir_ / "first.ctl";
  std::ofstream(sock) << "stale";  // a leftover of a crashed run: removed before the start
  std::vector<std::string> events;
  bool ready = false;
  Supervisor sup(loop,
                 {{listener("first", sock, 0.3), sock, std::chrono::milliseconds(5000), {sock}},
                  {shell("second"), {}, std::chrono::milliseconds(5000), {}}},
                 {[&](const std::string& c, const std::string& w) { events.push_back(c + ": " + w); },
                  [&] { ready = true; }});
  auto t0 = Clock::now();
  sup.start();
  ASSERT_TRUE(loop.runUntil([&] { return ready; }, std::chrono::seconds(10)));
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(250));  // waited for the socket
  auto st = sup.states();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_TRUE(st[0].ready && st[1].ready);
  EXPECT_GT(st[0].pid, 0);
  loop.runFor(std::chrono::milliseconds(200));
  EXPECT_EQ(journal(), (std::vector<std::string>{"first start", "second start"}));
  sup.stop();
  EXPECT_EQ(journal(), (std::vector<std::string>{"first start", "second start", "second stop", "first stop"}));
  for (const auto& s : sup.states()) {
    EXPECT_EQ(s.pid, -1);
    EXPECT_EQ(s.lastExit, "exit 0");
    EXPECT_EQ(::kill(st[0].pid, 0), -1);  // gone (and reaped: no zombie)
  }
  EXPECT_EQ(events.front(), "first: started (pid " + std::to_string(st[0].pid) + ")");
  EXPECT_EQ(events.back(), "first: stopped (exit 0)");
}

TEST_F(HaSupervisor, RestartsAChildThatDiesWithBackoff) {
  test::PollLoop loop;
  std::vector<std::string> events;
  Supervisor sup(loop, {{shell("only"), {}, std::chrono::milliseconds(5000), {}}},
                 {[&](const std::string& c, const std::string& w) { events.push_back(c + ": " + w); }, {}});
  sup.start();
  loop.runFor(std::chrono::milliseconds(100));
  auto first = sup.states()[0].pid;
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  auto t0 = Clock::now();
  ASSERT_TRUE(loop.runUntil([&] { auto p = sup.states()[0].pid; return p > 0 && p != first; }, std::chrono::seconds(5)));
  auto waited = Clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(450));
  EXPECT_LT(waited, std::chrono::milliseconds(2500));
  EXPECT_EQ(sup.states()[0].restarts, 1);
  EXPECT_EQ(sup.states()[0].lastExit, "killed by SIGKILL");
  // The second failure in a row waits twice as long.
  auto second = sup.states()[0].pid;
  ASSERT_EQ(::kill(second, SIGKILL), 0);
  t0 = Clock::now();
  ASSERT_TRUE(loop.runUntil([&] { auto p = sup.states()[0].pid; return p > 0 && p != second; }, std::chrono::seconds(5)));
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(950));
  EXPECT_NE(std::find_if(events.begin(), events.end(),
                         [](const std::string& e) { return e.find("exited (killed by SIGKILL) after ") != std::string::npos &&
                                                           e.find("starting it again in 500 ms") != std::string::npos; }),
            events.end());
  sup.stop();
}

TEST_F(HaSupervisor, AChildThatNeverGetsReadyIsKilledAndStartedAgain) {
  test::PollLoop loop;
  auto sock = dir_ / "never.ctl";
  std::vector<std::string> events;
  Supervisor sup(loop, {{shell("slow"), sock, std::chrono::milliseconds(300), {}}},
                 {[&](const std::string& c, const std::string& w) { events.push_back(c + ": " + w); }, {}});
  sup.start();
  ASSERT_TRUE(loop.runUntil([&] { return sup.states()[0].restarts >= 1; }, std::chrono::seconds(5)));
  EXPECT_NE(std::find(events.begin(), events.end(),
                      "slow: not ready after 300 ms (" + sock.string() + " does not accept connections)"),
            events.end());
  sup.stop();
}

TEST_F(HaSupervisor, AProgramThatCannotStartIsRetried) {
  test::PollLoop loop;
  std::vector<std::string> events;
  Supervisor sup(loop, {{{"ghost", {"/nonexistent/ghostd"}, {}, {}}, {}, std::chrono::milliseconds(500), {}}},
                 {[&](const std::string& c, const std::string& w) { events.push_back(c + ": " + w); }, {}});
  sup.start();
  loop.runFor(std::chrono::milliseconds(700));
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0], "ghost: cannot start: ghost: /nonexistent/ghostd: No such file or directory; again in 500 ms");
  EXPECT_EQ(events[1], "ghost: cannot start: ghost: /nonexistent/ghostd: No such file or directory; again in 1000 ms");
  sup.stop();
}

TEST_F(HaSupervisor, RestartStopsAndStartsThatChildOnly) {
  test::PollLoop loop;
  bool ready = false;
  Supervisor sup(loop,
                 {{shell("a"), {}, std::chrono::milliseconds(5000), {}}, {shell("b"), {}, std::chrono::milliseconds(5000), {}}},
                 {{}, [&] { ready = true; }});
  sup.start();
  ASSERT_TRUE(loop.runUntil([&] { return ready; }, std::chrono::seconds(5)));
  loop.runFor(std::chrono::milliseconds(200));
  auto b = sup.states()[1].pid;
  ready = false;
  sup.restart("a");
  ASSERT_TRUE(loop.runUntil([&] { return sup.states()[0].ready; }, std::chrono::seconds(5)));
  loop.runFor(std::chrono::milliseconds(200));
  auto j = journal();  // a and b started together (a is ready at once): either may write first
  ASSERT_EQ(j.size(), 4u) << ::testing::PrintToString(j);
  std::sort(j.begin(), j.begin() + 2);
  EXPECT_EQ(j, (std::vector<std::string>{"a start", "b start", "a stop", "a start"}));
  EXPECT_EQ(sup.states()[1].pid, b);
  EXPECT_EQ(sup.states()[0].restarts, 0);  // a restart on request is not a failure
  sup.stop();
}

TEST_F(HaSupervisor, ChildrenDoNotInheritBlockedSignals) {
  // bulwarkd blocks SIGTERM for its signalfd; a child must still stop on SIGTERM.
  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &mask, &old), 0);
  test::PollLoop loop;
  Supervisor sup(loop, {{shell("term"), {}, std::chrono::milliseconds(5000), {}}}, {});
  sup.start();
  loop.runFor(std::chrono::milliseconds(150));
  auto t0 = Clock::now();
  sup.stop(std::chrono::milliseconds(3000));
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(2000));
  EXPECT_EQ(sup.states()[0].lastExit, "exit 0");
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace
}  // namespace bulwark::ha
