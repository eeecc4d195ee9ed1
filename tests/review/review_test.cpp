// reviewChange and its renderings: the change in policy terms first, then the effect; a side
// that does not load is an error, never an empty policy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "bulwark/review/plan_review.h"
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

TEST(Review, CappedReviewSaysHowMuchMore) {
  auto after = replace(campus(), "    from: [web1, web2, wowza]\n    to: nas1", "    from: [web1, web2, wowza, mysql1]\n    to: nas1");
  after = replace(after, "    to: [mysql1, mysql2]\n    services: [mysql]", "    to: [mysql1, mysql2]\n    services: [mysql, ssh]");
  auto r = reviewChange(side("HEAD~1", campus()), side("HEAD", after));
  ASSERT_TRUE(r.review);
  auto rv = *r.review;
  ASSERT_GE(rv.changes.size(), 2u);
  ASSERT_EQ(rv.effect.size(), 2u);
  const auto changes = rv.changes.size();
  capReview(rv, {1, 1, 50});
  EXPECT_EQ(rv.changes.size(), 1u);
  EXPECT_EQ(rv.moreChanges, changes - 1);
  EXPECT_EQ(rv.effect.size(), 1u);
  EXPECT_EQ(rv.moreGroups, 1u);
  EXPECT_TRUE(rv.changed());
  auto text = reviewText(rv);
  EXPECT_NE(text.find("In policy terms (" + std::to_string(changes) + "):"), std::string::npos) << text;
  EXPECT_NE(text.find("… and 1 more group of changed flows"), std::string::npos) << text;
  auto j = nlohmann::json::parse(reviewJson(rv));
  EXPECT_EQ(j["more_effect_groups"], 1);
  EXPECT_EQ(j["more_policy_changes"], changes - 1);
  EXPECT_EQ(j["effect"].size(), 1u);
  // Lines within a group: web1, web2 → mysql1, mysql2 is one line; a cap of 0 lines counts it.
  capReview(rv, {1, 1, 0});
  EXPECT_TRUE(rv.effect[0].lines.empty());
  EXPECT_GE(rv.effect[0].moreLines, 1u);
  EXPECT_NE(reviewText(rv).find("… and "), std::string::npos);
}

TEST(PlanReview, KnownUnknownAndAnAppliedSideThatDoesNotLoad) {
  auto after = replace(campus(), "    to: [mysql1, mysql2]\n    services: [mysql]", "    to: [mysql1, mysql2]\n    services: [mysql, ssh]");
  AppliedPolicy applied{side("revision 3 (running)", campus()), ""};
  auto j = planReview(applied, side("proposed", after), ReviewLimits{});
  EXPECT_EQ(j["known"], true);
  EXPECT_EQ(j["before"], "revision 3 (running)");
  EXPECT_EQ(j["changed"], true);
  ASSERT_EQ(j["effect"].size(), 1u);
  EXPECT_EQ(j["effect"][0]["flows"][0]["services"], "ssh (tcp/22)");
  const auto text = j["text"].get<std::string>();
  EXPECT_EQ(text.rfind("Policy change revision 3 (running) → proposed", 0), 0u) << text;
  EXPECT_NE(text.find("web1, web2 → mysql1, mysql2 ssh (tcp/22)"), std::string::npos) << text;

  auto unknown = planReview(AppliedPolicy{std::nullopt, "no revision applied yet"}, side("proposed", after), {});
  EXPECT_EQ(unknown, (nlohmann::json{{"known", false}, {"reason", "no revision applied yet"}}));

  // A recorded revision this build no longer loads: unknown, with its first error.
  AppliedPolicy old{side("revision 1 (running)", "segments: [\n"), ""};
  auto bad = planReview(old, side("proposed", after), {});
  EXPECT_EQ(bad["known"], false);
  EXPECT_NE(bad["reason"].get<std::string>().find("the applied policy (revision 1 (running)) does not load here: campus.yaml:"),
            std::string::npos)
      << bad;
}

TEST(Review, ASideThatDoesNotLoadIsAnError) {
  auto r = reviewChange(side("HEAD", campus()), side("working tree", "gateway: [\n"));
  EXPECT_FALSE(r.review);
  EXPECT_TRUE(r.diagnostics.hasErrors());
  EXPECT_EQ(r.diagnostics.items().front().where.file, "campus.yaml");
}

}  // namespace
}  // namespace bulwark::review
