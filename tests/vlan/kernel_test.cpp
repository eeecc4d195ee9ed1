// 802.1Q on a real kernel: run INSIDE the QEMU guest (tests/kernel/run-in-kernel.sh), where
// Debian's kernel has the 8021q module. Two namespaces joined by a veth trunk; Bulwark creates
// the VLAN sub-interfaces on both ends from a policy; traffic flows within a VLAN and not
// across, and an AF_PACKET capture on the trunk shows the 802.1Q tag (TPID 0x8100, VID).
//
// On a kernel without 802.1Q the tests FAIL with the reason (never skip): they exist to prove
// VLANs on a real kernel.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "bulwark/policies/loader.h"
#include "bulwark/vlan/reconcile.h"

namespace bulwark::vlan {
namespace {

const std::string kNsA = "bwa" + std::to_string(getpid());
const std::string kNsB = "bwb" + std::to_string(getpid());

std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return out;
  }
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) {
    out.append(buf.data(), n);
  }
  const int st = pclose(p);
  if (status != nullptr) {
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  return out;
}

bool ok(const std::string& cmd) {
  int st = -1;
  run(cmd, &st);
  return st == 0;
}

// Runs the enclosed code in a named network namespace (this thread only), then returns.
class InNetns {
 public:
  explicit InNetns(const std::string& name) {
    self_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int fd = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    entered_ = self_ >= 0 && fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) {
      close(fd);
    }
  }
  ~InNetns() {
    if (self_ >= 0) {
      if (entered_ && setns(self_, CLONE_NEWNET) != 0) {
        std::perror("setns back");
        std::abort();  // the rest of the run would act in the wrong namespace
      }
      close(self_);
    }
  }
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;
  [[nodiscard]] bool entered() const { return entered_; }

 private:
  int self_ = -1;
  bool entered_ = false;
};

// Both ends' policies: `trunk` carries app (VLAN 10) and db (VLAN 20 on a, 30 on b — a
// deliberate mismatch on the same subnet, which must NOT pass traffic).
std::string endPolicy(int host, int dbVlan) {
  const std::string h = std::to_string(host);
  return "gateway: { name: end" + h + ", uplink: up0, trunk: trunk }\nsegments:\n"
         "  - name: app\n    vlan: 10\n    ipv4: { subnet: 10.10.0.0/24, gateway: 10.10.0." + h + " }\n"
         "    ipv6: { subnet: 2001:db8:10::/64, gateway: 2001:db8:10::" + h + " }\n"
         "  - name: db\n    vlan: " + std::to_string(dbVlan) +
         "\n    ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0." + h + " }\n    mtu: 1400\n";
}

policies::Policy load(const std::string& text, const std::string& name) {
  auto r = policies::loadPolicyText(text, name);
  EXPECT_TRUE(r.ok()) << (r.diagnostics.items().empty() ? "" : r.diagnostics.items()[0].str());
  return r.policy;
}

// plan + apply in a namespace; returns the number of ops applied (or fails the test).
std::size_t reconcile(const std::string& ns, const policies::Policy& policy) {
  InNetns in(ns);
  EXPECT_TRUE(in.entered()) << "cannot enter netns " << ns;
  auto plan = planLinks(policy);
  EXPECT_TRUE(plan.ok()) << ns << ": " << plan.error().message;
  if (!plan.ok()) {
    return 0;
  }
  auto done = applyLinks(*plan);
  EXPECT_TRUE(done.ok()) << ns << ": " << done.error().message;
  return done.ok() ? done->ops : 0;
}

class Vlan8021q : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ok("ip netns del " + kNsA);
    ok("ip netns del " + kNsB);
    ASSERT_TRUE(ok("ip netns add " + kNsA) && ok("ip netns add " + kNsB));
    ASSERT_TRUE(ok("ip link add trunk netns " + kNsA + " type veth peer name trunk netns " + kNsB));
    for (const auto& ns : {kNsA, kNsB}) {
      ASSERT_TRUE(ok("ip -n " + ns + " link set lo up && ip -n " + ns + " link set trunk up"));
    }
  }
  static void TearDownTestSuite() {
    ok("ip netns del " + kNsA);
    ok("ip netns del " + kNsB);
  }
};

TEST_F(Vlan8021q, BulwarkCreatesSubInterfacesOnBothEnds) {
  const std::size_t a = reconcile(kNsA, load(endPolicy(1, 20), "a.yaml"));
  const std::size_t b = reconcile(kNsB, load(endPolicy(2, 30), "b.yaml"));
  ASSERT_GT(a, 0u);
  ASSERT_GT(b, 0u);
  const std::string link = run("ip -n " + kNsA + " -d link show trunk.10");
  EXPECT_NE(link.find("vlan protocol 802.1Q id 10"), std::string::npos) << link;
  EXPECT_NE(link.find("alias bulwark:app"), std::string::npos) << link;
  const std::string db = run("ip -n " + kNsB + " -d addr show trunk.30");
  EXPECT_NE(db.find("vlan protocol 802.1Q id 30"), std::string::npos) << db;
  EXPECT_NE(db.find("mtu 1400"), std::string::npos) << db;
  EXPECT_NE(db.find("inet 10.20.0.2/24"), std::string::npos) << db;
  EXPECT_EQ(run("ip netns exec " + kNsA + " cat /proc/sys/net/ipv4/conf/trunk.10/rp_filter"), "2\n");
}

TEST_F(Vlan8021q, SecondReconcileDoesNothing) {
  for (const auto& [ns, text] : {std::pair{kNsA, endPolicy(1, 20)}, std::pair{kNsB, endPolicy(2, 30)}}) {
    InNetns in(ns);
    ASSERT_TRUE(in.entered());
    auto plan = planLinks(load(text, ns + ".yaml"));
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_TRUE(plan->empty()) << ns << ": " << plan->ops.front().description();
    EXPECT_EQ(plan->observed.dumps, 4);
  }
}

TEST_F(Vlan8021q, TrafficFlowsWithinAVlan) {
  EXPECT_TRUE(ok("ip netns exec " + kNsA + " ping -c 2 -i 0.2 -W 2 10.10.0.2"))
      << run("ip -n " + kNsA + " -d addr; ip -n " + kNsB + " -d addr");
}

TEST_F(Vlan8021q, NoTrafficAcrossVlans) {
  // Same subnet, VLAN 20 on a and VLAN 30 on b: the tags differ, nothing gets through.
  EXPECT_FALSE(ok("ip netns exec " + kNsA + " ping -c 2 -i 0.2 -W 1 10.20.0.2"));
  // ... and the same probe passes once both ends use the same tag (so the failure above is
  // the tag, not the probe).
  {
    InNetns in(kNsB);
    ASSERT_TRUE(in.entered());
    auto plan = planLinks(load(endPolicy(2, 20), "b.yaml"));
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    ASSERT_TRUE(applyLinks(*plan).ok());
  }
  EXPECT_TRUE(ok("ip netns exec " + kNsA + " ping -c 2 -i 0.2 -W 2 10.20.0.2"));
  EXPECT_FALSE(ok("ip -n " + kNsB + " link show trunk.30"));  // VLAN 30 went with the change
}

TEST_F(Vlan8021q, CaptureOnTheTrunkShowsThe8021qTag) {
  // AF_PACKET on b's trunk (the untagged parent). veth hands the tag to the stack out of band,
  // so it is read from PACKET_AUXDATA (tp_vlan_tpid/tci); an in-band tag (ethertype 0x8100 at
  // offset 12) counts too.
  InNetns in(kNsB);
  ASSERT_TRUE(in.entered());
  const int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  ASSERT_GE(s, 0) << "AF_PACKET: " << std::strerror(errno);
  int one = 1;
  ASSERT_EQ(setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)), 0);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(if_nametoindex("trunk"));
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)), 0);

  std::thread pinger([] { ok("ip netns exec " + kNsA + " ping -c 3 -i 0.2 -W 1 10.10.0.2"); });
  int vid = -1;
  unsigned tpid = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (vid != 10 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, 500) <= 0) {
      continue;
    }
    std::array<unsigned char, 2048> frame{};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(tpacket_auxdata))> ctrl{};
    iovec iov{frame.data(), frame.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.data();
    msg.msg_controllen = ctrl.size();
    const ssize_t n = recvmsg(s, &msg, 0);
    if (n < 14) {
      continue;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
        tpacket_auxdata aux{};
        std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
        if ((aux.tp_status & TP_STATUS_VLAN_VALID) != 0) {
          vid = aux.tp_vlan_tci & 0x0fff;
          tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.tp_vlan_tpid : ETH_P_8021Q;
        }
      }
    }
    if (vid < 0 && frame[12] == 0x81 && frame[13] == 0x00) {  // in-band tag
      vid = ((frame[14] << 8) | frame[15]) & 0x0fff;
      tpid = ETH_P_8021Q;
    }
  }
  pinger.join();
  close(s);
  EXPECT_EQ(vid, 10);
  EXPECT_EQ(tpid, 0x8100u);
  std::printf("captured on %s trunk: 802.1Q tpid 0x%04x vid %d\n", kNsB.c_str(), tpid, vid);
}

TEST_F(Vlan8021q, ForeignVlanWithTheNameIsRefusedAndUntouched) {
  ASSERT_TRUE(ok("ip -n " + kNsA + " link add link trunk name trunk.40 type vlan id 40"));
  const std::string before = run("ip -n " + kNsA + " -d -j link show; ip -n " + kNsA + " -j addr show");
  auto text = endPolicy(1, 20) + "  - name: storage\n    vlan: 40\n    ipv4: { subnet: 10.40.0.0/24, gateway: 10.40.0.1 }\n";
  InNetns in(kNsA);
  ASSERT_TRUE(in.entered());
  auto plan = planLinks(load(text, "a.yaml"));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, Error::Code::Conflict);
  EXPECT_EQ(plan.error().message,
            "a.yaml:12:11: cannot create VLAN 40 on trunk: a link named trunk.40 already exists and is not "
            "Bulwark's; Bulwark does not take over links it did not create: remove or rename it");
  EXPECT_EQ(run("ip -d -j link show; ip -j addr show"), before);
  ASSERT_TRUE(ok("ip link del trunk.40"));
}

TEST_F(Vlan8021q, KernelRefusalMidwayUndoesTheCreatedVlans) {
  // VLAN 50 with an MTU the trunk allows (diff checks that) but IPv6 disabled by default for
  // new links, so the kernel refuses its IPv6 address after the VLAN was created.
  const std::string before = run("ip -n " + kNsA + " -d -j link show; ip -n " + kNsA + " -j addr show");
  ASSERT_TRUE(ok("ip netns exec " + kNsA + " sysctl -qw net.ipv6.conf.default.disable_ipv6=1"));
  auto text = endPolicy(1, 20) + "  - name: lab\n    vlan: 50\n    ipv4: { subnet: 10.50.0.0/24, gateway: 10.50.0.1 }\n"
                                 "    ipv6: { subnet: 2001:db8:50::/64, gateway: 2001:db8:50::1 }\n";
  {
    InNetns in(kNsA);
    ASSERT_TRUE(in.entered());
    auto plan = planLinks(load(text, "a.yaml"));
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    auto done = applyLinks(*plan);
    ASSERT_FALSE(done.ok());
    EXPECT_TRUE(done.error().message.starts_with("a.yaml:12:11: cannot add address 2001:db8:50::1/64 to trunk.50: "
                                                 "Permission denied"))
        << done.error().message;
  }
  ASSERT_TRUE(ok("ip netns exec " + kNsA + " sysctl -qw net.ipv6.conf.default.disable_ipv6=0"));
  EXPECT_EQ(run("ip -n " + kNsA + " -d -j link show; ip -n " + kNsA + " -j addr show"), before);
}

TEST_F(Vlan8021q, RemovingASegmentDeletesOnlyItsVlan) {
  auto text = "gateway: { name: end1, uplink: up0, trunk: trunk }\nsegments:\n"
              "  - name: app\n    vlan: 10\n    ipv4: { subnet: 10.10.0.0/24, gateway: 10.10.0.1 }\n"
              "    ipv6: { subnet: 2001:db8:10::/64, gateway: 2001:db8:10::1 }\n";
  InNetns in(kNsA);
  ASSERT_TRUE(in.entered());
  auto plan = planLinks(load(text, "a.yaml"));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->ops.size(), 1u);
  EXPECT_EQ(plan->ops[0].description(), "ip link delete dev trunk.20");
  auto done = applyLinks(*plan);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_FALSE(ok("ip link show trunk.20"));
  EXPECT_TRUE(ok("ip link show trunk.10"));
  EXPECT_TRUE(ok("ip link show trunk"));
}

}  // namespace
}  // namespace bulwark::vlan

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (std::getenv("BULWARK_IN_VM") == nullptr) {
    std::fprintf(stderr, "note: not started by tests/kernel/run-in-kernel.sh; this kernel must have 802.1Q\n");
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "FAIL: needs root (it creates network namespaces)\n");
    return 1;
  }
  // Fail with the reason, never skip: the whole point is a kernel with 802.1Q.
  const std::string probe = "bwprobe" + std::to_string(getpid());
  int st = -1;
  const std::string out =
      bulwark::vlan::run("ip netns add " + probe + " && ip -n " + probe + " link add vp type veth peer name vq && ip -n " +
                             probe + " link add link vp name vp.7 type vlan id 7",
                         &st);
  bulwark::vlan::run("ip netns del " + probe);
  if (st != 0) {
    std::fprintf(stderr, "FAIL: this kernel cannot create 802.1Q links (%s); run under tests/kernel/run-in-kernel.sh\n",
                 out.c_str());
    return 1;
  }
  return RUN_ALL_TESTS();
}
