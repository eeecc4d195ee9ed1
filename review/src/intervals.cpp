#include "bulwark/review/intervals.h"

#include <algorithm>

namespace bulwark::review {

namespace {

constexpr U128 kMaxU128 = ~U128{0};

}  // namespace

bool sameIntervals(std::span<const Interval> a, std::span<const Interval> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void IntervalSet::reserve(std::size_t n) {
  if (n <= capacity_) return;
  auto grown = std::make_unique_for_overwrite<Interval[]>(n);
  std::copy_n(data(), size_, grown.get());
  heap_ = std::move(grown);
  capacity_ = static_cast<std::uint32_t>(n);
}

void IntervalSet::append(U128 lo, U128 hi) {
  if (size_ > 0) {
    auto& last = data()[size_ - 1];
    if (last.hi == kMaxU128 || last.hi + 1 >= lo) {
      last.hi = std::max(last.hi, hi);
      return;
    }
  }
  push(lo, hi);
}

void IntervalSet::assign(const IntervalSet& o) {
  reserve(o.size_);
  std::copy_n(o.data(), o.size_, data());
  size_ = o.size_;
}

void IntervalSet::take(IntervalSet& o) noexcept {
  if (o.heap_) {
    heap_ = std::move(o.heap_);
    capacity_ = o.capacity_;
  } else {
    std::copy_n(o.inline_, o.size_, inline_);
  }
  size_ = o.size_;
  o.size_ = 0;
  o.capacity_ = kInline;
}

IntervalSet IntervalSet::of(U128 lo, U128 hi) {
  IntervalSet s;
  if (lo <= hi) s.push(lo, hi);
  return s;
}

IntervalSet IntervalSet::fromUnsorted(std::vector<Interval> items) {
  std::erase_if(items, [](const Interval& i) { return i.lo > i.hi; });
  std::sort(items.begin(), items.end(), [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  IntervalSet s;
  s.reserve(items.size());
  for (const auto& i : items) s.append(i.lo, i.hi);
  return s;
}

U128 IntervalSet::count() const {
  U128 n = 0;
  for (const auto& i : intervals()) {
    U128 width = i.hi - i.lo;
    if (width == kMaxU128 || n > kMaxU128 - width - 1) return kMaxU128;
    n += width + 1;
  }
  return n;
}

bool IntervalSet::contains(U128 x) const {
  auto items = intervals();
  auto it = std::upper_bound(items.begin(), items.end(), x, [](U128 v, const Interval& i) { return v < i.lo; });
  return it != items.begin() && std::prev(it)->hi >= x;
}

bool IntervalSet::containsAll(const IntervalSet& o) const {
  auto items = intervals();
  std::size_t j = 0;
  for (const auto& b : o.intervals()) {
    while (j < items.size() && items[j].hi < b.lo) ++j;
    if (j == items.size() || items[j].lo > b.lo || items[j].hi < b.hi) return false;
  }
  return true;
}

bool IntervalSet::intersects(const IntervalSet& o) const {
  // Walk the smaller set, binary search in the larger: rule sets are often large, the flow
  // sets they are tested against small.
  auto small = size_ <= o.size_ ? intervals() : o.intervals();
  auto large = size_ <= o.size_ ? o.intervals() : intervals();
  for (const auto& a : small) {
    auto it = std::lower_bound(large.begin(), large.end(), a.lo, [](const Interval& i, U128 v) { return i.hi < v; });
    if (it != large.end() && it->lo <= a.hi) return true;
  }
  return false;
}

IntervalSet IntervalSet::intersect(const IntervalSet& o) const {
  IntervalSet out;
  auto a = intervals(), b = o.intervals();
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    U128 lo = std::max(a[i].lo, b[j].lo);
    U128 hi = std::min(a[i].hi, b[j].hi);
    if (lo <= hi) out.push(lo, hi);
    if (a[i].hi < b[j].hi) ++i;
    else ++j;
  }
  return out;
}

IntervalSet IntervalSet::subtract(const IntervalSet& o) const {
  IntervalSet out;
  auto other = o.intervals();
  std::size_t j = 0;
  for (const auto& a : intervals()) {
    U128 lo = a.lo;
    bool done = false;
    while (j < other.size() && other[j].hi < lo) ++j;
    for (std::size_t k = j; k < other.size() && other[k].lo <= a.hi; ++k) {
      const auto& b = other[k];
      if (b.lo > lo) out.push(lo, b.lo - 1);
      if (b.hi >= a.hi) {
        done = true;
        break;
      }
      lo = b.hi + 1;
    }
    if (!done) out.push(lo, a.hi);
  }
  return out;
}

IntervalSet IntervalSet::unite(const IntervalSet& o) const {
  IntervalSet out;
  auto a = intervals(), b = o.intervals();
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const Interval& next = (j == b.size() || (i < a.size() && a[i].lo <= b[j].lo)) ? a[i++] : b[j++];
    out.append(next.lo, next.hi);
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
  for (const auto& i : intervals()) {
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
