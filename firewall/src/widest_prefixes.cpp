#include "widest_prefixes.h"

#include <algorithm>
#include <iterator>

namespace bulwark::firewall {

void WidestPrefixes::add(const policies::Prefix& p) {
  // Only the kept prefix starting last at or before p can contain it: any other one that
  // did would overlap that one.
  auto after = byFirst_.upper_bound(p.address());
  if (after != byFirst_.begin() && std::prev(after)->second.prefix.contains(p)) return;
  // Every kept prefix starting inside p lies inside p (none contains p, none overlaps another).
  auto first = byFirst_.lower_bound(p.address());
  auto last = byFirst_.upper_bound(p.last());
  byFirst_.erase(first, last);
  byFirst_.emplace(p.address(), Kept{p, next_++});
}

std::vector<policies::Prefix> WidestPrefixes::inOrder() const {
  std::vector<const Kept*> kept;
  kept.reserve(byFirst_.size());
  for (const auto& [first, k] : byFirst_) kept.push_back(&k);
  std::sort(kept.begin(), kept.end(), [](const Kept* a, const Kept* b) { return a->seq < b->seq; });
  std::vector<policies::Prefix> out;
  out.reserve(kept.size());
  for (const auto* k : kept) out.push_back(k->prefix);
  return out;
}

}  // namespace bulwark::firewall
