#include "output.h"

#include <iostream>

namespace bulwark::cli {

void printDiagnostics(const policies::Diagnostics& diags) {
  for (const auto& d : diags.items()) {
    std::cerr << d.str() << '\n';
  }
}

nlohmann::json diagnosticsJson(const policies::Diagnostics& diags) {
  auto out = nlohmann::json::array();
  for (const auto& d : diags.items()) {
    nlohmann::json j = {{"severity", d.severity == policies::Severity::Error ? "error" : "warning"},
                        {"file", d.where.file},
                        {"line", d.where.line},
                        {"col", d.where.col},
                        {"message", d.message}};
    if (!d.hint.empty()) {
      j["hint"] = d.hint;
    }
    out.push_back(std::move(j));
  }
  return out;
}

bool failed(const policies::Diagnostics& diags, bool werror) {
  return diags.hasErrors() || (werror && diags.warningCount() > 0);
}

}  // namespace bulwark::cli
