// The changed flows of a campus.yaml change in the policy's words.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "bulwark/firewall/compiler.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"
#include "bulwark/review/flow_groups.h"
#include "campus_text.h"

namespace bulwark::review {
namespace {

using testing::campus;
using testing::replace;

// The line of the first line holding `needle`, as the compiler's origins give it.
std::string lineOf(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

struct Side {
  policies::Policy policy;
  firewall::Ruleset ruleset;
};

Side load(const std::string& text) {
  auto r = policies::loadPolicyText(text, "campus.yaml");
  policies::validatePolicy(r.policy, r.diagnostics);
  EXPECT_FALSE(r.diagnostics.hasErrors());
  for (const auto& d : r.diagnostics.items()) ADD_FAILURE() << d.str();
  auto c = firewall::compile(r.policy);
  return {std::move(r.policy), std::move(c.ruleset)};
}

std::vector<std::string> describe(const Side& before, const Side& after) {
  auto changes = flowChanges({&before.ruleset, &before.policy}, {&after.ruleset, &after.policy});
  Namer names({&after.policy, &before.policy});
  std::vector<std::string> out;
  for (const auto& g : groupFlowChanges(changes, names)) {
    for (const auto& l : g.lines) {
      std::string s = std::string(flowChangeKindName(g.kind)) + ": " + l.from + " → " + l.to + " " + l.services +
                      " by " + g.nowText + " (was " + g.wasText + ")";
      if (!l.pathNote.empty()) s += " [" + l.pathNote + "]";
      out.push_back(s);
    }
  }
  return out;
}

TEST(FlowGroups, NewSourceInARule) {
  auto before = load(campus());
  auto after = load(replace(campus(), "    from: [web1, web2, wowza]\n    to: nas1", "    from: [web1, web2, wowza, mysql1]\n    to: nas1"));
  auto lines = describe(before, after);
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0],
            "newly allowed: mysql1 → nas1 nfs (tcp/2049, udp/2049, tcp/111, udp/111) by app-to-nas at campus.yaml:" +
                lineOf(campus(), "- name: app-to-nas") + " (was no rule (default drop of db → storage))");
}

TEST(FlowGroups, RemovedRuleAndVpnAccess) {
  auto before = load(campus());
  auto after = load(replace(campus(), "        - { to: db, services: [ssh, mysql] }", "        - { to: db, services: [ssh] }"));
  auto lines = describe(before, after);
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0],
            "newly denied: dba → db except gateway 10.30.0.1 mysql (tcp/3306) by no rule (default drop of dba → db) "
            "(was VPN group dba, access #1 at campus.yaml:" +
                lineOf(campus(), "        - { to: db, services: [ssh, mysql] }") + ")");
}

}  // namespace
}  // namespace bulwark::review
