#pragma once
// Policy tests: each `expect:` assertion becomes concrete packets (a representative
// address for each endpoint, each port of the service) run through the evaluator.
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/evaluator.h"
#include "bulwark/policies/model.h"

namespace bulwark::firewall {

inline constexpr const char* kInternetProbeV4 = "198.51.100.7";   // TEST-NET-2
inline constexpr const char* kInternetProbeV6 = "2001:db8:ffff::7";

// A concrete place for an endpoint: an address, and (as a source) how it arrives.
struct Placement {
  IpAddress address;
  std::string iif;
  bool viaIpsec = false;
};

// How VPN sources arrive: through kernel XFRM on the uplink, or on charon's libipsec TUN.
enum class IpsecPath { Kernel, Libipsec };

// nullopt when the endpoint names nothing in the policy. `family` is preferred, not forced.
[[nodiscard]] std::optional<Placement> placeEndpoint(const policies::Policy& policy, const RouteTable& routes,
                                                     const std::string& text, policies::Family family,
                                                     IpsecPath path, const CompileOptions& options);

struct ProbeResult {
  std::string label;  // "tcp/443 (kernel IPsec)"
  Packet packet;
  Evaluation evaluation;
};

struct ExpectationResult {
  const policies::Expectation* expectation = nullptr;  // not owned
  bool passed = false;
  std::string error;  // when the assertion could not be turned into packets
  std::vector<ProbeResult> probes;
};

// `pools` (CompileResult::pools): a probe DNATed through a pool's map is checked once per
// backend (labelled "tcp/443 via lb2"): the expectation must hold whichever is healthy.
[[nodiscard]] std::vector<ExpectationResult> checkExpectations(const policies::Policy& policy, const Ruleset& rs,
                                                               const CompileOptions& options = {},
                                                               const std::vector<DnatPool>& pools = {});

}  // namespace bulwark::firewall
