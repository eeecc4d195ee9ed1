// The flow-set algebra: interval sets (every operation against a bitset model on a small
// universe), the flow space's encodings, and the merging of disjoint cubes.
#include <gtest/gtest.h>

#include <bitset>
#include <random>

#include "bulwark/review/flow_groups.h"
#include "bulwark/review/flow_space.h"
#include "bulwark/review/intervals.h"

namespace bulwark::review {
namespace {

constexpr int kUniverse = 64;
using Bits = std::bitset<kUniverse>;

IntervalSet fromBits(const Bits& b) {
  std::vector<Interval> items;
  for (int i = 0; i < kUniverse; ++i) {
    if (b[static_cast<std::size_t>(i)]) items.push_back({static_cast<U128>(i), static_cast<U128>(i)});
  }
  return IntervalSet::fromUnsorted(std::move(items));
}

Bits toBits(const IntervalSet& s) {
  Bits b;
  for (const auto& i : s.intervals()) {
    for (U128 x = i.lo; x <= i.hi; ++x) b.set(static_cast<std::size_t>(x));
  }
  return b;
}

// Sorted, disjoint and never adjacent: one representation per set (so == is set equality).
bool canonical(const IntervalSet& s) {
  const auto& v = s.intervals();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i].lo > v[i].hi) return false;
    if (i > 0 && v[i - 1].hi + 1 >= v[i].lo) return false;
  }
  return true;
}

TEST(Intervals, OperationsAgreeWithABitsetModel) {
  std::mt19937_64 rng(19);
  for (int round = 0; round < 2000; ++round) {
    Bits a(rng()), b(rng());
    if (round % 3 == 0) a &= Bits(rng());  // sparser sets too
    auto x = fromBits(a), y = fromBits(b);
    ASSERT_TRUE(canonical(x));
    EXPECT_EQ(toBits(x.intersect(y)), a & b);
    EXPECT_EQ(toBits(x.unite(y)), a | b);
    EXPECT_EQ(toBits(x.subtract(y)), a & ~b);
    EXPECT_EQ(toBits(x.complement(kUniverse - 1)), ~a);
    EXPECT_TRUE(canonical(x.intersect(y)) && canonical(x.unite(y)) && canonical(x.subtract(y)));
    EXPECT_EQ(x.intersects(y), (a & b).any());
    EXPECT_EQ(x.containsAll(y), (b & ~a).none());
    EXPECT_EQ(static_cast<std::size_t>(x.count()), a.count());
    for (int p = 0; p < kUniverse; ++p) EXPECT_EQ(x.contains(static_cast<U128>(p)), a[static_cast<std::size_t>(p)]);
    EXPECT_EQ(x.unite(y).hash(), fromBits(a | b).hash());
  }
}

TEST(Intervals, OverlappingAndAdjacentInputsAreJoined) {
  auto s = IntervalSet::fromUnsorted({{10, 20}, {21, 30}, {5, 12}, {40, 40}, {35, 39}});
  std::vector<Interval> want{{5, 30}, {35, 40}};
  EXPECT_EQ(s.intervals(), want);
}

TEST(Intervals, TheWholeIpv6SpaceSaturatesCount) {
  auto all = allAddresses(Family::V6);
  EXPECT_EQ(all.count(), ~U128{0});
  EXPECT_TRUE(all.complement(addressMax(Family::V6)).empty());
  EXPECT_EQ(allAddresses(Family::V4).count(), U128{1} << 32);
  auto p = prefixSet(Prefix::parse("2001:db8::/32").value());
  EXPECT_EQ(all.subtract(p).unite(p), all);
}

TEST(FlowSpace, ServicesEncodeProtocolAndPort) {
  auto tcp = protoSet(6);
  EXPECT_TRUE(tcp.contains(svcValue(6, 0)) && tcp.contains(svcValue(6, 65535)));
  EXPECT_FALSE(tcp.contains(svcValue(17, 0)));
  auto ports = portSet(IntervalSet::of(1000, 2000));
  EXPECT_TRUE(ports.contains(svcValue(6, 1500)) && ports.contains(svcValue(17, 1000)) &&
              ports.contains(svcValue(132, 2000)));
  EXPECT_FALSE(ports.contains(svcValue(1, 1500)));  // icmp has no ports
  EXPECT_EQ(svcProto(svcValue(17, 53)), 17);
  EXPECT_EQ(svcPort(svcValue(17, 53)), 53);
}

TEST(FlowGroups, MergedCubesCoverTheSameFlows) {
  // Four quarters of a square, in two services: one cube per service after merging.
  std::vector<FlowCube> cubes;
  for (U128 s : {0, 10})
    for (U128 d : {0, 10})
      for (U128 v : {1, 2}) cubes.push_back({IntervalSet::of(s, s + 9), IntervalSet::of(d, d + 9), IntervalSet::point(v)});
  auto merged = mergeCubes(cubes);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].src, IntervalSet::of(0, 19));
  EXPECT_EQ(merged[0].dst, IntervalSet::of(0, 19));
  EXPECT_EQ(merged[0].svc, IntervalSet::of(1, 2));
  // Cubes that differ in two dimensions stay apart, and nothing is lost.
  std::vector<FlowCube> apart{{IntervalSet::of(0, 9), IntervalSet::of(0, 9), IntervalSet::point(1)},
                              {IntervalSet::of(10, 19), IntervalSet::of(10, 19), IntervalSet::point(1)}};
  auto kept = mergeCubes(apart);
  ASSERT_EQ(kept.size(), 2u);
  for (U128 s = 0; s < 20; ++s) {
    for (U128 d = 0; d < 20; ++d) {
      bool in = (s < 10) == (d < 10);
      EXPECT_EQ(kept[0].contains(s, d, 1) || kept[1].contains(s, d, 1), in);
    }
  }
}

}  // namespace
}  // namespace bulwark::review
