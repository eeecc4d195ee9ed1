// LinkStatsReader against this kernel, inside a private network namespace (unshare first
// thing in main): known UDP traffic over lo must show up in IFLA_STATS64 exactly, and agree
// with `ip -s -j link` (the independent witness).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

#include "bulwark/vlan/link_stats.h"

namespace bulwark::vlan {
namespace {

bool gInNetns = false;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

const LinkStats* find(const std::vector<LinkStats>& v, const std::string& name) {
  for (const auto& l : v) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

void sendUdp(int count, std::size_t payload) {
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  int r = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  ASSERT_GE(r, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(r, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(r, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string data(payload, 'x');
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(::sendto(s, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
              static_cast<ssize_t>(data.size()));
  }
  ::close(s);
  ::close(r);
}

TEST(LinkStats, LoopbackTrafficIsCountedExactly) {
  if (!gInNetns) GTEST_SKIP() << "needs root (unshare CLONE_NEWNET)";
  auto reader = LinkStatsReader::open();
  ASSERT_TRUE(reader) << reader.error().message;
  auto before = reader->read();
  ASSERT_TRUE(before) << before.error().message;
  const LinkStats* lo0 = find(*before, "lo");
  ASSERT_NE(lo0, nullptr);
  EXPECT_TRUE(lo0->up);
  sendUdp(100, 1000);
  auto after = reader->read();
  ASSERT_TRUE(after) << after.error().message;
  const LinkStats* lo1 = find(*after, "lo");
  ASSERT_NE(lo1, nullptr);
  // Over lo every datagram is sent once and received once: 1000 B + UDP 8 + IPv4 20 (lo
  // counts no link-layer header).
  EXPECT_EQ(lo1->txPackets - lo0->txPackets, 100u);
  EXPECT_EQ(lo1->rxPackets - lo0->rxPackets, 100u);
  EXPECT_EQ(lo1->txBytes - lo0->txBytes, 100u * (1000 + 8 + 20));
  EXPECT_EQ(lo1->rxBytes - lo0->rxBytes, 100u * (1000 + 8 + 20));
  EXPECT_EQ(lo1->rxErrors, 0u);
}

TEST(LinkStats, AgreesWithIpAndSeesNewLinks) {
  if (!gInNetns) GTEST_SKIP() << "needs root (unshare CLONE_NEWNET)";
  ASSERT_EQ(std::system("ip link add bwst0 type veth peer name bwst1"), 0);  // NOLINT(cert-env33-c)
  auto reader = LinkStatsReader::open();
  ASSERT_TRUE(reader);
  auto links = reader->read();
  ASSERT_TRUE(links);
  const LinkStats* v = find(*links, "bwst0");
  ASSERT_NE(v, nullptr);
  EXPECT_FALSE(v->up);
  EXPECT_EQ(v->rxPackets + v->txPackets, 0u);
  ASSERT_EQ(std::system("ip link set bwst0 up && ip link set bwst1 up"), 0);  // NOLINT(cert-env33-c)
  sendUdp(10, 100);
  // The veths send IPv6 router solicitations on their own: ip's counters must lie between
  // two reads of ours taken around it.
  auto ours = reader->read();
  ASSERT_TRUE(ours);
  auto ip = nlohmann::json::parse(run("ip -s -j link show"));
  auto later = reader->read();
  ASSERT_TRUE(later);
  std::size_t compared = 0;
  for (const auto& l : ip) {
    const LinkStats* s = find(*ours, l.at("ifname").get<std::string>());
    const LinkStats* t = find(*later, l.at("ifname").get<std::string>());
    ASSERT_NE(s, nullptr) << l.at("ifname");
    ASSERT_NE(t, nullptr) << l.at("ifname");
    const auto& st = l.at("stats64");
    auto between = [](std::uint64_t lo, const nlohmann::json& value, std::uint64_t hi) {
      auto x = value.get<std::uint64_t>();
      return lo <= x && x <= hi;
    };
    EXPECT_TRUE(between(s->rxBytes, st.at("rx").at("bytes"), t->rxBytes)) << s->name;
    EXPECT_TRUE(between(s->txBytes, st.at("tx").at("bytes"), t->txBytes)) << s->name;
    EXPECT_TRUE(between(s->rxPackets, st.at("rx").at("packets"), t->rxPackets)) << s->name;
    EXPECT_TRUE(between(s->txPackets, st.at("tx").at("packets"), t->txPackets)) << s->name;
    EXPECT_TRUE(between(s->txDropped, st.at("tx").at("dropped"), t->txDropped)) << s->name;
    EXPECT_EQ(s->index, l.at("ifindex").get<int>());
    ++compared;
  }
  EXPECT_EQ(compared, ours->size());
  EXPECT_TRUE(find(*ours, "bwst1")->up);
  ASSERT_EQ(std::system("ip link del bwst0"), 0);  // NOLINT(cert-env33-c)
}

}  // namespace
}  // namespace bulwark::vlan

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bulwark::vlan::gInNetns = unshare(CLONE_NEWNET) == 0;
  if (bulwark::vlan::gInNetns) std::system("ip link set lo up");  // NOLINT(cert-env33-c): fixed command
  return RUN_ALL_TESTS();
}
