// Writes a generated policy (bench/policy_textgen.h) to stdout, for the benchmarks that time
// whole bulwarkctl commands on a file (bench/run-compile-bench.sh):
//
//   policy_gen tiered|flat|wide FLOWS > policy.yaml
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "policy_textgen.h"

int main(int argc, char** argv) {
  bulwark::bench::RuleShape shape{};
  if (argc != 3 || !bulwark::bench::parseShape(argv[1], shape)) {
    std::fprintf(stderr, "usage: %s tiered|flat|wide FLOWS > policy.yaml\n", argv[0]);
    return 2;
  }
  try {
    auto gen = bulwark::bench::generatePolicyText({shape, std::strtoul(argv[2], nullptr, 10)});
    return std::fwrite(gen.text.data(), 1, gen.text.size(), stdout) == gen.text.size() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 2;
  }
}
