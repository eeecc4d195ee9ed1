// YAML anchors and aliases are refused in policy files, by every reader (loader, formatter,
// document reader): a 500-byte alias bomb made `fmt` run for minutes and gigabytes, because
// each reader walks an alias as often as it is used.
#include <gtest/gtest.h>

#include <string>

#include "bulwark/policies/document.h"
#include "bulwark/policies/formatter.h"
#include "bulwark/policies/loader.h"
#include "test_support.h"

namespace bulwark::policies {
namespace {

// Nine levels of nine aliases each: 9^9 (387 million) leaves when expanded.
std::string aliasBomb() {
  std::string t = "gateway: { uplink: eth0 }\nx0: &a0 [\"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\"]\n";
  for (int i = 1; i < 9; ++i) {
    auto prev = "*a" + std::to_string(i - 1);
    t += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) t += (k ? ", " : "") + prev;
    t += "]\n";
  }
  return t;
}

TEST(Aliases, TheLoaderRefusesThemWhereTheFirstOneIs) {
  auto text = aliasBomb();
  ASSERT_LT(text.size(), 600u);
  auto lines = test::loadDiags(text, "bomb.yaml");
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0],
            "bomb.yaml:2:5: error: YAML syntax: anchors and aliases ('&name', '*name') are not allowed in a policy "
            "file; write the value out where it is used");
}

TEST(Aliases, TheFormatterRefusesThem) {
  auto r = formatPolicyText(aliasBomb(), "bomb.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.text.empty());
  EXPECT_NE(r.diagnostics.items().front().message.find("anchors and aliases"), std::string::npos);
}

TEST(Aliases, TheDocumentReaderRefusesThem) {
  auto d = readDocument({"bomb.yaml", aliasBomb()});
  EXPECT_FALSE(d.root);
  EXPECT_TRUE(d.diagnostics.hasErrors());
}

TEST(Aliases, AnAliasOfAScalarToo) {
  auto lines = test::loadDiags("gateway: { uplink: &u eth0, trunk: *u }\n", "a.yaml");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].substr(0, 16), "a.yaml:1:20: err");
}

TEST(Aliases, AmpersandsAndStarsInTextAreFine) {
  auto lines = test::diags(
      "gateway: { uplink: eth0 }\n"
      "segments:\n"
      "  - { name: lab, description: \"R&D * 2\", interface: eth1, ipv4: { subnet: 10.0.0.0/24 } }  # a & b\n",
      "ok.yaml");
  EXPECT_TRUE(lines.empty()) << ::testing::PrintToString(lines);
}

}  // namespace
}  // namespace bulwark::policies
