// WidestPrefixes against the pairwise merge it replaced in the compiler (keep a prefix
// unless a kept one contains it; drop the kept ones it contains), on random nested lists.
#include "widest_prefixes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace bulwark::firewall {
namespace {

using policies::IpAddress;
using policies::Prefix;

std::vector<Prefix> pairwise(const std::vector<Prefix>& in) {
  std::vector<Prefix> kept;
  for (const auto& p : in) {
    if (std::any_of(kept.begin(), kept.end(), [&](const Prefix& k) { return k.contains(p); })) continue;
    std::erase_if(kept, [&](const Prefix& k) { return p.contains(k); });
    kept.push_back(p);
  }
  return kept;
}

std::vector<Prefix> widest(const std::vector<Prefix>& in) {
  WidestPrefixes w;
  for (const auto& p : in) w.add(p);
  return w.inOrder();
}

TEST(WidestPrefixes, KeepsTheWidestInTheOrderTheyFirstAppeared) {
  auto p = [](const char* s) { return *Prefix::parse(s); };
  EXPECT_EQ(widest({p("10.0.0.5/32"), p("10.0.1.0/24"), p("10.0.0.0/24"), p("10.0.0.5/32"), p("10.0.1.7/32")}),
            (std::vector<Prefix>{p("10.0.1.0/24"), p("10.0.0.0/24")}));
  EXPECT_EQ(widest({p("10.0.0.0/25"), p("10.0.0.128/25"), p("10.0.0.0/24"), p("10.0.0.0/25")}),
            (std::vector<Prefix>{p("10.0.0.0/24")}));
  EXPECT_EQ(widest({p("2001:db8::1/128"), p("2001:db8::/64"), p("2001:db9::/32")}),
            (std::vector<Prefix>{p("2001:db8::/64"), p("2001:db9::/32")}));
}

TEST(WidestPrefixes, AgreesWithThePairwiseMergeOnRandomNestedLists) {
  std::mt19937 rng(20);  // fixed: the same lists every run
  for (int round = 0; round < 200; ++round) {
    std::vector<Prefix> in;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      // Addresses in 10.0.0.0/22 and lengths from /20 to /32: plenty of nesting and repeats.
      auto addr = IpAddress::v4(0x0a000000u | (rng() & 0x3ffu));
      in.emplace_back(addr, 20 + static_cast<int>(rng() % 13));
    }
    ASSERT_EQ(widest(in), pairwise(in)) << "round " << round;
  }
}

}  // namespace
}  // namespace bulwark::firewall
