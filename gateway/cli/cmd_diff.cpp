// bulwarkctl diff [OLD] [NEW]: a policy change in policy terms and its exact effect on flows.
#include <iostream>

#include "commands.h"
#include "output.h"
#include "policy_sides.h"

namespace bulwark::cli {

int runDiff(const DiffArgs& args, const GlobalOptions& opts) {
  // Default: HEAD against the working tree; one argument: that against the working tree.
  const std::string oldSpec = args.oldSide.empty() ? "HEAD" : args.oldSide;
  auto before = readSide(args.policy, oldSpec);
  auto after = args.newSide.empty() ? readWorkingTree(args.policy) : readSide(args.policy, args.newSide);
  for (const auto* side : {&before, &after}) {
    if (!side->ok()) {
      std::cerr << side->error << '\n';
      return kExitDiffError;
    }
  }
  auto result = review::reviewChange(before.input, after.input, opts.werror);
  if (!result.review) {
    printDiagnostics(result.diagnostics);
    std::cerr << "diff: the policy does not load on one side (" << before.input.label << " → "
              << after.input.label << ")\n";
    return kExitDiffError;
  }
  if (!opts.json && !args.markdown) printDiagnostics(result.diagnostics);  // warnings
  const auto& r = *result.review;
  if (opts.json) {
    std::cout << review::reviewJson(r);
  } else if (args.markdown) {
    std::cout << review::reviewMarkdown(r);
  } else {
    std::cout << review::reviewText(r);
  }
  return r.changed() ? kExitDiffChanges : kExitOk;
}

}  // namespace bulwark::cli
