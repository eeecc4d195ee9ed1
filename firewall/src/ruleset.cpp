#include "bulwark/firewall/ruleset.h"

#include <algorithm>

namespace bulwark::firewall {

std::string Rule::comment() const {
  std::string c;
  if (origin.where.file.empty()) {
    c = "bulwark: " + origin.what;
  } else {
    auto file = origin.where.file;
    auto slash = file.find_last_of('/');
    if (slash != std::string::npos) file = file.substr(slash + 1);
    c = file + ":" + std::to_string(origin.where.line) + " " + origin.what;
  }
  if (c.size() > 127) c.resize(127);  // NFTNL_UDATA_COMMENT_MAXLEN is 128 with the NUL
  return c;
}

const Chain* Ruleset::findChain(std::string_view name) const {
  auto it = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return c.name == name; });
  return it == chains.end() ? nullptr : &*it;
}

const SetDef* Ruleset::findSet(std::string_view name) const {
  auto it = std::find_if(sets.begin(), sets.end(), [&](const SetDef& s) { return s.name == name; });
  return it == sets.end() ? nullptr : &*it;
}

}  // namespace bulwark::firewall
