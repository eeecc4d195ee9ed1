#pragma once
// Sets of unsigned integers as sorted, disjoint, non-adjacent closed intervals: the one set
// algebra of the flow analysis. Addresses are 128-bit numbers (IPv4 in the low 32 bits),
// services are `protocol << 16 | port` (flow_space.h). Every operation is exact and linear in
// the number of intervals (membership and intersection tests: logarithmic).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::review {

// GCC/Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet about it.
__extension__ typedef unsigned __int128 U128;

struct Interval {
  U128 lo = 0;
  U128 hi = 0;  // inclusive
  friend bool operator==(const Interval&, const Interval&) = default;
};

class IntervalSet {
 public:
  IntervalSet() = default;
  [[nodiscard]] static IntervalSet of(U128 lo, U128 hi);
  [[nodiscard]] static IntervalSet point(U128 x) { return of(x, x); }
  // From intervals in any order, overlapping or not.
  [[nodiscard]] static IntervalSet fromUnsorted(std::vector<Interval> items);

  [[nodiscard]] bool empty() const { return items_.empty(); }
  [[nodiscard]] const std::vector<Interval>& intervals() const { return items_; }
  [[nodiscard]] std::size_t size() const { return items_.size(); }
  [[nodiscard]] U128 min() const { return items_.front().lo; }
  [[nodiscard]] U128 max() const { return items_.back().hi; }
  // How many numbers, saturated at the largest U128 (the whole IPv6 space does not fit).
  [[nodiscard]] U128 count() const;

  [[nodiscard]] bool contains(U128 x) const;
  [[nodiscard]] bool containsAll(const IntervalSet& o) const;
  [[nodiscard]] bool intersects(const IntervalSet& o) const;

  [[nodiscard]] IntervalSet intersect(const IntervalSet& o) const;
  [[nodiscard]] IntervalSet subtract(const IntervalSet& o) const;
  [[nodiscard]] IntervalSet unite(const IntervalSet& o) const;
  // [0, max] minus this.
  [[nodiscard]] IntervalSet complement(U128 max) const;

  [[nodiscard]] std::size_t hash() const;
  friend bool operator==(const IntervalSet&, const IntervalSet&) = default;

 private:
  std::vector<Interval> items_;  // sorted, disjoint, no two adjacent
};

[[nodiscard]] std::string u128ToString(U128 v);

}  // namespace bulwark::review
