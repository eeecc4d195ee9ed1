#include "atom_index.h"

namespace bulwark::policies::detail {

void AtomIndex::add(std::size_t rule, const std::vector<Atom>& atoms) {
  for (const auto& a : atoms) {
    auto& z = zones_[a.zone];
    if (!a.prefix) {
      push(z.whole, rule);
      continue;
    }
    push(z.byPrefix[*a.prefix], rule);
    z.lengths.set(static_cast<std::size_t>(a.prefix->length()));
  }
}

void AtomIndex::appendCovering(const Atom& a, std::vector<std::size_t>& out) const {
  auto it = zones_.find(a.zone);
  if (it == zones_.end()) return;
  const Zone& z = it->second;
  out.insert(out.end(), z.whole.begin(), z.whole.end());
  if (!a.prefix) return;  // only a whole-zone atom covers the whole zone
  // The prefixes that contain a.prefix are its own address cut to each shorter length.
  for (int len = 0; len <= a.prefix->length(); ++len) {
    if (!z.lengths.test(static_cast<std::size_t>(len))) continue;
    auto hit = z.byPrefix.find(Prefix(a.prefix->address(), len));
    if (hit != z.byPrefix.end()) out.insert(out.end(), hit->second.begin(), hit->second.end());
  }
}

}  // namespace bulwark::policies::detail
