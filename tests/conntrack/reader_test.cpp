// conntrack::Reader against this kernel, in a private network namespace (unshare first thing
// in main): UDP flows over lo appear with their tuples and accounting, and agree with
// `conntrack -L -o extended` (conntrack-tools, the independent witness).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>

#include <map>
#include <regex>
#include <sstream>

#include "bulwark/conntrack/reader.h"
#include "bulwark/conntrack/top_talkers.h"
#include "ct_lab.h"

namespace bulwark::conntrack {
namespace {

bool gReady = false;
std::string gWhy;

TEST(Reader, DumpsFlowsWithAccountingAsConntrackSees) {
  if (!gReady) GTEST_SKIP() << gWhy;
  ASSERT_EQ(accountingEnabled(), 1);
  ASSERT_EQ(testing::makeUdpFlows(300, 100, 3), 300u);
  auto reader = Reader::open();
  ASSERT_TRUE(reader) << reader.error().message;
  std::vector<Flow> flows;
  std::size_t seen = 0;
  auto st = reader->dump(flows, 100000, seen);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(seen, flows.size());
  std::map<std::uint16_t, const Flow*> byPort;
  for (const auto& f : flows) {
    if (f.proto == IPPROTO_UDP && f.dstText() == "127.0.0.1") byPort[f.dport] = &f;
  }
  ASSERT_EQ(byPort.size(), 300u);
  for (const auto& [port, f] : byPort) {
    EXPECT_EQ(f->srcText(), "127.0.0.1");
    // Three datagrams of 100 + 28 bytes; nobody listens, and the ICMP errors are not replies.
    EXPECT_EQ(f->packets, 3u) << port;
    EXPECT_EQ(f->bytes, 3u * (100 + 28)) << port;
    EXPECT_NE(f->id, 0u);
  }
  // The witness: conntrack-tools lists the same tuples with the same counters.
  std::istringstream lines(testing::run("conntrack -L -p udp -o id"));
  std::regex re(R"(dport=(\d+) packets=(\d+) bytes=(\d+).* id=(\d+))");
  std::size_t matched = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, re)) continue;
    auto it = byPort.find(static_cast<std::uint16_t>(std::stoul(m[1])));
    if (it == byPort.end()) continue;
    EXPECT_EQ(std::stoull(m[2]), 3u);
    EXPECT_EQ(std::stoull(m[3]), 3u * (100 + 28));
    EXPECT_EQ(std::stoul(m[4]), it->second->id);
    ++matched;
  }
  EXPECT_EQ(matched, 300u);
}

TEST(Reader, LimitKeepsTheFirstEntriesAndCountsAll) {
  if (!gReady) GTEST_SKIP() << gWhy;
  testing::makeUdpFlows(50, 10);
  auto reader = Reader::open();
  ASSERT_TRUE(reader);
  std::vector<Flow> flows;
  std::size_t seen = 0;
  ASSERT_TRUE(reader->dump(flows, 10, seen));
  EXPECT_EQ(flows.size(), 10u);
  EXPECT_GE(seen, 50u);
}

TEST(Reader, TopTalkersFromTwoRealDumps) {
  if (!gReady) GTEST_SKIP() << gWhy;
  auto reader = Reader::open();
  ASSERT_TRUE(reader);
  TopTalkers top;
  std::vector<Flow> flows;
  std::size_t seen = 0;
  testing::makeUdpFlows(20, 10);
  ASSERT_TRUE(reader->dump(flows, 100000, seen));
  auto t0 = std::chrono::steady_clock::now();
  top.add(t0, flows);
  // One flow (dport 1024) moves 100 x 1000 bytes more.
  testing::makeUdpFlows(1, 1000, 100);
  ASSERT_TRUE(reader->dump(flows, 100000, seen));
  top.add(t0 + std::chrono::seconds(2), flows);
  auto r = top.top(10);
  ASSERT_FALSE(r.flows.empty());
  EXPECT_EQ(r.flows[0].flow.dport, 1024);
  EXPECT_DOUBLE_EQ(r.flows[0].bytesPerSecond, 100.0 * 1028 / 2);
  ASSERT_FALSE(r.sources.empty());
  EXPECT_EQ(r.sources[0].text(), "127.0.0.1");
}

}  // namespace
}  // namespace bulwark::conntrack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (unshare(CLONE_NEWNET) != 0) {
    bulwark::conntrack::gWhy = "needs root (unshare CLONE_NEWNET)";
  } else {
    bulwark::conntrack::gReady = bulwark::conntrack::testing::setUp(bulwark::conntrack::gWhy);
  }
  return RUN_ALL_TESTS();
}
