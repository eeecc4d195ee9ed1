// The renderer provably speaks nft: every example's rendered ruleset passes `nft -c -f`
// (the kernel validates the whole transaction, then aborts it) in a private network
// namespace, so the host's ruleset is never involved.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bulwark/firewall/render.h"
#include "test_policy.h"

namespace bulwark::firewall {
namespace {

namespace fs = std::filesystem;

struct Run {
  int status;
  std::string output;
};

Run run(const std::string& cmd) {
  Run r{-1, {}};
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  r.status = ::pclose(p);
  return r;
}

class RenderCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(RenderCheck, NftAcceptsTheRenderedRuleset) {
  ASSERT_EQ(::geteuid(), 0u) << "needs root to create a network namespace (CI runs as root)";
  auto c = testing::compileExample(GetParam());
  ASSERT_TRUE(c.result.ok());
  auto file = fs::temp_directory_path() / ("bulwark-render-" + std::to_string(::getpid()) + ".nft");
  {
    std::ofstream out(file);
    out << renderReplaceScript(c.result.ruleset);
  }
  auto check = run("unshare --net nft -c -f " + file.string());
  EXPECT_EQ(check.status, 0) << check.output;
  // And for real: load it in a throw-away namespace and read it back.
  auto load = run("unshare --net sh -c 'nft -f " + file.string() + " && nft list table inet bulwark'");
  EXPECT_EQ(load.status, 0) << load.output;
  EXPECT_NE(load.output.find("chain forward"), std::string::npos);
  EXPECT_NE(load.output.find("policy drop"), std::string::npos);
  fs::remove(file);
}

std::vector<std::string> examples() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(BULWARK_EXAMPLES_DIR)) {
    // Files, and directory policies (campus-ha: campus.yaml + ha.yaml).
    if (e.path().extension() == ".yaml" || e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Examples, RenderCheck, ::testing::ValuesIn(examples()),
                         [](const auto& param) {
                           std::string n = param.param.substr(0, param.param.find('.'));
                           for (auto& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace bulwark::firewall
