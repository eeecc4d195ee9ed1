#pragma once
// Sets of addresses and services in the policy's words, for people reading a review: a set of
// addresses becomes the segments, VPN groups, hosts, the gateway's own addresses, DNAT VIPs
// and "internet" it covers ("any", "app except web1"), and prefixes for what no name covers;
// a set of services becomes the policy's service names when they cover it exactly, and always
// its protocol/port list. Exact lists (prefixes, port ranges) are there for machines.
#include <string>
#include <vector>

#include "bulwark/policies/model.h"
#include "bulwark/review/flow_space.h"

namespace bulwark::review {

class Namer {
 public:
  // Names come from the first policy that has them (the new one, then the old one); "internet"
  // is what the first policy's segments and pools do not hold. The policies must outlive it.
  explicit Namer(std::vector<const policies::Policy*> policies);

  [[nodiscard]] std::vector<std::string> addresses(Family f, const IntervalSet& set) const;
  [[nodiscard]] std::string addressText(Family f, const IntervalSet& set, std::size_t maxItems = 8) const;
  // "nfs (tcp/2049, udp/2049, tcp/111, udp/111)", "tcp/8443", "all services".
  [[nodiscard]] std::string serviceText(const IntervalSet& svc, std::size_t maxItems = 8) const;

  // Exact, for machines.
  [[nodiscard]] static std::vector<std::string> prefixes(Family f, const IntervalSet& set);
  [[nodiscard]] static std::vector<std::string> serviceSpecs(const IntervalSet& svc);

 private:
  struct Named {
    std::string name;
    IntervalSet set;
  };
  struct PerFamily {
    IntervalSet internet;
    std::vector<Named> segments, pools, hosts, gateway, vips;
  };
  [[nodiscard]] const PerFamily& of(Family f) const { return f == Family::V4 ? v4_ : v6_; }
  [[nodiscard]] std::vector<std::string> exceptForm(Family f, const IntervalSet& set) const;

  PerFamily v4_, v6_;
  struct NamedService {
    std::string name;
    IntervalSet set;
    std::vector<std::string> specs;  // as the policy lists them
  };
  std::vector<NamedService> services_;
};

[[nodiscard]] std::string joinNames(const std::vector<std::string>& items, std::size_t maxItems);
[[nodiscard]] std::string protocolText(std::uint8_t proto);

}  // namespace bulwark::review
