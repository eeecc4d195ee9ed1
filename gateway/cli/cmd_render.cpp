#include <iostream>

#include "bulwark/firewall/render.h"
#include "compiled.h"

namespace bulwark::cli {

int runRender(const std::string& path, const GlobalOptions& opts) {
  auto c = loadCompiled(path, opts);
  if (!c) return kExitInvalid;
  // A script for `nft -f`: replaces Bulwark's table in one transaction, nothing else.
  std::cout << firewall::renderReplaceScript(c->compiled.ruleset);
  return kExitOk;
}

}  // namespace bulwark::cli
