#include "output.h"

#include <algorithm>
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

void printRevocation(const nlohmann::json& r) {
  if (!r.is_object()) return;
  const bool plan = r.value("dry_run", false);
  const auto toCut = r.value("to_cut", std::size_t{0});
  const auto ms = r.value("dump_ms", 0.0) + r.value("judge_ms", 0.0) + r.value("delete_ms", 0.0);
  std::cout << "connections: ";
  if (r.value("widens_only", false)) {
    std::cout << (plan ? "the change cuts none" : "none cut")
              << ": it only widens what the policy allows (the connection table was not read)\n";
    return;
  }
  if (plan) {
    std::cout << "the change cuts " << toCut << " live connection(s)";
  } else {
    std::cout << "cut " << r.value("cut", std::size_t{0}) << " established connection(s) the new policy no "
              << "longer allows";
  }
  const auto entries = r.value("entries", std::size_t{0});
  const auto untouched = r.value("untouched", std::size_t{0});
  std::cout << " (" << entries - std::min(untouched, entries) << " judged in " << static_cast<int>(ms * 10) / 10.0
            << " ms";
  if (untouched > 0) std::cout << "; " << untouched << " of " << entries << " outside the changed elements";
  if (r.value("spared", std::size_t{0}) > 0) std::cout << "; your own session kept";
  if (r.value("truncated", false)) std::cout << "; the table had " << r.value("seen", std::size_t{0}) << ": the rest not judged";
  if (r.value("failed", std::size_t{0}) > 0) {
    std::cout << "; " << r.value("failed", std::size_t{0}) << " delete(s) failed: " << r.value("error", std::string());
  }
  std::cout << ")\n";
  const auto flows = r.value("flows", nlohmann::json::array());
  for (const auto& f : flows) std::cout << "  " << f.get<std::string>() << '\n';
  if (toCut > flows.size()) std::cout << "  ... and " << toCut - flows.size() << " more\n";
}

void printPlanReview(const nlohmann::json& review) {
  if (!review.is_object()) return;
  if (review.value("known", false)) {
    std::cout << review.value("text", std::string());
  } else {
    std::cout << "Policy change: " << review.value("reason", std::string("the applied policy is unknown"))
              << "; the kernel plan only\n";
  }
  std::cout << "\nIn the kernel:\n";
}

}  // namespace bulwark::cli
