// conntrackd's control socket (against a stand-in; tests/ha/daemons_netns_test.cpp talks to
// the real one) and the transition steps run on a role change.
#include <gtest/gtest.h>

#include "bulwark/ha/conntrackd_client.h"
#include "bulwark/ha/transitions.h"
#include "fake_conntrackd.h"
#include "poll_loop.h"

namespace bulwark::ha {
namespace {

class HaConntrackd : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("bulwark-ha-ctd-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    paths_ = RuntimePaths{dir_};
    fake_ = std::make_unique<test::FakeConntrackd>(paths_.conntrackdSocket(), paths_.conntrackdLog());
  }
  void TearDown() override {
    fake_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  RuntimePaths paths_;
  std::unique_ptr<test::FakeConntrackd> fake_;
};

TEST_F(HaConntrackd, RequestSendsTheCodeAndReadsTheReply) {
  fake_->external = 1234;
  auto r = conntrackdRequest(paths_.conntrackdSocket(), CtdCommand::Stats, std::chrono::milliseconds(2000));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(cacheActive(*r, "internal"), 3);
  EXPECT_EQ(cacheActive(*r, "external"), 1234);
  EXPECT_EQ(packetsReceived(*r), 42);
  EXPECT_EQ(fake_->codes(), std::vector<int>{21});
}

TEST_F(HaConntrackd, RequestIsBoundedInTime) {
  fake_->silent = true;
  auto t0 = std::chrono::steady_clock::now();
  auto r = conntrackdRequest(paths_.conntrackdSocket(), CtdCommand::Commit, std::chrono::milliseconds(200));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "conntrackd -c: no answer within 200 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(HaConntrackd, NoDaemonIsAClearError) {
  fake_.reset();
  auto r = conntrackdRequest(paths_.conntrackdSocket(), CtdCommand::Stats, std::chrono::milliseconds(200));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("conntrackd -s: connect " + paths_.conntrackdSocket().string() + ": ", 0), 0u)
      << r.error().message;
}

TEST(HaConntrackdText, ParsesCommittedCountsAndStats) {
  EXPECT_EQ(committedEntries("[n] Committed 0 new entries\n[n] commit has taken 0.000148 seconds\n"), 0);
  EXPECT_EQ(committedEntries("Committed 5 new entries\nCommitted 10000 new entries\n"), 10000);
  EXPECT_EQ(committedEntries("Committed 3 new expectations\n"), std::nullopt);
  EXPECT_EQ(committedEntries("Committed 7"), std::nullopt);
  EXPECT_EQ(committedEntries(""), std::nullopt);
  EXPECT_EQ(cacheActive("cache internal:\ncurrent active connections:\t 9\n", "external"), std::nullopt);
  EXPECT_EQ(packetsReceived("no traffic section"), std::nullopt);
  EXPECT_EQ(commandFlag(CtdCommand::Commit), "-c");
  EXPECT_EQ(commandName(CtdCommand::RequestResync), "request-resync");
}

TEST(HaTransitions, StepsPerRole) {
  using C = CtdCommand;
  EXPECT_EQ(transitionSteps(VrrpState::Master), (std::vector<C>{C::Commit, C::FlushCaches, C::ResyncMaster, C::SendBulk}));
  EXPECT_EQ(transitionSteps(VrrpState::Backup), (std::vector<C>{C::ResetTimers, C::RequestResync}));
  EXPECT_EQ(transitionSteps(VrrpState::Fault), (std::vector<C>{C::ResetTimers}));
  EXPECT_TRUE(transitionSteps(VrrpState::Stop).empty());
}

TEST_F(HaConntrackd, MasterRunsTheStepsInOrderAndCountsTheCommit) {
  fake_->external = 1000;
  fake_->committed = 1000;
  fake_->commitDelayMs = 30;
  test::PollLoop loop;
  std::vector<TransitionReport> reports;
  TransitionRunner runner(loop, paths_, [&](const TransitionReport& r) { reports.push_back(r); });
  runner.run(VrrpState::Master);
  runner.run(VrrpState::Backup);  // queued behind the first
  ASSERT_TRUE(loop.runUntil([&] { return reports.size() == 2; }, std::chrono::seconds(5)));
  EXPECT_EQ(fake_->codes(), (std::vector<int>{21, 46, 45, 44, 22, 26, 23}));
  const auto& m = reports[0];
  EXPECT_EQ(m.to, VrrpState::Master);
  EXPECT_TRUE(m.ok());
  EXPECT_EQ(m.externalBefore, 1000);
  EXPECT_EQ(m.committed, 1000);
  ASSERT_EQ(m.steps.size(), 5u);
  EXPECT_EQ(m.steps[1].command, CtdCommand::Commit);
  EXPECT_GE(m.steps[1].millis, 25.0);  // the commit's time is the time to the daemon's EOF
  EXPECT_NE(m.summary().find("commit (-c) "), std::string::npos);
  EXPECT_NE(m.summary().find(" ms (1000 entries), flush (-f) "), std::string::npos) << m.summary();
  EXPECT_EQ(reports[1].to, VrrpState::Backup);
  EXPECT_EQ(reports[1].steps.size(), 2u);
  EXPECT_EQ(loop.watched(), 0u);
}

TEST_F(HaConntrackd, ACommitOfNothingIsReportedAsZero) {
  fake_->external = 0;
  fake_->committed = 0;
  test::PollLoop loop;
  std::optional<TransitionReport> report;
  TransitionRunner runner(loop, paths_, [&](const TransitionReport& r) { report = r; });
  runner.run(VrrpState::Master);
  ASSERT_TRUE(loop.runUntil([&] { return report.has_value(); }, std::chrono::seconds(5)));
  EXPECT_EQ(report->committed, 0);
  EXPECT_EQ(report->externalBefore, 0);
}

TEST_F(HaConntrackd, AFailedStepIsReportedAndTheRestStillRun) {
  fake_.reset();  // no conntrackd: every step fails at connect
  test::PollLoop loop;
  std::optional<TransitionReport> report;
  TransitionRunner runner(loop, paths_, [&](const TransitionReport& r) { report = r; });
  runner.run(VrrpState::Master);
  ASSERT_TRUE(loop.runUntil([&] { return report.has_value(); }, std::chrono::seconds(5)));
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->steps.size(), 5u);
  EXPECT_EQ(report->committed, std::nullopt);
  EXPECT_NE(report->summary().find("commit (-c) FAILED: conntrackd -c: connect "), std::string::npos) << report->summary();
}

}  // namespace
}  // namespace bulwark::ha
