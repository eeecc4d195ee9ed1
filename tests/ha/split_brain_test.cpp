// The split-brain rules (ha/split_brain.h): who stands down, and when it comes back.
#include <gtest/gtest.h>

#include "bulwark/ha/split_brain.h"

namespace bulwark::ha {
namespace {

using A = SplitBrainGuard::Action;
using namespace std::chrono_literals;

TEST(HaSplitBrain, AnActiveNodeThatSeesAnotherTakeOverStandsDown) {
  SplitBrainGuard g(true);  // even the preferred node: the other one took over later
  auto t0 = Clock::now();
  g.roleChanged(VrrpState::Master, t0);
  auto d = g.claimSeen(true, "the machine at 02:00:00:00:00:02 on eth0", t0 + 60s);
  EXPECT_EQ(d.action, A::StandDown);
  EXPECT_EQ(d.why, "the machine at 02:00:00:00:00:02 on eth0 took over the floating addresses while this node was "
                   "active (split brain): standing down");
  EXPECT_TRUE(g.splitBrain());
  EXPECT_TRUE(g.standingDown());
  EXPECT_EQ(g.detected(), 1);
  g.roleChanged(VrrpState::Fault, t0 + 61s);  // keepalived obeys the stand-down file
  EXPECT_FALSE(g.splitBrain());
  // Someone answers for the addresses: stay down.
  EXPECT_EQ(g.probeRound(true).action, A::None);
  EXPECT_EQ(g.probeRound(false).action, A::None);
  // The sync link goes down, then carries the peer's packets again: back to standby.
  EXPECT_EQ(g.syncLink(false).action, A::None);
  auto r = g.syncLink(true);
  EXPECT_EQ(r.action, A::Resume);
  EXPECT_EQ(r.why, "the sync link carries the peer's packets again: back to standby");
  EXPECT_FALSE(g.standingDown());
}

TEST(HaSplitBrain, NobodyAnsweringMeansThePeerIsGoneAndThisNodeMayTakeOver) {
  SplitBrainGuard g(false);
  auto t0 = Clock::now();
  g.roleChanged(VrrpState::Master, t0);
  ASSERT_EQ(g.claimSeen(true, "x", t0 + 10s).action, A::StandDown);
  g.roleChanged(VrrpState::Fault, t0 + 11s);
  EXPECT_EQ(g.probeRound(false).action, A::None);
  EXPECT_EQ(g.probeRound(false).action, A::None);
  auto r = g.probeRound(false);  // the third unanswered round
  EXPECT_EQ(r.action, A::Resume);
  EXPECT_EQ(r.why, "nobody answers for the floating addresses any more: this node may take over again");
}

TEST(HaSplitBrain, BothActiveAtOnceTheSecondNodeGivesWay) {
  auto t0 = Clock::now();
  SplitBrainGuard first(true), second(false);
  first.roleChanged(VrrpState::Master, t0);
  second.roleChanged(VrrpState::Master, t0 + 100ms);
  EXPECT_EQ(first.claimSeen(true, "b", t0 + 300ms).action, A::None);
  EXPECT_TRUE(first.splitBrain());
  auto d = second.claimSeen(true, "a", t0 + 300ms);
  EXPECT_EQ(d.action, A::StandDown);
  EXPECT_EQ(d.why, "both nodes became active at once (split brain); the first node listed stays: standing down");
}

TEST(HaSplitBrain, AnAnswerIsAnAlertNotAReasonToStandDown) {
  SplitBrainGuard g(false);
  auto t0 = Clock::now();
  g.roleChanged(VrrpState::Master, t0);
  EXPECT_EQ(g.claimSeen(false, "x", t0 + 30s).action, A::None);
  EXPECT_TRUE(g.splitBrain());
  EXPECT_FALSE(g.standingDown());
  EXPECT_EQ(g.claimSeen(false, "x", t0 + 31s).action, A::None);
  EXPECT_EQ(g.detected(), 1);  // one split brain, seen twice
}

TEST(HaSplitBrain, ClaimsSeenByAStandbyAreNoSplitBrain) {
  SplitBrainGuard g(true);
  g.roleChanged(VrrpState::Backup, Clock::now());
  EXPECT_EQ(g.claimSeen(true, "x", Clock::now()).action, A::None);
  EXPECT_FALSE(g.splitBrain());
  EXPECT_EQ(g.syncLink(true).action, A::None);
}

}  // namespace
}  // namespace bulwark::ha
