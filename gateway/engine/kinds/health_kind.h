#pragma once
// The health checks as a resource kind (last: it probes what the applied policy names):
// desired(policy) = the targets the policy's checks name; observe = the targets the checks
// probe now; apply = configure them (bulwarkd's DnatHealth, which runs the health engine).
// A rollback or a policy without checks reconfigures the checks like any other kind.
#include <vector>

#include "bulwark/health/target.h"
#include "resource_kind.h"

namespace bulwark::engine {

// What the kind needs of the running checks (implemented by bulwarkd's DnatHealth).
class HealthChecks {
 public:
  virtual ~HealthChecks() = default;
  [[nodiscard]] virtual std::vector<health::Target> probed() const = 0;  // what is probed now
  virtual void configure(std::vector<health::Target> targets) = 0;
};

[[nodiscard]] ResourceKindPtr makeHealthKind(HealthChecks& checks);

}  // namespace bulwark::engine
