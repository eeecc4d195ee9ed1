// The shadow and contradiction checks look earlier rules up by zone and prefix
// (policies/src/atom_index.h) instead of comparing every pair: these cases reach the
// covering rule only through that index's less obvious paths.
#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::diags;
using test::Lines;

constexpr std::string_view kBase = R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 }, ipv6: { subnet: 2001:db8:10::/64 } }
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
hosts:
  - { name: pc1, segment: lan, addresses: [10.0.0.21, 2001:db8:10::21] }
  - { name: web, segment: dmz, addresses: [10.1.0.10] }
  - { name: mail, segment: dmz, addresses: [10.1.0.25] }
rules:
)";  // rules start on line 10

std::string withRules(std::string_view rules) { return std::string(kBase) + std::string(rules); }

std::string shadowed(int line, const char* rule, const char* by, int byLine) {
  return "t.yaml:" + std::to_string(line) + ":5: warning: rule '" + rule + "' is shadowed by rule '" + by +
         "' at t.yaml:" + std::to_string(byLine) + ":5 and never matches\n  hint: remove it, or move it above '" +
         by + "' if it should decide first";
}

TEST(ShadowIndex, ACoveringPrefixOfAnyLengthIsFound) {
  // 10.0.0.0/25 covers pc1 (10.0.0.21/32) and the /28 it sits in; the IPv6 half of pc1 is
  // covered only by the whole segment, so that rule shadows and the literal one does not.
  EXPECT_EQ(diags(withRules(R"(  - { name: half, from: 10.0.0.0/25, to: web, services: [tcp/443], action: allow }
  - { name: block, from: 10.0.0.16/28, to: web, services: [tcp/443], action: allow }
  - { name: pc, from: pc1, to: web, services: [tcp/443], action: allow }
  - { name: all, from: lan, to: dmz, services: [any], action: allow }
  - { name: pc-again, from: pc1, to: mail, services: [tcp/25], action: allow }
)")),
            (Lines{shadowed(11, "block", "half", 10), shadowed(14, "pc-again", "all", 13)}));
}

TEST(ShadowIndex, TheFirstCoveringRuleIsReportedWhicheverSideFindsIt) {
  // `wide` is found through the source (the whole zone), `first` through the destination
  // (its source is every zone): the earlier one is named, and a deny is a contradiction.
  EXPECT_EQ(diags(withRules(R"(  - { name: first, from: any, to: web, services: [tcp/80-443], action: deny }
  - { name: wide, from: lan, to: dmz, services: [tcp/1-1024], action: allow }
  - { name: late, from: pc1, to: web, services: [tcp/443], action: allow }
)")),
            (Lines{"t.yaml:12:5: error: rule 'late' allows flows that rule 'first' at t.yaml:10:5 already denies: "
                   "the same flows are both allowed and denied\n"
                   "  hint: first match wins; move 'late' above 'first' or narrow 'first'"}));
}

TEST(ShadowIndex, EverySourceAndDestinationMustBeCovered) {
  // Each candidate found by the first source fails on the second one, or on the services.
  EXPECT_EQ(diags(withRules(R"(  - { name: one, from: pc1, to: web, services: [tcp/443], action: allow }
  - { name: two, from: [pc1, 10.1.0.0/24], to: web, services: [tcp/443], action: allow }
  - { name: three, from: pc1, to: [web, mail], services: [tcp/443], action: allow }
  - { name: four, from: pc1, to: web, services: [tcp/443, tcp/80], action: allow }
  - { name: five, from: pc1, to: [mail, web], services: [tcp/443], action: deny }
)")),
            (Lines{"t.yaml:14:5: error: rule 'five' denies flows that rule 'three' at t.yaml:12:5 already allows: "
                   "the same flows are both allowed and denied\n"
                   "  hint: first match wins; move 'five' above 'three' or narrow 'three'"}));
}

}  // namespace
}  // namespace bulwark::policies
