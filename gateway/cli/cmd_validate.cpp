#include <iostream>

#include "bulwark/policies/loader.h"
#include "bulwark/review/invariants.h"
#include "commands.h"
#include "output.h"

namespace bulwark::cli {

int runValidate(const std::string& path, const GlobalOptions& opts) {
  auto result = policies::loadAndValidate(path);
  const auto& p = result.policy;
  // Invariants are decided on the compiled ruleset, so only for a policy that compiles.
  if (!result.diagnostics.hasErrors() && !p.invariants.empty()) {
    review::checkPolicyInvariants(p, result.diagnostics);
    result.diagnostics.sort();
  }
  bool bad = failed(result.diagnostics, opts.werror);
  nlohmann::json counts = {{"files", p.files.size()},       {"segments", p.segments.size()},
                           {"hosts", p.hosts.size()},       {"services", p.services.size()},
                           {"zones", p.zones.size()},       {"rules", p.rules.size()},
                           {"dnat", p.dnat.size()},         {"snat", p.snat.size()},
                           {"vpn_groups", p.vpn ? p.vpn->groups.size() : 0},
                           {"expectations", p.expectations.size()},
                           {"invariants", p.invariants.size()}};
  if (opts.json) {
    nlohmann::json out = {{"ok", !bad},
                          {"path", path},
                          {"errors", result.diagnostics.errorCount()},
                          {"warnings", result.diagnostics.warningCount()},
                          {"diagnostics", diagnosticsJson(result.diagnostics)},
                          {"counts", counts}};
    std::cout << out.dump(2) << '\n';
    return bad ? kExitInvalid : kExitOk;
  }
  printDiagnostics(result.diagnostics);
  if (bad) {
    std::cerr << path << ": invalid: " << result.diagnostics.errorCount() << " error(s), "
              << result.diagnostics.warningCount() << " warning(s)"
              << (opts.werror && !result.diagnostics.hasErrors() ? " (warnings are errors: --werror)" : "")
              << '\n';
    return kExitInvalid;
  }
  std::cout << path << ": ok: " << p.segments.size() << " segments, " << p.hosts.size() << " hosts, "
            << p.services.size() << " services, " << p.rules.size() << " rules, "
            << (p.dnat.size() + p.snat.size()) << " NAT entries, "
            << (p.vpn ? p.vpn->groups.size() : 0) << " VPN groups, " << p.expectations.size()
            << " expectations";
  if (!p.invariants.empty()) std::cout << ", " << p.invariants.size() << " invariants (all hold)";
  std::cout << "; " << result.diagnostics.warningCount() << " warning(s)\n";
  return kExitOk;
}

}  // namespace bulwark::cli
