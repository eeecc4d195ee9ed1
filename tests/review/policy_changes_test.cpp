// Changes in policy terms: on the documents, not the text.
#include <gtest/gtest.h>


#include "bulwark/review/policy_changes.h"

namespace bulwark::review {
namespace {

const char* kBefore = R"(gateway: { name: edge1, uplink: eth0, trunk: eth1 }
segments:
  - name: app
    vlan: 20
    ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 }
hosts:
  - { name: web1, segment: app, addresses: [10.20.0.11] }
  - { name: web2, segment: app, addresses: [10.20.0.12] }
services:
  - { name: http, ports: [tcp/80] }
  - { name: ssh, ports: [tcp/22] }
rules:
  - { name: a, from: web1, to: internet, services: [http], action: allow }
  - { name: b, from: [web2], to: internet, services: [http], action: allow }
  - { name: c, from: app, to: internet, services: [ssh], action: deny }
nat:
  dnat:
    - { name: vip, vip: 203.0.113.10, service: http, to: web1 }
expect:
  - { from: web1, to: 198.51.100.7, service: http, verdict: allow }
)";

std::vector<std::string> lines(const std::string& before, const std::string& after) {
  std::vector<std::string> out;
  for (const auto& c : policyChanges({{"p.yaml", before}}, {{"p.yaml", after}})) {
    std::string s = c.what + " " + c.name + " " + std::string(changeKindName(c.kind)) + " @" +
                    std::to_string(c.where.line);
    for (const auto& d : c.details) s += "; " + d;
    out.push_back(s);
  }
  return out;
}

TEST(PolicyChanges, FormattingKeyOrderAndOneItemListsDoNotCount) {
  std::string after = kBefore;
  after.replace(after.find("from: web1, to: internet"), 24, "to: internet, from: [web1]");
  after.replace(after.find("  - { name: http, ports: [tcp/80] }"), 35, "  - name: http\n    ports: tcp/80  # web");
  EXPECT_TRUE(lines(kBefore, after).empty()) << ::testing::PrintToString(lines(kBefore, after));
}

TEST(PolicyChanges, ItemsAddedRemovedChangedAndRulesMoved) {
  std::string after = kBefore;
  after.replace(after.find("  - { name: web2, segment: app, addresses: [10.20.0.12] }\n"), 57,
                "  - { name: web2, segment: app, addresses: [10.20.0.12] }\n"
                "  - { name: web3, segment: app, addresses: [10.20.0.13] }\n");
  after.replace(after.find("  - { name: ssh, ports: [tcp/22] }\n"), 35, "");
  after.replace(after.find("from: [web2]"), 12, "from: [web2, web3]");
  // c moves above a
  auto c = after.find("  - { name: c,");
  auto cEnd = after.find('\n', c) + 1;
  auto cText = after.substr(c, cEnd - c);
  after.erase(c, cEnd - c);
  after.insert(after.find("  - { name: a,"), cText);
  after.replace(after.find("name: edge1"), 11, "name: edge2");
  after.replace(after.find("to: web1 }"), 10, "to: web2, port: 8080 }");
  after += "  - { from: web3, to: 198.51.100.7, service: http, verdict: allow }\n";
  auto l = lines(kBefore, after);
  std::vector<std::string> want = {
      "gateway gateway changed @1; name: edge1 → edge2",
      "host web3 added @9",
      "service ssh removed @11",
      "rule c moved @14; now first",
      "rule b changed @16; from: +web3 (now [web2, web3])",
      "DNAT entry vip changed @19; port: added 8080; to: web1 → web2",
      "expectation { from: web3, service: http, to: 198.51.100.7, verdict: allow } added @22",
  };
  EXPECT_EQ(l, want);
}

// Items without names compare by their text, each copy counted: one copy stays, the second is
// added; the item gone is removed (where it stood before).
TEST(PolicyChanges, UnnamedItemsAddedAndRemovedByCount) {
  std::string after = kBefore;
  const std::string web1 = "  - { from: web1, to: 198.51.100.7, service: http, verdict: allow }\n";
  const std::string web2 = "  - { from: web2, to: 198.51.100.7, service: http, verdict: allow }\n";
  after.replace(after.find(web1), web1.size(), web2 + web2);
  std::string before = std::string(kBefore) + web2;
  auto l = lines(before, after);
  std::vector<std::string> want = {
      "expectation { from: web1, service: http, to: 198.51.100.7, verdict: allow } removed @20",
      "expectation { from: web2, service: http, to: 198.51.100.7, verdict: allow } added @21",
  };
  EXPECT_EQ(l, want);
}

TEST(PolicyChanges, NewSectionsSlotIn) {
  std::string after = std::string(kBefore) + "checks:\n  - { name: web, type: tcp, port: 80 }\nha:\n  peer: 10.0.0.2\n";
  auto l = lines(kBefore, after);
  std::vector<std::string> want = {"check web added @22", "ha ha added @23"};
  EXPECT_EQ(l, want);
}

}  // namespace
}  // namespace bulwark::review
