#pragma once
// The zone-to-zone view of a policy: which services each zone may open to each other zone.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/policies/resolve.h"

namespace bulwark::policies {

struct MatrixEntry {
  std::string service;   // service name or literal as written
  std::string rule;      // rule name (or "vpn:<group>")
  bool partial = false;  // only some hosts/addresses of the zones
  Action action = Action::Allow;
};

struct ZoneMatrix {
  std::vector<std::string> zones;
  // (from, to) → entries in rule order
  std::map<std::pair<std::string, std::string>, std::vector<MatrixEntry>> cells;
};

[[nodiscard]] ZoneMatrix buildZoneMatrix(const PolicyIndex& index);

}  // namespace bulwark::policies
