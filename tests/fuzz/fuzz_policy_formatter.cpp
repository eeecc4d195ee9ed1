// libFuzzer target for the canonical formatter (`bulwarkctl fmt`). Any input must not crash,
// hang, leak or trip a sanitizer. When formatPolicyText accepts the input, its output is held
// to the formatter's contract, and a breach is a bug (abort):
//   - the formatted text loads to a policy with the same shape (as many segments, hosts,
//     services, zones, rules, NAT entries, VPN groups, invariants and expectations as the
//     input, and each invariant the same statement);
//   - formatting is idempotent: formatting the formatted text gives the same text.
//
// Build: cmake --preset fuzz && cmake --build --preset fuzz -j2
// Run:   tests/fuzz/run-fuzzer.sh policy_formatter 60
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bulwark/policies/formatter.h"
#include "bulwark/policies/loader.h"

namespace {

using namespace bulwark::policies;

struct Shape {
  std::size_t segments = 0, hosts = 0, services = 0, zones = 0, rules = 0, dnat = 0, snat = 0,
              expectations = 0, vpnGroups = 0, invariants = 0;
  std::string statements;  // every invariant's str(): the formatter must keep never/only apart
  bool gateway = false, vpn = false;

  static Shape of(const Policy& p) {
    Shape s;
    s.segments = p.segments.size();
    s.hosts = p.hosts.size();
    s.services = p.services.size();
    s.zones = p.zones.size();
    s.rules = p.rules.size();
    s.dnat = p.dnat.size();
    s.snat = p.snat.size();
    s.expectations = p.expectations.size();
    s.invariants = p.invariants.size();
    for (const auto& inv : p.invariants) s.statements += inv.str() + "\n";
    s.gateway = p.gateway.has_value();
    s.vpn = p.vpn.has_value();
    s.vpnGroups = p.vpn ? p.vpn->groups.size() : 0;
    return s;
  }
  [[nodiscard]] std::string str() const {
    return "segments=" + std::to_string(segments) + " hosts=" + std::to_string(hosts) +
           " services=" + std::to_string(services) + " zones=" + std::to_string(zones) +
           " rules=" + std::to_string(rules) + " dnat=" + std::to_string(dnat) +
           " snat=" + std::to_string(snat) + " expect=" + std::to_string(expectations) +
           " gateway=" + std::to_string(gateway) + " vpn=" + std::to_string(vpn) +
           " vpn.groups=" + std::to_string(vpnGroups) + " invariants=" + std::to_string(invariants) +
           "\n" + statements;
  }
  friend bool operator==(const Shape&, const Shape&) = default;
};

void printDiagnostics(const char* what, const Diagnostics& d) {
  std::fprintf(stderr, "--- diagnostics of %s (%zu) ---\n", what, d.items().size());
  for (const auto& item : d.items()) std::fprintf(stderr, "%s\n", item.str().c_str());
}

[[noreturn]] void fail(const std::string& why, std::string_view input, const std::string& formatted,
                       const std::string& again) {
  std::fprintf(stderr, "\n=== fuzz_policy_formatter: %s ===\n", why.c_str());
  std::fprintf(stderr, "--- input (%zu bytes) ---\n%.*s\n", input.size(),
               static_cast<int>(input.size()), input.data());
  std::fprintf(stderr, "--- formatted once ---\n%s\n", formatted.c_str());
  if (!again.empty()) std::fprintf(stderr, "--- formatted twice ---\n%s\n", again.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // When the formatter accepts the input, check its output.
  auto formatted = formatPolicyText(text, "fuzz.yaml");
  if (!formatted.ok()) return 0;

  auto loaded = loadPolicyText(text, "fuzz.yaml");
  auto reloaded = loadPolicyText(formatted.text, "fuzz.fmt.yaml");
  auto before = Shape::of(loaded.policy);
  auto after = Shape::of(reloaded.policy);
  if (!(before == after)) {
    printDiagnostics("the formatted text", reloaded.diagnostics);
    fail("formatting changed the policy: input " + before.str() + ", formatted " + after.str(), text,
         formatted.text, {});
  }

  auto twice = formatPolicyText(formatted.text, "fuzz.fmt.yaml");
  if (!twice.ok()) {
    printDiagnostics("the formatted text", twice.diagnostics);
    fail("the formatter rejects its own output", text, formatted.text, {});
  }
  if (twice.text != formatted.text) {
    fail("formatting is not idempotent", text, formatted.text, twice.text);
  }
  return 0;
}
