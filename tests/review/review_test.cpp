// reviewChange and its renderings: the change in policy terms first, then the effect; a side
// that does not load is an error, never an empty policy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "bulwark/review/review.h"
#include "campus_text.h"

namespace bulwark::review {
namespace {

using testing::campus;
using testing::replace;

ReviewInput side(const std::string& label, const std::string& text) { return {label, {{"campus.yaml", text}}}; }

TEST(Review, SamePolicyIsNoChange) {
  auto r = reviewChange(side("HEAD", campus()), side("working tree", "# only a comment\n" + campus()));
  ASSERT_TRUE(r.review);
  EXPECT_FALSE(r.review->changed());
  EXPECT_NE(reviewText(*r.review).find("No change"), std::string::npos);
  auto j = nlohmann::json::parse(reviewJson(*r.review));
  EXPECT_EQ(j["changed"], false);
  EXPECT_TRUE(j["effect"].empty());
}

TEST(Review, ChangeAndEffectInEveryRendering) {
  auto after = replace(campus(), "    from: [web1, web2, wowza]\n    to: nas1", "    from: [web1, web2, wowza, mysql1]\n    to: nas1");
  auto r = reviewChange(side("HEAD~1", campus()), side("HEAD", after));
  ASSERT_TRUE(r.review);
  const auto& rv = *r.review;
  EXPECT_TRUE(rv.changed());
  ASSERT_EQ(rv.changes.size(), 1u);
  EXPECT_EQ(rv.changes[0].name, "app-to-nas");
  ASSERT_EQ(rv.effect.size(), 1u);
  EXPECT_EQ(rv.effect[0].kind, FlowChangeKind::Allowed);

  auto text = reviewText(rv);
  auto terms = text.find("changed rule app-to-nas at campus.yaml:");
  auto effect = text.find("newly allowed by app-to-nas at campus.yaml:");
  ASSERT_NE(terms, std::string::npos) << text;
  ASSERT_NE(effect, std::string::npos) << text;
  EXPECT_LT(terms, effect) << "policy terms first";
  EXPECT_NE(text.find("mysql1 → nas1 nfs (tcp/2049, udp/2049, tcp/111, udp/111)"), std::string::npos) << text;

  auto md = reviewMarkdown(rv);
  EXPECT_EQ(md.rfind("### Policy change `HEAD~1` → `HEAD`", 0), 0u) << md;
  EXPECT_NE(md.find("- **changed** rule `app-to-nas`"), std::string::npos) << md;
  EXPECT_NE(md.find("#### Effect"), std::string::npos) << md;

  auto j = nlohmann::json::parse(reviewJson(rv));
  EXPECT_EQ(j["changed"], true);
  ASSERT_EQ(j["effect"].size(), 1u);
  const auto& g = j["effect"][0];
  EXPECT_EQ(g["kind"], "newly allowed");
  EXPECT_EQ(g["by"]["what"], "app-to-nas");
  const auto& line = g["flows"][0];
  EXPECT_EQ(line["from"], "mysql1");
  // The exact sets, for machines: mysql1's address and the NFS ports.
  EXPECT_EQ(line["from_prefixes"].size(), 1u);
  EXPECT_NE(std::find(line["service_specs"].begin(), line["service_specs"].end(), "udp/111"),
            line["service_specs"].end());
}

TEST(Review, ASideThatDoesNotLoadIsAnError) {
  auto r = reviewChange(side("HEAD", campus()), side("working tree", "gateway: [\n"));
  EXPECT_FALSE(r.review);
  EXPECT_TRUE(r.diagnostics.hasErrors());
  EXPECT_EQ(r.diagnostics.items().front().where.file, "campus.yaml");
}

}  // namespace
}  // namespace bulwark::review
