// Peak memory of loading + validating the generated 10,000-flow policy, run once
// (docs/performance.md, "Policy loading"). ru_maxrss is the process's peak, so each mode
// is its own process run:
//
//   policy_load_rss MODE [tiered|flat] [FLOWS]
//     MODE = bulwark   loadPolicyText + validatePolicy (what `bulwarkctl validate` does)
//            yaml-cpp  YAML::Load of the same text (the floor)
//            none      generate the text only (the baseline every mode starts from)
//
// Prints one line: the text size, ru_maxrss after generating the text, ru_maxrss after
// the operation, the difference, and the wall time of the operation.
#include <sys/resource.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"
#include "policy_textgen.h"

namespace {

double maxRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "bulwark";
  std::string shapeArg = argc > 2 ? argv[2] : "tiered";
  std::size_t flows = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 10000;
  if ((mode != "bulwark" && mode != "yaml-cpp" && mode != "none") ||
      (shapeArg != "tiered" && shapeArg != "flat")) {
    std::fprintf(stderr, "usage: %s bulwark|yaml-cpp|none [tiered|flat] [FLOWS]\n", argv[0]);
    return 2;
  }
  auto shape = shapeArg == "tiered" ? bulwark::bench::RuleShape::Tiered : bulwark::bench::RuleShape::Flat;
  auto gen = bulwark::bench::generatePolicyText({shape, flows});
  double before = maxRssMiB();

  auto t0 = std::chrono::steady_clock::now();
  std::size_t diagnostics = 0, rules = 0;
  if (mode == "bulwark") {
    auto r = bulwark::policies::loadPolicyText(gen.text, "generated.yaml");
    bulwark::policies::validatePolicy(r.policy, r.diagnostics);
    diagnostics = r.diagnostics.items().size();
    rules = r.policy.rules.size();
  } else if (mode == "yaml-cpp") {
    auto root = YAML::Load(gen.text);
    rules = root["rules"].size();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double after = maxRssMiB();

  std::printf("%-8s %-6s flows=%zu rules=%zu text=%.0f KiB  maxrss: %.1f MiB after generating, "
              "%.1f MiB after %s (+%.1f MiB), %.3f s, %zu diagnostics\n",
              mode.c_str(), shapeArg.c_str(), gen.flows, rules,
              static_cast<double>(gen.text.size()) / 1024.0, before, after,
              mode == "bulwark" ? "load+validate" : mode == "yaml-cpp" ? "YAML::Load" : "nothing",
              after - before, seconds, diagnostics);
  return diagnostics == 0 ? 0 : 1;
}
