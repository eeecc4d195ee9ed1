// The engine's logic with a scripted prober (no sockets): rise/fall, flapping, reconfigure,
// bounded concurrency, snapshots, transitions. The real probes against real servers are in
// probe_netns_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <chrono>
#include <mutex>
#include <thread>

#include "bulwark/health/engine.h"

namespace bulwark::health {
namespace {

using namespace std::chrono_literals;

Target target(const std::string& host, std::chrono::milliseconds interval = 20ms) {
  Target t;
  t.check = "c";
  t.host = host;
  t.address = *IpAddress::parse("10.0.0.1");
  t.port = 80;
  t.interval = interval;
  t.timeout = 10ms;
  t.rise = 2;
  t.fall = 3;
  return t;
}

// Waits (bounded) until `pred` holds.
template <typename P>
bool eventually(P pred, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST(HealthCounter, RiseAndFallCountConsecutiveResults) {
  Counter c;
  EXPECT_FALSE(c.record(true, 2, 3));
  EXPECT_EQ(c.state, State::Unknown);
  EXPECT_TRUE(c.record(true, 2, 3));
  EXPECT_EQ(c.state, State::Up);
  EXPECT_FALSE(c.record(false, 2, 3));
  EXPECT_FALSE(c.record(false, 2, 3));
  EXPECT_FALSE(c.record(true, 2, 3));  // the run of failures is broken
  EXPECT_FALSE(c.record(false, 2, 3));
  EXPECT_FALSE(c.record(false, 2, 3));
  EXPECT_TRUE(c.record(false, 2, 3));
  EXPECT_EQ(c.state, State::Down);
  EXPECT_EQ(c.failRun, 3u);
  EXPECT_FALSE(c.record(false, 2, 3));  // stays down, no second transition
}

TEST(HealthCounter, FlappingNeverChangesState) {
  Counter c;
  c.record(true, 2, 2);
  c.record(true, 2, 2);
  ASSERT_EQ(c.state, State::Up);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(c.record(i % 2 == 0, 2, 2));
  EXPECT_EQ(c.state, State::Up);
}

TEST(HealthEngine, ProbesUntilUpThenDownAndReportsTransitions) {
  std::atomic<bool> healthy{true};
  std::mutex m;
  std::vector<Transition> seen;
  Engine::Options o;
  o.prober = [&](const Target&) { return ProbeResult{healthy.load(), 1.5, healthy ? "" : "connection refused"}; };
  Engine e(o, [&](const Transition& t) {
    std::lock_guard lock(m);
    seen.push_back(t);
  });
  EXPECT_EQ(e.configure({target("a")}), 1u);
  ASSERT_TRUE(eventually([&] { return e.snapshot().at(0).state == State::Up; }));
  healthy = false;
  ASSERT_TRUE(eventually([&] { return e.snapshot().at(0).state == State::Down; }));
  auto s = e.snapshot().at(0);
  EXPECT_EQ(s.lastError, "connection refused");
  EXPECT_GE(s.failRun, 3u);
  EXPECT_DOUBLE_EQ(s.latencyMs, 1.5);
  EXPECT_EQ(s.transitions, 2u);
  EXPECT_NE(s.lastChange.time_since_epoch().count(), 0);
  std::lock_guard lock(m);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].from, State::Unknown);
  EXPECT_EQ(seen[0].to, State::Up);
  EXPECT_EQ(seen[1].from, State::Up);
  EXPECT_EQ(seen[1].to, State::Down);
  EXPECT_EQ(seen[1].error, "connection refused");
  EXPECT_EQ(seen[1].target.host, "a");
}

TEST(HealthEngine, ReconfigureKeepsTheStateOfUnchangedTargets) {
  Engine::Options o;
  o.prober = [](const Target& t) { return ProbeResult{t.host != "bad", 1, t.host == "bad" ? "no" : ""}; };
  Engine e(o);
  e.configure({target("a"), target("bad")});
  ASSERT_TRUE(eventually([&] {
    auto s = e.snapshot();
    return s.size() == 2 && s[0].state == State::Up && s[1].state == State::Down;
  }));
  const auto probesBefore = e.snapshot()[0].probes;
  auto changed = target("a");
  changed.path = "/other";  // same identity: state kept, new settings taken
  e.configure({changed, target("new")});
  auto s = e.snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].target.host, "a");
  EXPECT_EQ(s[0].state, State::Up);
  EXPECT_GE(s[0].probes, probesBefore);
  EXPECT_EQ(s[0].target.path, "/other");
  EXPECT_EQ(s[1].target.host, "new");
  EXPECT_EQ(s[1].state, State::Unknown);
}

TEST(HealthEngine, AtMostWorkersProbesAtATimeAndNoneTwiceAtOnce) {
  std::atomic<int> running{0}, peak{0};
  std::mutex m;
  std::map<std::string, int> perTarget;
  bool overlap = false;
  Engine::Options o;
  o.workers = 3;
  o.prober = [&](const Target& t) {
    {
      std::lock_guard lock(m);
      if (++perTarget[t.host] > 1) overlap = true;
    }
    int now = ++running;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(30ms);  // longer than the interval: no pile-up either
    --running;
    {
      std::lock_guard lock(m);
      --perTarget[t.host];
    }
    return ProbeResult{true, 30, ""};
  };
  Engine e(o);
  std::vector<Target> ts;
  for (int i = 0; i < 10; ++i) ts.push_back(target("h" + std::to_string(i), 5ms));
  e.configure(ts);
  ASSERT_TRUE(eventually([&] {
    auto s = e.snapshot();
    return std::all_of(s.begin(), s.end(), [](const Status& x) { return x.probes >= 3; });
  }));
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 2);
  std::lock_guard lock(m);
  EXPECT_FALSE(overlap);
}

TEST(HealthEngine, RefusesTargetsBeyondTheBound) {
  Engine::Options o;
  o.maxTargets = 2;
  o.prober = [](const Target&) { return ProbeResult{true, 1, ""}; };
  Engine e(o);
  EXPECT_EQ(e.configure({target("a"), target("b"), target("c")}), 2u);
  EXPECT_EQ(e.size(), 2u);
}

TEST(HealthEngine, StopsPromptlyWithProbesRunning) {
  Engine::Options o;
  o.prober = [](const Target&) {
    std::this_thread::sleep_for(50ms);
    return ProbeResult{true, 50, ""};
  };
  auto start = std::chrono::steady_clock::now();
  {
    Engine e(o);
    e.configure({target("a"), target("b")});
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace bulwark::health
