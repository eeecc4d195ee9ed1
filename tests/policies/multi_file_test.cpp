// A directory policy with many different mistakes spread over several files: one run
// reports every one of them, sorted by file and line.
#include <gtest/gtest.h>

#include <tuple>

#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::Lines;

class MultiFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("00-edge.yaml", R"(# the gateway and its segments
gateway: { uplink: eth0, trunk: eth1 }

segments:
  - name: lan
    vlna: 10
    ipv4: { subnet: 10.0.0.0/24 }
  - name: dmz
    vlan: 20
    ipv4: { subnet: 10.1.0.0/24 }
  - name: mgmt
    vlan: 4095
    ipv4: { subnet: 10.1.0.0/28 }
)");
    dir_.write("10-hosts.yaml", R"(hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.10] }
  - { name: pc, segment: lna, addresses: [10.0.0.5] }
  - { name: db, segment: dmz, addresses: [10.9.0.5] }
)");
    dir_.write("20-rules.yaml", R"(services:
  - { name: https, ports: [tcp/443] }
rules:
  - { name: web-in, from: internet, to: web, services: [https], action: allow }
  - { name: web-in-again, from: internet, to: web, services: [https], action: allow }
  - { name: ssh, from: lan, to: dmz, services: [ssh], action: allow }
  - name: no-ping
    from: internet
    to: dmz
    services: [icmp]
    action: deny
    limit: { rate: 5/second }
)");
    dir_.write("30-nat.yml", R"(gateway:
  uplink: eth9
nat:
  dnat:
    - { name: vip, vip: 198.51.100.1, service: https, to: wbe }
)");
    dir_.write("40-broken.yaml", "expect: [\n");
    dir_.write("README.md", "not: [a policy\n");  // ignored: not *.yaml / *.yml
  }

  [[nodiscard]] std::string file(const std::string& name) const {
    return (dir_.path() / name).string();
  }

  test::TempDir dir_;
};

TEST_F(MultiFile, EveryMistakeIsReportedInFileAndLineOrder) {
  auto r = loadAndValidate(dir_.path());
  auto edge = file("00-edge.yaml");
  auto hosts = file("10-hosts.yaml");
  auto rules = file("20-rules.yaml");
  auto nat = file("30-nat.yml");
  auto broken = file("40-broken.yaml");
  EXPECT_EQ(test::strs(r.diagnostics),
            (Lines{
                edge + ":5:11: error: segment 'lan' needs exactly one of 'vlan' or 'interface'\n"
                       "  hint: give its 802.1Q 'vlan' id on the trunk, or the plain 'interface' it uses",
                edge + ":6:5: error: unknown key 'vlna' in a segment\n"
                       "  hint: did you mean 'vlan'?",
                edge + ":12:11: error: 'vlan' 4095 is out of range (1-4094)",
                edge + ":13:11: error: subnet 10.1.0.0/28 of segment 'mgmt' overlaps subnet 10.1.0.0/24 of "
                       "segment 'dmz' at " + edge + ":10:11",
                hosts + ":3:26: error: unknown segment 'lna'\n"
                        "  hint: did you mean 'lan'?",
                hosts + ":4:43: error: address 10.9.0.5 of host 'db' is outside its segment 'dmz' (10.1.0.0/24)\n"
                        "  hint: fix the address or move the host to the segment that holds it",
                rules + ":5:5: warning: rule 'web-in-again' is shadowed by rule 'web-in' at " + rules +
                    ":4:5 and never matches\n"
                    "  hint: remove it, or move it above 'web-in' if it should decide first",
                rules + ":6:49: error: unknown service 'ssh'",
                rules + ":12:12: error: rule 'no-ping' sets a limit but does not allow anything\n"
                        "  hint: limits apply to the connections an allow rule lets through",
                nat + ":1:1: error: 'gateway' is given more than once\n"
                      "  hint: first given at " + edge + ":2:1; keep it in one file",
                nat + ":5:59: error: unknown host 'wbe'\n"
                      "  hint: did you mean 'web'?",
                broken + ":2:1: error: YAML syntax: end of sequence flow not found",
            }));
  EXPECT_EQ(r.diagnostics.errorCount(), 11u);
  EXPECT_EQ(r.diagnostics.warningCount(), 1u);
}

TEST_F(MultiFile, DiagnosticsAreSortedByFileThenPosition) {
  auto r = loadAndValidate(dir_.path());
  const auto& items = r.diagnostics.items();
  ASSERT_GT(items.size(), 5u);
  for (std::size_t i = 1; i < items.size(); ++i) {
    const auto& a = items[i - 1].where;
    const auto& b = items[i].where;
    EXPECT_LE(std::tie(a.file, a.line, a.col), std::tie(b.file, b.line, b.col))
        << items[i - 1].str() << "\nbefore\n" << items[i].str();
  }
  // Every file with a mistake is named.
  for (const char* name : {"00-edge.yaml", "10-hosts.yaml", "20-rules.yaml", "30-nat.yml", "40-broken.yaml"}) {
    EXPECT_TRUE(std::any_of(items.begin(), items.end(),
                            [&](const Diagnostic& d) { return d.where.file == file(name); }))
        << name;
  }
}

TEST_F(MultiFile, ListsAreConcatenatedInFileOrder) {
  auto r = loadPolicy(dir_.path());
  EXPECT_EQ(r.policy.files, (std::vector<std::string>{file("00-edge.yaml"), file("10-hosts.yaml"),
                                                      file("20-rules.yaml"), file("30-nat.yml"),
                                                      file("40-broken.yaml")}));
  ASSERT_EQ(r.policy.segments.size(), 3u);
  EXPECT_EQ(r.policy.segments[0].name, "lan");
  EXPECT_EQ(r.policy.segments[2].name, "mgmt");
  ASSERT_EQ(r.policy.hosts.size(), 3u);
  EXPECT_EQ(r.policy.hosts[1].where.file, file("10-hosts.yaml"));
  ASSERT_EQ(r.policy.rules.size(), 4u);
  EXPECT_EQ(r.policy.rules[3].name, "no-ping");
  EXPECT_EQ(r.policy.rules[3].where.str(), file("20-rules.yaml") + ":7:5");
  ASSERT_EQ(r.policy.dnat.size(), 1u);
  ASSERT_TRUE(r.policy.gateway);
  EXPECT_EQ(r.policy.gateway->uplink, "eth0");
}

TEST(MultiFileFixed, TheSamePolicyWithTheMistakesFixedIsClean) {
  test::TempDir dir;
  dir.write("00-edge.yaml", R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
)");
  dir.write("10-hosts.yaml", R"(hosts:
  - { name: web, segment: dmz, addresses: [10.1.0.10] }
  - { name: pc, segment: lan, addresses: [10.0.0.5] }
)");
  dir.write("20-rules.yaml", R"(services:
  - { name: https, ports: [tcp/443] }
  - { name: ssh, ports: [tcp/22] }
rules:
  - { name: web-in, from: internet, to: web, services: [https], action: allow, limit: { rate: 5/second } }
  - { name: ssh, from: lan, to: dmz, services: [ssh], action: allow }
)");
  dir.write("30-nat.yml", R"(nat:
  dnat:
    - { name: vip, vip: 198.51.100.1, service: https, to: web }
)");
  auto r = loadAndValidate(dir.path());
  EXPECT_EQ(test::strs(r.diagnostics), Lines{});
  EXPECT_EQ(r.policy.files.size(), 4u);
}

}  // namespace
}  // namespace bulwark::policies
