#include "compiled.h"

#include <iostream>

#include "output.h"

namespace bulwark::cli {

bool policyPathExists(const std::string& path) {
  auto listed = policies::listPolicyFiles(path);
  if (listed.error.empty()) return true;
  std::cerr << listed.error << '\n';
  return false;
}

std::optional<Compiled> loadCompiled(const std::string& path, const GlobalOptions& opts) {
  Compiled c{policies::loadAndValidate(path), {}};
  if (failed(c.loaded.diagnostics, opts.werror)) {
    printDiagnostics(c.loaded.diagnostics);
    std::cerr << path << ": invalid policy\n";
    return std::nullopt;
  }
  c.compiled = firewall::compile(c.loaded.policy);
  if (!c.compiled.ok()) {
    printDiagnostics(c.compiled.diagnostics);
    return std::nullopt;
  }
  return c;
}

}  // namespace bulwark::cli
