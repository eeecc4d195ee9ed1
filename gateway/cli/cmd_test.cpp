#include <iostream>

#include "bulwark/firewall/expectations.h"
#include "bulwark/review/invariants.h"
#include "compiled.h"
#include "output.h"

namespace bulwark::cli {

int runTest(const std::string& path, const GlobalOptions& opts) {
  auto c = loadCompiled(path, opts);
  if (!c) return kExitInvalid;
  const auto& policy = c->loaded.policy;
  auto results = firewall::checkExpectations(policy, c->compiled.ruleset, {}, c->compiled.pools);
  std::size_t failures = 0;
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : results) {
    const auto& e = *r.expectation;
    if (!r.passed) ++failures;
    std::string want(policies::actionName(e.verdict));
    if (opts.json) {
      nlohmann::json probes = nlohmann::json::array();
      for (const auto& p : r.probes) {
        probes.push_back({{"probe", p.label},
                          {"src", p.packet.src.str()},
                          {"dst", p.packet.dst.str()},
                          {"iif", p.packet.iif},
                          {"accepted", p.evaluation.accepted},
                          {"decided_by", p.evaluation.decidedBy.what},
                          {"rule_location", p.evaluation.decidedBy.where.str()}});
      }
      items.push_back({{"location", e.where.str()}, {"from", e.from.text}, {"to", e.to.text},
                       {"service", e.service.text}, {"expected", want}, {"passed", r.passed},
                       {"error", r.error}, {"probes", probes}});
      continue;
    }
    if (r.passed) continue;
    std::cerr << e.where.str() << ": error: expected " << e.from.text << " -> " << e.to.text << " "
              << e.service.text << " to be " << (want == "deny" ? "denied" : want + "ed");
    if (!r.error.empty()) std::cerr << ": " << r.error;
    std::cerr << '\n';
    for (const auto& p : r.probes) {
      const auto& ev = p.evaluation;
      std::cerr << "  " << p.label << " " << p.packet.src.str() << " -> " << p.packet.dst.str() << ": "
                << (ev.accepted ? "accepted" : "dropped") << " by " << ev.decidedBy.what;
      if (!ev.decidedBy.where.file.empty()) std::cerr << " (" << ev.decidedBy.where.str() << ")";
      std::cerr << '\n';
    }
  }
  auto invariants = review::checkInvariants(policy, c->compiled);
  std::size_t broken = 0;
  nlohmann::json invItems = nlohmann::json::array();
  for (const auto& r : invariants) {
    if (!r.holds()) ++broken;
    nlohmann::json breaches = nlohmann::json::array();
    for (const auto& b : r.breaches) {
      breaches.push_back({{"rule", b.rule.what},
                          {"rule_location", b.rule.where.str()},
                          {"flows", b.summary},
                          {"example", b.example.str()},
                          {"backend", b.backend}});
    }
    invItems.push_back({{"location", r.invariant->where.str()}, {"name", r.invariant->name},
                        {"statement", r.invariant->str()}, {"holds", r.holds()}, {"breaches", breaches}});
  }
  if (opts.json) {
    std::cout << nlohmann::json{{"ok", failures == 0 && broken == 0}, {"total", results.size()},
                                {"failed", failures}, {"expectations", items}, {"invariants", invItems}}
                     .dump(2)
              << '\n';
  } else {
    policies::Diagnostics diags;
    review::reportInvariants(invariants, diags);
    printDiagnostics(diags);
    std::cout << path << ": " << (results.size() - failures) << "/" << results.size()
              << " expectations hold" << (failures ? "" : " (checked offline against the compiled ruleset)")
              << '\n';
    if (!invariants.empty()) {
      std::cout << path << ": " << (invariants.size() - broken) << "/" << invariants.size()
                << " invariants hold (checked against every flow the compiled ruleset allows)\n";
    }
  }
  return failures || broken ? kExitInvalid : kExitOk;
}

}  // namespace bulwark::cli
