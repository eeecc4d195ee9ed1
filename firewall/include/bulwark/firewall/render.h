#pragma once
// Ruleset IR → nft syntax, as `nft -f` accepts it and `nft list table` prints it (close
// enough to diff by eye). Used by `plan`, by humans, and by the `nft -c` test.
#include <string>

#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

// "table inet bulwark { ... }"
[[nodiscard]] std::string renderTable(const Ruleset& rs);
// A file for `nft -f`: creates the table if missing, deletes it, and defines it again, in
// one transaction (the same thing the programmer does over netlink).
[[nodiscard]] std::string renderReplaceScript(const Ruleset& rs);

// Pieces, for plans and messages.
[[nodiscard]] std::string renderRule(const Rule& r);
[[nodiscard]] std::string renderSetElement(const SetDef& set, const SetElement& e);
[[nodiscard]] std::string renderSetHeader(const SetDef& set);  // "set x { type ...; flags ...; }"
[[nodiscard]] std::string renderChainHeader(const Chain& c);

}  // namespace bulwark::firewall
