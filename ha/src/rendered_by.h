#pragma once
// The line every configuration file bulwarkd renders for an HA node opens with: which file,
// for which node of the pair, and where it comes from.
#include <string>
#include <string_view>

#include "bulwark/ha/node_view.h"

namespace bulwark::ha {

inline std::string renderedBy(std::string_view file, const NodeView& v) {
  return "# " + std::string(file) + " of node " + v.node + " (peer " + v.peer +
         "), rendered by bulwarkd from the policy's ha: section.\n";
}

}  // namespace bulwark::ha
