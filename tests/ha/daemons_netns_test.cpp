// The real keepalived and conntrackd, started by the supervisor from the rendered reference
// configuration (campus-ha, node edge1-a) in a network namespace of their own
// (daemons_netns.sh). `keepalived -t` and `conntrackd -C CONF -s` are the witnesses.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "bulwark/ha/conntrackd_client.h"
#include "bulwark/ha/keepalived_check.h"
#include "bulwark/ha/notify.h"
#include "bulwark/ha/render.h"
#include "bulwark/ha/supervisor.h"
#include "bulwark/ha/transitions.h"
#include "bulwark/policies/loader.h"
#include "poll_loop.h"

namespace bulwark::ha {
namespace {

namespace fs = std::filesystem;
constexpr const char* kKeepalived = "/usr/sbin/keepalived";
constexpr const char* kConntrackd = "/usr/sbin/conntrackd";

std::string sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

class HaDaemons : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("BULWARK_HA_NETNS")) GTEST_SKIP() << "run through daemons_netns.sh (a network namespace of its own)";
    dir_ = fs::temp_directory_path() / ("bulwark-ha-daemons-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all);
    paths_ = RuntimePaths{dir_};
    auto r = policies::loadAndValidate(fs::path(BULWARK_EXAMPLES_DIR) / "campus-ha");
    ASSERT_FALSE(r.diagnostics.hasErrors());
    auto v = nodeView(r.policy, "edge1-a");
    ASSERT_TRUE(v);
    view_ = *v;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  std::vector<SupervisedChild> children() {
    return {{{"conntrackd", conntrackdArgv(kConntrackd, paths_), {"PATH=/usr/sbin:/usr/bin"}, dir_ / "conntrackd.out"},
             paths_.conntrackdSocket(),
             std::chrono::milliseconds(5000),
             {paths_.conntrackdLock(), paths_.conntrackdSocket()}},
            {{"keepalived", keepalivedArgv(kKeepalived, paths_), {"PATH=/usr/sbin:/usr/bin"}, dir_ / "keepalived.out"},
             {},
             std::chrono::milliseconds(5000),
             {paths_.keepalivedPid(), paths_.vrrpPid()}}};
  }
  fs::path dir_;
  RuntimePaths paths_;
  NodeView view_;
};

TEST_F(HaDaemons, KeepalivedAcceptsTheRenderedConfiguration) {
  write(paths_.keepalivedConf(), renderKeepalived(view_, paths_));
  auto st = checkKeepalivedConfig(kKeepalived, paths_.keepalivedConf());
  EXPECT_TRUE(st) << st.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "keepalived.conf.check"));
}

TEST_F(HaDaemons, KeepalivedRejectsAnInterfaceThisNodeLacks) {
  view_.instances[1].interface = "eth7";
  write(paths_.keepalivedConf(), renderKeepalived(view_, paths_));
  auto st = checkKeepalivedConfig(kKeepalived, paths_.keepalivedConf());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message.rfind("keepalived -t rejects " + paths_.keepalivedConf().string(), 0), 0u);
  EXPECT_NE(st.error().message.find("eth7"), std::string::npos) << st.error().message;
}

TEST_F(HaDaemons, SupervisedPairStartsTakesOverAndLeavesNothingBehind) {
  write(paths_.keepalivedConf(), renderKeepalived(view_, paths_));
  write(paths_.conntrackdConf(), renderConntrackd(view_, paths_));
  auto fifo = NotifyFifo::open(paths_.notifyFifo());
  ASSERT_TRUE(fifo) << fifo.error().message;
  test::PollLoop loop;
  std::vector<std::string> lines;
  loop.watchReadable(fifo->fd(), [&] {
    for (auto& l : fifo->readLines()) lines.push_back(l);
  });
  bool ready = false;
  std::vector<std::string> events;
  auto sup = std::make_unique<Supervisor>(
      loop, children(), Supervisor::Hooks{[&](const std::string& c, const std::string& w) { events.push_back(c + ": " + w); },
                                          [&] { ready = true; }});
  sup->start();
  ASSERT_TRUE(loop.runUntil([&] { return ready; }, std::chrono::seconds(10))) << ::testing::PrintToString(events);

  // Our stats request and conntrackd's own client print the same numbers.
  auto ours = conntrackdRequest(paths_.conntrackdSocket(), CtdCommand::Stats, std::chrono::milliseconds(2000));
  ASSERT_TRUE(ours) << ours.error().message;
  auto theirs = sh(std::string(kConntrackd) + " -C " + paths_.conntrackdConf().string() + " -s 2>/dev/null");
  EXPECT_EQ(cacheActive(*ours, "external"), cacheActive(theirs, "external"));
  EXPECT_EQ(cacheActive(*ours, "internal"), cacheActive(theirs, "internal"));
  EXPECT_TRUE(packetsReceived(*ours).has_value());

  // Alone on its link, the node becomes master: every floating address appears.
  ASSERT_TRUE(loop.runUntil([&] { return std::find(lines.begin(), lines.end(), "GROUP \"bulwark\" MASTER 0") != lines.end(); },
                            std::chrono::seconds(10)))
      << ::testing::PrintToString(lines);
  auto addrs = sh("ip -br addr");
  for (const auto* a : {"198.51.100.1/24", "203.0.113.10/32", "2001:db8:ffff:100::1/64", "10.20.0.1/24", "10.99.0.1/24"}) {
    EXPECT_NE(addrs.find(a), std::string::npos) << a << " in\n" << addrs;
  }

  // The master steps against the real daemon: nothing synced, so nothing committed.
  std::optional<TransitionReport> report;
  TransitionRunner runner(loop, paths_, [&](const TransitionReport& r) { report = r; });
  runner.run(VrrpState::Master);
  ASSERT_TRUE(loop.runUntil([&] { return report.has_value(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(report->ok()) << report->summary();
  EXPECT_EQ(report->committed, 0);
  EXPECT_EQ(report->externalBefore, 0);

  // conntrackd dies: started again, keepalived keeps the addresses meanwhile.
  auto ctd = sup->states()[0].pid;
  ASSERT_EQ(::kill(ctd, SIGKILL), 0);
  ASSERT_TRUE(loop.runUntil([&] { auto s = sup->states()[0]; return s.ready && s.pid != ctd; }, std::chrono::seconds(10)));
  EXPECT_NE(sh("ip -br addr").find("198.51.100.1/24"), std::string::npos);

  // Stop: keepalived first (it gives the addresses up), then conntrackd; nothing left.
  auto pids = sup->states();
  sup->stop();
  for (const auto& s : pids) EXPECT_NE(::kill(s.pid, 0), 0) << s.name;
  addrs = sh("ip -br addr");
  EXPECT_EQ(addrs.find("198.51.100.1/24"), std::string::npos) << addrs;
  EXPECT_EQ(addrs.find("10.20.0.1/24"), std::string::npos) << addrs;
  EXPECT_NE(addrs.find("10.20.0.2/24"), std::string::npos) << addrs;  // the node's own stays
  EXPECT_FALSE(fs::exists(paths_.conntrackdLock()));
  EXPECT_FALSE(fs::exists(paths_.keepalivedPid()));
  EXPECT_EQ(sh("pgrep -x keepalived -P " + std::to_string(::getpid())), "");
}

}  // namespace
}  // namespace bulwark::ha
