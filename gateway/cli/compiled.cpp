#include "compiled.h"

#include <iostream>

#include "output.h"

namespace bulwark::cli {

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
