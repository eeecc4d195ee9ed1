// Every example policy validates cleanly and is already in canonical form.
#include <gtest/gtest.h>

#include <algorithm>

#include "bulwark/policies/formatter.h"
#include "test_support.h"

namespace bulwark::policies {
namespace {

namespace fs = std::filesystem;
using test::Lines;

bool isPolicyFile(const fs::path& p) {
  return fs::is_regular_file(p) && (p.extension() == ".yaml" || p.extension() == ".yml");
}

// Example policies: each *.yaml / *.yml file, and each directory (a multi-file policy).
std::vector<fs::path> examplePolicies() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(test::examplesDir())) {
    if (isPolicyFile(e.path()) || e.is_directory()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> exampleFiles() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(test::examplesDir())) {
    if (isPolicyFile(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Examples, ThereAreExamples) {
  auto all = examplePolicies();
  EXPECT_NE(std::find(all.begin(), all.end(), test::campusPath()), all.end());
}

TEST(Examples, ValidateWithNoErrorsAndNoWarnings) {
  for (const auto& p : examplePolicies()) {
    SCOPED_TRACE(p.string());
    auto r = loadAndValidate(p);
    EXPECT_EQ(test::strs(r.diagnostics), Lines{});
    EXPECT_EQ(r.diagnostics.errorCount(), 0u);
    EXPECT_EQ(r.diagnostics.warningCount(), 0u);
    EXPECT_TRUE(r.policy.gateway.has_value());
    EXPECT_FALSE(r.policy.segments.empty());
  }
}

TEST(Examples, AreInCanonicalForm) {
  for (const auto& p : exampleFiles()) {
    SCOPED_TRACE(p.string());
    auto text = test::readFile(p);
    auto f = formatPolicyText(text, p.string());
    EXPECT_EQ(test::strs(f.diagnostics), Lines{});
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f.text, text);
  }
}

TEST(Examples, FormattingIsIdempotent) {
  for (const auto& p : exampleFiles()) {
    SCOPED_TRACE(p.string());
    auto once = formatPolicyText(test::readFile(p), p.string());
    ASSERT_TRUE(once.ok());
    auto twice = formatPolicyText(once.text, p.string());
    ASSERT_TRUE(twice.ok());
    EXPECT_EQ(twice.text, once.text);
  }
}

TEST(Examples, CampusContents) {
  auto r = loadAndValidate(test::campusPath());
  ASSERT_TRUE(r.ok());
  const auto& p = r.policy;
  EXPECT_EQ(p.segments.size(), 5u);
  EXPECT_EQ(p.hosts.size(), 10u);
  EXPECT_EQ(p.services.size(), 11u);
  EXPECT_EQ(p.zones.size(), 1u);
  EXPECT_EQ(p.rules.size(), 8u);
  EXPECT_EQ(p.dnat.size(), 3u);
  EXPECT_EQ(p.snat.size(), 1u);
  ASSERT_TRUE(p.vpn);
  EXPECT_EQ(p.vpn->groups.size(), 2u);
  EXPECT_EQ(p.expectations.size(), 58u);
  ASSERT_TRUE(p.gateway);
  EXPECT_EQ(p.gateway->name, "edge1");
  EXPECT_EQ(p.gateway->uplink, "eth0");
  EXPECT_EQ(p.gateway->trunk, "eth1");
  const auto* storage = p.findSegment("storage");
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->mtu, 9000);
  EXPECT_EQ(storage->vlan, 40);
  const auto* lb1 = p.findHost("lb1");
  ASSERT_NE(lb1, nullptr);
  ASSERT_EQ(lb1->addresses.size(), 2u);
  EXPECT_EQ(lb1->addresses[1].str(), "2001:db8:10::11");
  ASSERT_TRUE(p.rules[0].limits);
  ASSERT_TRUE(p.rules[0].limits->rate);
  EXPECT_EQ(p.rules[0].limits->rate->count, 500u);
  EXPECT_EQ(p.rules[0].limits->rate->burst, 1000u);
  EXPECT_EQ(p.rules[0].limits->connections, 2000u);
}

}  // namespace
}  // namespace bulwark::policies
