#pragma once
// Sets of unsigned integers as sorted, disjoint, non-adjacent closed intervals: the one set
// algebra of the flow analysis. Addresses are 128-bit numbers (IPv4 in the low 32 bits),
// services are `protocol << 16 | port` (flow_space.h). Every operation is exact and linear in
// the number of intervals (membership and intersection tests: logarithmic).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
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

[[nodiscard]] bool sameIntervals(std::span<const Interval> a, std::span<const Interval> b);
// A set's intervals against a list of them.
[[nodiscard]] inline bool operator==(std::span<const Interval> a, const std::vector<Interval>& b) {
  return sameIntervals(a, b);
}

class IntervalSet {
 public:
  IntervalSet() = default;
  IntervalSet(const IntervalSet& o) { assign(o); }
  IntervalSet(IntervalSet&& o) noexcept { take(o); }
  IntervalSet& operator=(const IntervalSet& o) {
    if (this != &o) {
      size_ = 0;
      assign(o);
    }
    return *this;
  }
  IntervalSet& operator=(IntervalSet&& o) noexcept {
    if (this != &o) {
      heap_.reset();
      capacity_ = kInline;
      take(o);
    }
    return *this;
  }
  ~IntervalSet() = default;

  [[nodiscard]] static IntervalSet of(U128 lo, U128 hi);
  [[nodiscard]] static IntervalSet point(U128 x) { return of(x, x); }
  // From intervals in any order, overlapping or not.
  [[nodiscard]] static IntervalSet fromUnsorted(std::vector<Interval> items);

  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::span<const Interval> intervals() const { return {data(), size_}; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] U128 min() const { return data()[0].lo; }
  [[nodiscard]] U128 max() const { return data()[size_ - 1].hi; }
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
  friend bool operator==(const IntervalSet& a, const IntervalSet& b) {
    return sameIntervals(a.intervals(), b.intervals());
  }

 private:
  // Most sets the analysis makes are one or two intervals (a prefix, a port range, a range
  // with a hole): those live inside the set, without a heap allocation per set -- the
  // partition copies and splits millions of them.
  static constexpr std::uint32_t kInline = 2;

  [[nodiscard]] const Interval* data() const { return heap_ ? heap_.get() : inline_; }
  [[nodiscard]] Interval* data() { return heap_ ? heap_.get() : inline_; }
  void reserve(std::size_t n);
  void push(U128 lo, U128 hi) {
    if (size_ == capacity_) reserve(std::size_t{capacity_} * 2);
    data()[size_++] = {lo, hi};
  }
  // Appends [lo, hi] to the sorted run, merging with the last interval when they touch.
  void append(U128 lo, U128 hi);
  void assign(const IntervalSet& o);
  void take(IntervalSet& o) noexcept;

  Interval inline_[kInline];
  std::unique_ptr<Interval[]> heap_;
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = kInline;
};

[[nodiscard]] std::string u128ToString(U128 v);

}  // namespace bulwark::review
