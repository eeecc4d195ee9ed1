#include "bulwark/review/intervals.h"

#include <algorithm>

namespace bulwark::review {

namespace {

constexpr U128 kMaxU128 = ~U128{0};

// Appends [lo, hi] to a sorted run, merging with the last interval when they touch.
void append(std::vector<Interval>& out, U128 lo, U128 hi) {
  if (!out.empty() && (out.back().hi == kMaxU128 || out.back().hi + 1 >= lo)) {
    out.back().hi = std::max(out.back().hi, hi);
    return;
  }
  out.push_back({lo, hi});
}

}  // namespace

IntervalSet IntervalSet::of(U128 lo, U128 hi) {
  IntervalSet s;
  if (lo <= hi) s.items_.push_back({lo, hi});
  return s;
}

IntervalSet IntervalSet::fromUnsorted(std::vector<Interval> items) {
  std::erase_if(items, [](const Interval& i) { return i.lo > i.hi; });
  std::sort(items.begin(), items.end(), [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  IntervalSet s;
  s.items_.reserve(items.size());
  for (const auto& i : items) append(s.items_, i.lo, i.hi);
  return s;
}

U128 IntervalSet::count() const {
  U128 n = 0;
  for (const auto& i : items_) {
    U128 width = i.hi - i.lo;
    if (width == kMaxU128 || n > kMaxU128 - width - 1) return kMaxU128;
    n += width + 1;
  }
  return n;
}

bool IntervalSet::contains(U128 x) const {
  auto it = std::upper_bound(items_.begin(), items_.end(), x, [](U128 v, const Interval& i) { return v < i.lo; });
  return it != items_.begin() && std::prev(it)->hi >= x;
}

bool IntervalSet::containsAll(const IntervalSet& o) const {
  std::size_t j = 0;
  for (const auto& b : o.items_) {
    while (j < items_.size() && items_[j].hi < b.lo) ++j;
    if (j == items_.size() || items_[j].lo > b.lo || items_[j].hi < b.hi) return false;
  }
  return true;
}

bool IntervalSet::intersects(const IntervalSet& o) const {
  // Walk the smaller set, binary search in the larger: rule sets are often large, the flow
  // sets they are tested against small.
  const auto& small = items_.size() <= o.items_.size() ? items_ : o.items_;
  const auto& large = items_.size() <= o.items_.size() ? o.items_ : items_;
  for (const auto& a : small) {
    auto it = std::lower_bound(large.begin(), large.end(), a.lo, [](const Interval& i, U128 v) { return i.hi < v; });
    if (it != large.end() && it->lo <= a.hi) return true;
  }
  return false;
}

IntervalSet IntervalSet::intersect(const IntervalSet& o) const {
  IntervalSet out;
  std::size_t i = 0, j = 0;
  while (i < items_.size() && j < o.items_.size()) {
    U128 lo = std::max(items_[i].lo, o.items_[j].lo);
    U128 hi = std::min(items_[i].hi, o.items_[j].hi);
    if (lo <= hi) out.items_.push_back({lo, hi});
    if (items_[i].hi < o.items_[j].hi) ++i;
    else ++j;
  }
  return out;
}

IntervalSet IntervalSet::subtract(const IntervalSet& o) const {
  IntervalSet out;
  std::size_t j = 0;
  for (const auto& a : items_) {
    U128 lo = a.lo;
    bool done = false;
    while (j < o.items_.size() && o.items_[j].hi < lo) ++j;
    for (std::size_t k = j; k < o.items_.size() && o.items_[k].lo <= a.hi; ++k) {
      const auto& b = o.items_[k];
      if (b.lo > lo) out.items_.push_back({lo, b.lo - 1});
      if (b.hi >= a.hi) {
        done = true;
        break;
      }
      lo = b.hi + 1;
    }
    if (!done) out.items_.push_back({lo, a.hi});
  }
  return out;
}

IntervalSet IntervalSet::unite(const IntervalSet& o) const {
  IntervalSet out;
  out.items_.reserve(items_.size() + o.items_.size());
  std::size_t i = 0, j = 0;
  while (i < items_.size() || j < o.items_.size()) {
    const Interval& next = (j == o.items_.size() || (i < items_.size() && items_[i].lo <= o.items_[j].lo))
                               ? items_[i++]
                               : o.items_[j++];
    append(out.items_, next.lo, next.hi);
  }
  return out;
}

IntervalSet IntervalSet::complement(U128 max) const { return of(0, max).subtract(*this); }

std::size_t IntervalSet::hash() const {
  std::size_t h = 1469598103934665603ull;
  auto mix = [&](U128 v) {
    h ^= static_cast<std::size_t>(v) ^ static_cast<std::size_t>(v >> 64);
    h *= 1099511628211ull;
  };
  for (const auto& i : items_) {
    mix(i.lo);
    mix(i.hi);
  }
  return h;
}

std::string u128ToString(U128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return {s.rbegin(), s.rend()};
}

}  // namespace bulwark::review
