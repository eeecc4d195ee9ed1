// DNAT maps against the real kernel (inside firewall_programmer_tests' private network
// namespace, see main() in programmer_test.cpp). nft is the independent witness: the kernel's
// listing of what the programmer wrote equals the listing of `nft -f` of the render, the
// listing parses again (`nft -c`), and a backend's health change is one element update
// (one ruleset generation, no chain, rule or set replaced).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <map>
#include <regex>
#include <string>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/render.h"
#include "bulwark/policies/loader.h"

namespace bulwark::firewall {
namespace {

struct Cmd {
  int status = -1;
  std::string out;
};

Cmd sh(const std::string& cmd, const std::string& input = "") {
  Cmd r;
  std::string full = cmd + " 2>&1";
  if (!input.empty()) {
    const std::string tmp = "/tmp/bulwark-dnat-" + std::to_string(::getpid()) + ".nft";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return r;
    std::fwrite(input.data(), 1, input.size(), f);
    std::fclose(f);
    full = cmd + " < " + tmp + " 2>&1; rc=$?; rm -f " + tmp + "; exit $rc";
  }
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

bool root() { return sh("nft list tables").status == 0 && sh("nft list tables").out.find("Operation not permitted") == std::string::npos; }

// nft -j listing without handles (the kernel allocates them; they never match across tables).
std::string listing() {
  auto j = sh("nft -j list table inet bulwark").out;
  return std::regex_replace(j, std::regex(R"(, "handle": \d+|"handle": \d+, )"), "");
}

CompileResult compileFile(const std::string& file) {
  auto loaded = policies::loadAndValidate(file);
  EXPECT_TRUE(loaded.ok()) << file;
  return compile(loaded.policy);
}

std::string policyText(const char* extra) {
  return std::string(R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 }, ipv6: { subnet: 2001:db8:1::/64 } }
hosts:
  - { name: lb1, segment: dmz, addresses: [10.1.0.11, 2001:db8:1::11] }
  - { name: lb2, segment: dmz, addresses: [10.1.0.12, 2001:db8:1::12] }
  - { name: lb3, segment: dmz, addresses: [10.1.0.13, 2001:db8:1::13] }
services:
  - { name: https, ports: [tcp/443] }
checks:
  - { name: lb, type: tcp, service: https }
rules:
  - { name: in, from: internet, to: [lb1, lb2, lb3], services: [https, tcp/8443], action: allow }
nat:
  dnat:
    - { name: spread, vip: 198.51.100.1, service: https, to: [lb1, lb2, lb3], mode: balance, check: lb }
    - { name: alt, vip: 198.51.100.1, service: tcp/8444, to: [lb1, lb2, lb3], mode: balance, check: lb, port: 8443 }
    - { name: six, vip: 2001:db8:ff::1, service: https, to: [lb1, lb2, lb3], mode: balance, check: lb }
    - { name: fo6, vip: 2001:db8:ff::2, service: https, to: [lb2, lb1], check: lb, port: 443 }
    - { name: fo4, vip: 198.51.100.3, service: tcp/8443, to: [lb2, 10.1.0.11], check: lb }
)") + extra;
}

class DnatMapKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!root()) GTEST_SKIP() << "needs root (nft in a private network namespace)";
    sh("nft flush ruleset");
  }

  // programmer → kernel, listed; the same through `nft -f` of the render, listed.
  void expectRenderEqualsKernel(const Ruleset& rs) {
    auto r = apply(rs);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const std::string kernel = listing();
    auto check = sh("nft list ruleset | nft -c -f -");
    EXPECT_EQ(check.status, 0) << "nft -c of nft's own listing: " << check.out;
    ASSERT_EQ(sh("nft delete table inet bulwark").status, 0);
    auto loaded = sh("nft -f -", renderReplaceScript(rs));
    ASSERT_EQ(loaded.status, 0) << loaded.out;
    EXPECT_EQ(listing(), kernel);
  }
};

TEST_F(DnatMapKernel, CampusRenderEqualsKernel) {
  expectRenderEqualsKernel(compileFile(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml").ruleset);
}

TEST_F(DnatMapKernel, BalanceFailoverBothFamiliesRenderEqualsKernel) {
  auto loaded = policies::loadPolicyText(policyText(""), "t.yaml");
  auto c = compile(loaded.policy);
  ASSERT_EQ(c.pools.size(), 4u);
  expectRenderEqualsKernel(c.ruleset);
  // and with backends down (other elements): still the same
  std::vector<PoolChoice> choices;
  for (const auto& p : c.pools) choices.push_back(choosePool(p, {BackendHealth::Down, BackendHealth::Up}));
  sh("nft flush ruleset");
  expectRenderEqualsKernel(withPoolChoices(c.ruleset, c.pools, choices));
}

TEST_F(DnatMapKernel, HealthChangeIsOneElementUpdateWithoutTableReplacement) {
  auto c = compileFile(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  ASSERT_EQ(c.pools.size(), 1u);
  ASSERT_TRUE(apply(c.ruleset).ok());
  auto before = observe();
  ASSERT_TRUE(before.ok() && before->has_value());
  std::map<std::string, std::uint64_t> handles;
  for (const auto& ch : (*before)->chains) {
    handles["chain " + ch.name] = ch.handle;
    for (std::size_t i = 0; i < ch.rules.size(); ++i) handles[ch.name + "#" + std::to_string(i)] = ch.rules[i].handle;
  }
  for (const auto& s : (*before)->sets) handles["set " + s.def.name] = s.handle;
  const auto gen = (*before)->genId;

  const auto& pool = c.pools[0];
  const auto down = choosePool(pool, {BackendHealth::Down, BackendHealth::Up});
  auto u = poolUpdate(pool, allUpChoice(pool), down);
  ASSERT_EQ(u.additions.size(), 1u);
  auto r = applyElementChanges(c.ruleset, u.additions, u.removals, ApplyOptions{gen});
  ASSERT_TRUE(r.ok()) << r.error().message;

  auto after = observe();
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->genId, gen + 1) << "exactly one transaction";
  std::map<std::string, std::uint64_t> handlesAfter;
  for (const auto& ch : (*after)->chains) {
    handlesAfter["chain " + ch.name] = ch.handle;
    for (std::size_t i = 0; i < ch.rules.size(); ++i) handlesAfter[ch.name + "#" + std::to_string(i)] = ch.rules[i].handle;
  }
  for (const auto& s : (*after)->sets) handlesAfter["set " + s.def.name] = s.handle;
  EXPECT_EQ(handlesAfter, handles) << "a chain, rule or set was replaced";
  EXPECT_NE(sh("nft list map inet bulwark dnat4_vip-http").out.find("203.0.113.10 : 203.0.113.12"), std::string::npos);
  const Ruleset want = withPoolChoices(c.ruleset, c.pools, {down});
  for (const auto& ch : diff(want, *after).changes) ADD_FAILURE() << ch.description;

  // and back: lb1 rises again
  auto back = poolUpdate(pool, down, allUpChoice(pool));
  ASSERT_TRUE(applyElementChanges(c.ruleset, back.additions, back.removals).ok());
  EXPECT_NE(sh("nft list map inet bulwark dnat4_vip-http").out.find("203.0.113.10 : 203.0.113.11"), std::string::npos);
  auto again = observe();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_TRUE(diff(c.ruleset, *again).empty());
}

}  // namespace
}  // namespace bulwark::firewall
