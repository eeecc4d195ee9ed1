#include "policy/analysis.h"

#include <QElapsedTimer>

#include "bulwark/policies/validator.h"
#include "bulwark/review/invariants.h"

namespace bulwark::console {

AnalysisPtr analysePolicy(const std::vector<policies::Source>& sources, quint64 generation) {
  QElapsedTimer t;
  t.start();
  auto a = std::make_shared<PolicyAnalysis>();
  auto loaded = policies::loadPolicy(sources);
  a->policy = std::move(loaded.policy);
  a->diagnostics = std::move(loaded.diagnostics);
  policies::validatePolicy(a->policy, a->diagnostics);
  // As `bulwarkctl validate` and the daemon: the invariants, against the compiled ruleset, once
  // everything else is valid (a breach is an error at the invariant, naming the rule).
  if (!a->diagnostics.hasErrors()) review::checkPolicyInvariants(a->policy, a->diagnostics);
  a->diagnostics.sort();
  a->index = std::make_unique<policies::PolicyIndex>(a->policy);
  a->matrix = policies::buildZoneMatrix(*a->index);
  a->generation = generation;
  a->millis = static_cast<double>(t.nsecsElapsed()) / 1e6;
  return a;
}

}  // namespace bulwark::console
