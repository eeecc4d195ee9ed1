#pragma once
// Random policies and random flows for the review's property tests: small sites with IPv4 and
// dual-stack segments, hosts, zones, VPN groups, services with ranges and port-less protocols,
// rules of every action and endpoint kind (names, literals, any, internet), DNAT with and
// without port translation. The text goes through the loader and the validator like a user's.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bulwark/policies/model.h"
#include "bulwark/review/flow_space.h"

namespace bulwark::review::testing {

struct RandomPolicy {
  std::string text;
};

class PolicyGen {
 public:
  explicit PolicyGen(std::uint64_t seed) : rng_(seed) {}
  [[nodiscard]] std::string policy();
  // A variation of `text`'s policy: the same site, with rules, DNAT or access changed.
  [[nodiscard]] std::string mutate();

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }
  std::string endpoint(bool asDestination);
  std::string services();
  std::string rule(int i);
  std::string render();

  std::mt19937_64 rng_;
  // The site (fixed per generator once policy() ran), and the parts mutate() varies.
  int segments_ = 0;
  std::vector<bool> dual_;
  std::vector<int> hostsPer_;
  std::vector<bool> hostV6_;  // per host index (segment * 8 + h)
  bool zone_ = false;
  int groups_ = 0;
  std::vector<std::string> rules_;
  std::vector<std::string> access_;
  std::vector<std::string> dnat_;
};

// Interesting addresses of the family for `policy`: hosts, gateways, subnet edges, pools,
// VIPs, internet samples, random ones.
[[nodiscard]] std::vector<IpAddress> sampleAddresses(const policies::Policy& policy, Family f, std::mt19937_64& rng,
                                                     std::size_t randomExtra);
// Services: protocols with and without ports, the policy's ports and their neighbours.
[[nodiscard]] std::vector<std::pair<std::uint8_t, std::uint16_t>> sampleServices(const policies::Policy& policy,
                                                                                std::mt19937_64& rng);

}  // namespace bulwark::review::testing
