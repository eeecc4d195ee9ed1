#pragma once
// A change in policy terms: which segments, hosts, services, zones, rules, NAT entries, VPN
// groups, expectations, invariants -- any section, also ones added to the language later --
// were added, removed, changed (and how, field by field) or, for rules, moved, each with the
// file:line where it is (or was). Compared on the YAML documents, not their text: formatting,
// comments, key order and `x` vs `[x]` do not count.
//
// Generic over the sections: a top-level list is a section of items (matched by `name` when
// they have one, by content otherwise); a top-level mapping is an object whose fields are
// compared, and whose lists of named mappings are sections of their own (nat.dnat, vpn.groups).
// Only the order of `rules` matters (first match wins).
#include <string>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/loader.h"

namespace bulwark::review {

enum class ChangeKind : std::uint8_t { Added, Removed, Changed, Moved };
[[nodiscard]] std::string_view changeKindName(ChangeKind k);

struct PolicyChange {
  ChangeKind kind = ChangeKind::Changed;
  std::string section;  // "rules", "nat.dnat", "gateway"
  std::string what;     // "rule", "DNAT entry", "gateway"
  std::string name;     // the item's name, or its content for unnamed items
  policies::Location where;  // in the new policy; in the old one for Removed
  std::vector<std::string> details;  // "to: [web1, web2] → [web1, web2, web3]", "services: +nfs"
};

// Files that do not parse are left out (the policy's own checks report them).
[[nodiscard]] std::vector<PolicyChange> policyChanges(const std::vector<policies::Source>& before,
                                                      const std::vector<policies::Source>& after);

}  // namespace bulwark::review
