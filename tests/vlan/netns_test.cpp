// The link reconciler against THIS kernel, with plain-interface segments on veths — inside a
// private network namespace (unshare(CLONE_NEWNET) first thing in main), so the host's links
// are never touched. `ip` and /proc/sys reads are only witnesses of what the kernel holds.
#include <gtest/gtest.h>
#include <sched.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

#include "bulwark/policies/loader.h"
#include "bulwark/vlan/reconcile.h"

namespace bulwark::vlan {
namespace {

bool gInNetns = false;

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
    *status = st;
  }
  return out;
}

void sh(const std::string& cmd) {
  int st = 0;
  const std::string out = run(cmd, &st);
  ASSERT_EQ(st, 0) << cmd << ": " << out;
}

std::string readSysctl(const std::string& path) {
  std::ifstream in("/proc/sys/" + path);
  std::string v;
  in >> v;
  return v;
}

// Everything observable about the given links: `ip -j -d link` and `ip -j addr` of each, and the
// sysctls Bulwark touches. Left out: operstate (updated asynchronously by the kernel) and the
// qdisc (the first "up" attaches noqueue for good; it is not configuration Bulwark owns).
std::string snapshot(const std::vector<std::string>& ifs) {
  std::string s;
  for (const auto& i : ifs) {
    s += run("ip -j -d link show dev " + i) + run("ip -j addr show dev " + i);
    for (const char* k : {"ipv4/conf/%/forwarding", "ipv4/conf/%/rp_filter", "ipv6/conf/%/forwarding"}) {
      std::string path = std::string("net/") + k;
      path.replace(path.find('%'), 1, i);
      s += path + "=" + readSysctl(path) + "\n";
    }
  }
  return std::regex_replace(s, std::regex(R"re("(operstate|qdisc)":"[a-zA-Z_-]+",?)re"), "");
}

policies::Policy load(const std::string& text) {
  auto r = policies::loadPolicyText(text, "lab.yaml");
  EXPECT_TRUE(r.ok()) << (r.diagnostics.items().empty() ? "" : r.diagnostics.items()[0].str());
  return r.policy;
}

std::string segment(const std::string& name, const std::string& iface, const std::string& v4, int mtu = 1500,
                    const std::string& v6 = "") {
  std::string s = "  - name: " + name + "\n    interface: " + iface + "\n    ipv4: { subnet: " + v4 +
                  ".0/24, gateway: " + v4 + ".1 }\n";
  if (!v6.empty()) {
    s += "    ipv6: { subnet: " + v6 + "::/64, gateway: " + v6 + "::1 }\n";
  }
  return s + "    mtu: " + std::to_string(mtu) + "\n";
}

std::string policyText(const std::string& segments) {
  return "gateway: { name: lab, uplink: up0 }\nsegments:\n" + segments;
}

class VlanNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gInNetns) {
      GTEST_SKIP() << "needs root: unshare(CLONE_NEWNET) failed";
    }
    for (const char* v : {"va", "vb", "vc"}) {
      sh(std::string("ip link add ") + v + " type veth peer name " + v + "-p");
      sh(std::string("ip link set ") + v + "-p up");
    }
  }
  void TearDown() override {
    for (const char* v : {"va", "vb", "vc", "vt"}) {
      run(std::string("ip link del ") + v);
    }
  }
};

TEST_F(VlanNetns, ApplyConfiguresExistingVethsThenNothingToDo) {
  auto policy = load(policyText(segment("lan", "va", "10.1.0", 1400, "2001:db8:1") + segment("dmz", "vb", "10.2.0")));
  auto plan = planLinks(policy);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->observed.dumps, 4);  // link, addr, netconf v4, netconf v6: one round trip each
  EXPECT_FALSE(plan->empty());
  auto done = applyLinks(*plan);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->ops, plan->ops.size());

  const std::string va = run("ip -d addr show dev va");
  EXPECT_NE(va.find("mtu 1400"), std::string::npos) << va;
  EXPECT_NE(va.find("<BROADCAST,MULTICAST,UP,LOWER_UP>"), std::string::npos) << va;
  EXPECT_NE(va.find("inet 10.1.0.1/24"), std::string::npos) << va;
  EXPECT_NE(va.find("inet6 2001:db8:1::1/64"), std::string::npos) << va;
  EXPECT_NE(va.find("alias bulwark:lan adopted 10.1.0.1/24 2001:db8:1::1/64"), std::string::npos) << va;
  EXPECT_EQ(readSysctl("net/ipv4/conf/va/forwarding"), "1");
  EXPECT_EQ(readSysctl("net/ipv4/conf/va/rp_filter"), "2");
  EXPECT_EQ(readSysctl("net/ipv6/conf/va/forwarding"), "1");
  EXPECT_EQ(readSysctl("net/ipv4/conf/vb/forwarding"), "1");

  auto again = planLinks(policy);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->empty()) << again->ops.front().description();
  EXPECT_EQ(again->observed.dumps, 4);
  auto noop = applyLinks(*again);
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->messages, 0u);
}

TEST_F(VlanNetns, ForeignLinkIsRefusedAndUntouched) {
  sh("ip link set dev vb alias 'uplink to the lab'");
  const std::string before = snapshot({"va", "vb"});
  auto plan = planLinks(load(policyText(segment("lan", "va", "10.1.0") + segment("dmz", "vb", "10.2.0"))));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, Error::Code::Conflict);
  EXPECT_EQ(plan.error().message,
            "lab.yaml:8:16: cannot configure interface vb of segment 'dmz': it is marked 'uplink to the lab' by "
            "someone else; Bulwark does not take it over (clear its alias to hand it to Bulwark)");
  EXPECT_EQ(snapshot({"va", "vb"}), before);
}

TEST_F(VlanNetns, RemovingASegmentRemovesOnlyItsAddresses) {
  sh("ip addr add 192.168.50.1/24 dev vc");  // the admin's own address
  auto both = load(policyText(segment("lan", "va", "10.1.0") + segment("lab", "vc", "10.3.0")));
  auto plan = planLinks(both);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_TRUE(applyLinks(*plan).ok());
  const std::string vaBefore = run("ip -j addr show dev va");

  auto one = load(policyText(segment("lan", "va", "10.1.0")));
  auto plan2 = planLinks(one);
  ASSERT_TRUE(plan2.ok()) << plan2.error().message;
  ASSERT_EQ(plan2->ops.size(), 2u);
  EXPECT_EQ(plan2->ops[0].description(), "ip address del 10.3.0.1/24 dev vc");
  EXPECT_EQ(plan2->ops[1].description(), "ip link set dev vc alias \"\"");
  auto done = applyLinks(*plan2);
  ASSERT_TRUE(done.ok()) << done.error().message;

  const std::string vc = run("ip addr show dev vc");
  EXPECT_EQ(vc.find("10.3.0.1"), std::string::npos) << vc;
  EXPECT_NE(vc.find("inet 192.168.50.1/24"), std::string::npos) << vc;
  EXPECT_EQ(vc.find("alias"), std::string::npos) << vc;
  EXPECT_EQ(run("ip -j addr show dev va"), vaBefore);
  auto plan3 = planLinks(one);
  ASSERT_TRUE(plan3.ok());
  EXPECT_TRUE(plan3->empty());
}

TEST_F(VlanNetns, KernelRefusalMidwayLeavesEverythingAsItWas) {
  // IPv6 is disabled on vb: the kernel refuses its IPv6 address, after va's and some of vb's
  // operations went through.
  sh("sysctl -qw net.ipv6.conf.vb.disable_ipv6=1");
  const std::string before = snapshot({"va", "vb"});
  auto plan = planLinks(load(policyText(segment("lan", "va", "10.1.0", 1400, "2001:db8:1") +
                                        segment("dmz", "vb", "10.2.0", 1500, "2001:db8:2"))));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto done = applyLinks(*plan);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, Error::Code::Kernel);
  EXPECT_EQ(done.error().sysErrno, EACCES);
  EXPECT_TRUE(done.error().message.starts_with(
      "lab.yaml:9:16: cannot add address 2001:db8:2::1/64 to vb: Permission denied"))
      << done.error().message;
  EXPECT_NE(done.error().message.find("nothing changed"), std::string::npos) << done.error().message;
  EXPECT_EQ(snapshot({"va", "vb"}), before);
}

TEST_F(VlanNetns, VlanRefusedByAKernelWithout8021qNamesThePolicyLine) {
  sh("ip link add vt type veth peer name vt-p");
  const std::string before = snapshot({"va"});
  auto policy = load("gateway: { name: lab, uplink: up0, trunk: vt }\nsegments:\n" + segment("lan", "va", "10.1.0") +
                     "  - name: app\n    vlan: 20\n    ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 }\n");
  auto plan = planLinks(policy);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto done = applyLinks(*plan);
  if (done.ok()) {
    GTEST_SKIP() << "this kernel has 802.1Q; VLANs are covered by vlan_kernel_tests under QEMU";
  }
  EXPECT_TRUE(done.error().message.starts_with("lab.yaml:8:11: cannot create VLAN 20 on vt: Operation not supported"))
      << done.error().message;
  EXPECT_EQ(snapshot({"va"}), before);
}

TEST_F(VlanNetns, ChangesAfterThePlanMakeApplyRefuse) {
  auto plan = planLinks(load(policyText(segment("lan", "va", "10.1.0"))));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  sh("ip link set va up");
  const std::string before = snapshot({"va"});
  auto done = applyLinks(*plan);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, Error::Code::Stale);
  EXPECT_EQ(snapshot({"va"}), before);
}

TEST_F(VlanNetns, MissingInterfaceNamesThePolicyLine) {
  auto plan = planLinks(load(policyText(segment("lan", "nosuch0", "10.1.0"))));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, Error::Code::Missing);
  EXPECT_EQ(plan.error().message, "lab.yaml:4:16: cannot configure interface nosuch0 of segment 'lan': it does not exist");
}

}  // namespace
}  // namespace bulwark::vlan

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bulwark::vlan::gInNetns = unshare(CLONE_NEWNET) == 0;
  if (!bulwark::vlan::gInNetns) {
    std::perror("unshare(CLONE_NEWNET)");
  } else {
    std::system("ip link set lo up");  // NOLINT(cert-env33-c): fixed command
  }
  return RUN_ALL_TESTS();
}
