// libFuzzer target for reading a policy, as `bulwarkctl validate` and `show` do: the loader,
// the validator, every diagnostic rendered, and the zone matrix of a policy without errors.
// Any input must not crash, hang, leak or trip a sanitizer, whatever the bytes.
//
// The formatter's contract has its own target (fuzz_policy_formatter.cpp): formatting costs
// more than loading, and running both on every input halved this target's executions per
// second for no coverage of the loader it would not get anyway.
//
// Build: cmake --preset fuzz && cmake --build --preset fuzz -j2
// Run:   tests/fuzz/run-fuzzer.sh policy_loader 60
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/policies/loader.h"
#include "bulwark/policies/matrix.h"
#include "bulwark/policies/resolve.h"
#include "bulwark/policies/validator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bulwark::policies;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto loaded = loadPolicyText(text, "fuzz.yaml");
  validatePolicy(loaded.policy, loaded.diagnostics);
  loaded.diagnostics.sort();
  for (const auto& d : loaded.diagnostics.items()) (void)d.str();
  // `bulwarkctl show` goes on to the zone matrix for policies without errors.
  if (!loaded.diagnostics.hasErrors()) {
    PolicyIndex index(loaded.policy);
    (void)buildZoneMatrix(index);
  }
  return 0;
}
