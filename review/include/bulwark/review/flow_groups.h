#pragma once
// The changed flows of a review as people read them: grouped by what happened (newly allowed,
// newly denied, sent elsewhere by DNAT) and by the rules that decide now and decided before,
// each group a few lines "web1, web2 → nas1 nfs (tcp/2049, ...)" with the exact prefixes and
// ports beside the names.
#include <string>
#include <vector>

#include "bulwark/firewall/ruleset.h"
#include "bulwark/review/flow_diff.h"
#include "bulwark/review/naming.h"

namespace bulwark::review {

enum class FlowChangeKind : std::uint8_t { Allowed, Denied, Redirected };
[[nodiscard]] std::string_view flowChangeKindName(FlowChangeKind k);  // "newly allowed" ...

struct FlowLine {
  std::string from, to, services;  // in the policy's words
  std::vector<std::string> fromExact, toExact, servicesExact;
  std::vector<Family> families;
  std::string pathNote;  // "" (both IPsec paths), "kernel IPsec only", "libipsec only"
};

struct FlowGroup {
  FlowChangeKind kind = FlowChangeKind::Allowed;
  firewall::Origin now, was;  // the deciding rule after and before the change
  std::string nowText, wasText;
  std::string dnatBefore, dnatAfter;  // where DNAT sends these flows, when it does
  std::vector<FlowLine> lines;
  std::size_t moreLines = 0;  // lines left out by capReview (review.h)
};

[[nodiscard]] std::vector<FlowGroup> groupFlowChanges(const std::vector<FlowChange>& changes, const Namer& names);

// "app-to-nas at campus.yaml:106", "VPN group netops, access #1 at campus.yaml:150",
// "no rule (default drop of app → storage)", "not via the gateway (switched within db)".
[[nodiscard]] std::string describeOrigin(const firewall::Origin& o);
// "campus.yaml:106" (file:line), "" for built-ins.
[[nodiscard]] std::string originPlace(const firewall::Origin& o);

// Disjoint cubes → fewer cubes: those equal in two dimensions are united in the third.
[[nodiscard]] std::vector<FlowCube> mergeCubes(std::vector<FlowCube> cubes);

}  // namespace bulwark::review
