#include <iostream>

#include "bulwark/firewall/expectations.h"
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
              << e.service.text << " to be " << want << "ed";
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
  if (opts.json) {
    std::cout << nlohmann::json{{"ok", failures == 0}, {"total", results.size()}, {"failed", failures},
                                {"expectations", items}}
                     .dump(2)
              << '\n';
  } else {
    std::cout << path << ": " << (results.size() - failures) << "/" << results.size()
              << " expectations hold" << (failures ? "" : " (checked offline against the compiled ruleset)")
              << '\n';
  }
  return failures ? kExitInvalid : kExitOk;
}

}  // namespace bulwark::cli
