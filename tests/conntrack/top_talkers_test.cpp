#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "bulwark/conntrack/top_talkers.h"

namespace bulwark::conntrack {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

Flow flow(std::uint32_t id, const char* src, std::uint16_t sport, std::uint64_t bytes) {
  Flow f;
  f.id = id;
  f.family = AF_INET;
  f.proto = IPPROTO_TCP;
  inet_pton(AF_INET, src, f.src.data());
  inet_pton(AF_INET, "203.0.113.10", f.dst.data());
  f.sport = sport;
  f.dport = 1935;
  f.bytes = bytes;
  return f;
}

TEST(TopTalkers, RatesOverTheWindow) {
  TopTalkers t(seconds(10));
  auto t0 = Clock::time_point{} + seconds(1000);
  t.add(t0, {flow(1, "198.18.0.1", 1000, 0), flow(2, "198.18.0.2", 1001, 5000)});
  EXPECT_TRUE(t.top().flows.empty());  // one dump: no rate yet
  t.add(t0 + seconds(5), {flow(1, "198.18.0.1", 1000, 50000), flow(2, "198.18.0.2", 1001, 5000),
                          flow(3, "198.18.0.1", 1002, 10000)});
  auto r = t.top();
  EXPECT_DOUBLE_EQ(r.windowSeconds, 5);
  ASSERT_EQ(r.flows.size(), 2u);  // flow 2 moved nothing
  EXPECT_EQ(r.flows[0].flow.id, 1u);
  EXPECT_DOUBLE_EQ(r.flows[0].bytesPerSecond, 10000);
  EXPECT_EQ(r.flows[1].flow.id, 3u);  // new since the first dump: all its bytes count
  EXPECT_DOUBLE_EQ(r.flows[1].bytesPerSecond, 2000);
  ASSERT_EQ(r.sources.size(), 1u);
  EXPECT_EQ(r.sources[0].text(), "198.18.0.1");
  EXPECT_EQ(r.sources[0].flows, 2u);
  EXPECT_DOUBLE_EQ(r.sources[0].bytesPerSecond, 12000);
  EXPECT_EQ(r.entries, 3u);
}

TEST(TopTalkers, SlidesAndBoundsWhatItKeeps) {
  TopTalkers t(seconds(10));
  auto t0 = Clock::time_point{} + seconds(1000);
  for (int i = 0; i <= 30; ++i) t.add(t0 + seconds(i), {flow(1, "198.18.0.1", 1000, 1000ULL * i * i)});
  // Kept: the dump at now-10 s and the ten after it.
  EXPECT_EQ(t.keptDumps(), 11u);
  auto r = t.top();
  EXPECT_DOUBLE_EQ(r.windowSeconds, 10);
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_DOUBLE_EQ(r.flows[0].bytesPerSecond, (1000.0 * 900 - 1000.0 * 400) / 10);
}

TEST(TopTalkers, AtMostNHighestFirst) {
  TopTalkers t(seconds(10));
  auto t0 = Clock::time_point{} + seconds(1000);
  std::vector<Flow> a, b;
  for (std::uint32_t i = 0; i < 50; ++i) {
    std::string src = "198.18.1." + std::to_string(i);
    a.push_back(flow(i, src.c_str(), 2000, 0));
    b.push_back(flow(i, src.c_str(), 2000, 100ULL * i));
  }
  t.add(t0, a);
  t.add(t0 + seconds(1), b);
  auto r = t.top(10);
  ASSERT_EQ(r.flows.size(), 10u);
  ASSERT_EQ(r.sources.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(r.flows[i].flow.id, 49 - i);
    EXPECT_DOUBLE_EQ(r.sources[i].bytesPerSecond, 100.0 * static_cast<double>(49 - i));
  }
}

TEST(TopTalkers, AReusedIdWithAnotherTupleIsAnotherFlow) {
  TopTalkers t(seconds(10));
  auto t0 = Clock::time_point{} + seconds(1000);
  t.add(t0, {flow(7, "198.18.0.1", 1000, 900000)});
  t.add(t0 + seconds(2), {flow(7, "198.18.0.9", 1000, 4000)});
  auto r = t.top();
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_DOUBLE_EQ(r.flows[0].bytesPerSecond, 2000);
}

TEST(TopTalkers, EveryFlowOfALargeDumpFindsItsOldCounter) {
  // 20,000 flows (the table grows past its first sizes and probes past collisions), 80 sources;
  // a third of the flows start in the second dump and one in ten moved nothing (so do all the
  // flows of the 8 sources i % 80 = 0, 10, ... 70).
  TopTalkers t(seconds(10));
  auto t0 = Clock::time_point{} + seconds(1000);
  std::vector<Flow> a, b;
  double expected = 0;
  for (std::uint32_t i = 0; i < 20000; ++i) {
    std::string src = "198.18.2." + std::to_string(i % 80);
    const auto port = static_cast<std::uint16_t>(1024 + i / 80);
    const std::uint64_t moved = i % 10 == 0 ? 0 : 10ULL * (i % 1000 + 1);
    if (i % 3 != 0) a.push_back(flow(i + 1, src.c_str(), port, 5000));
    b.push_back(flow(i + 1, src.c_str(), port, (i % 3 != 0 ? 5000 : 0) + moved));
    expected += static_cast<double>(moved) / 2;
  }
  t.add(t0, a);
  auto back = t.add(t0 + seconds(2), b);
  EXPECT_TRUE(back.empty());  // the first dump's vector, handed back for reuse
  auto r = t.top(100);
  ASSERT_EQ(r.sources.size(), 72u);
  double total = 0;
  std::size_t flows = 0;
  for (const auto& s : r.sources) {
    total += s.bytesPerSecond;
    flows += s.flows;
  }
  EXPECT_DOUBLE_EQ(total, expected);
  EXPECT_EQ(flows, 18000u);
  ASSERT_EQ(r.flows.size(), 100u);
  EXPECT_DOUBLE_EQ(r.flows[0].bytesPerSecond, 5000);  // moved 10,000 bytes in 2 s
}

TEST(Flow, Texts) {
  Flow f = flow(1, "10.20.0.11", 1, 0);
  EXPECT_EQ(f.srcText(), "10.20.0.11");
  EXPECT_EQ(f.dstText(), "203.0.113.10");
  Flow g;
  g.family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::1", g.src.data());
  EXPECT_EQ(g.srcText(), "2001:db8::1");
  EXPECT_STREQ(protoName(IPPROTO_UDP), "udp");
}

}  // namespace
}  // namespace bulwark::conntrack
