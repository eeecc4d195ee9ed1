#include "bulwark/policies/matrix.h"

#include <algorithm>

namespace bulwark::policies {

ZoneMatrix buildZoneMatrix(const PolicyIndex& index) {
  ZoneMatrix m;
  m.zones = index.zones();
  for (const auto& fr : flowRules(index.policy())) {
    std::vector<Atom> from, to;
    auto gather = [&](const std::vector<Endpoint>& eps, std::vector<Atom>& atoms) {
      for (const auto& e : eps) {
        if (auto r = index.endpoint(e)) {
          atoms.insert(atoms.end(), r->atoms.begin(), r->atoms.end());
        }
      }
    };
    gather(fr.from, from);
    gather(fr.to, to);
    for (const auto& f : from) {
      for (const auto& t : to) {
        auto& cell = m.cells[{f.zone, t.zone}];
        bool partial = f.prefix.has_value() || t.prefix.has_value();
        for (const auto& s : fr.services) {
          bool seen = std::any_of(cell.begin(), cell.end(), [&](const MatrixEntry& e) {
            return e.service == s.text && e.rule == fr.name;
          });
          if (!seen) cell.push_back({s.text, fr.name, partial, fr.action});
        }
      }
    }
  }
  return m;
}

}  // namespace bulwark::policies
