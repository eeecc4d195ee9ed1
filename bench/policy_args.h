#pragma once
// The command line of a benchmark that runs on one policy file:
//   <bench> [--policy FILE] [--<count> N]
// with the policy loaded and validated before anything is measured. Shared by dnat_bench
// (--reps) and health_bench (--seconds).
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bulwark/policies/loader.h"

namespace bulwark::bench {

struct PolicyArgs {
  std::string policy = "policies/examples/campus.yaml";
  int count = 0;  // the value of --<count>, at least 1
  policies::LoadResult loaded;
};

// argv parsed (`count` is the default of --<count>) and the policy loaded. `die(text)` does
// not return: called with `usage` for an argument this does not know, with "<file> does not
// validate" for a policy with errors.
template <typename Die>
PolicyArgs policyArgs(int argc, char** argv, std::string_view countFlag, int count, const std::string& usage,
                      Die die) {
  PolicyArgs out;
  out.count = count;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--policy" && i + 1 < argc) out.policy = argv[++i];
    else if (a == countFlag && i + 1 < argc) out.count = std::max(1, std::atoi(argv[++i]));
    else die(usage);
  }
  out.loaded = policies::loadAndValidate(out.policy);
  if (!out.loaded.ok()) die(out.policy + " does not validate");
  return out;
}

}  // namespace bulwark::bench
