// Link reconciler benchmark, inside a private network namespace (unshare at start; root).
//
//   vlan_bench vlan [N=200] [ROUNDS=50]   N VLAN segments on a veth trunk: reconcile from
//                                         nothing, then the no-op reconcile. Needs 802.1Q:
//                                         run under tests/kernel/run-in-kernel.sh.
//   vlan_bench plain [N=200] [ROUNDS=50]  N plain-interface segments on veths (this kernel).
//
// "reconcile" = planLinks (observe: one dump per kind + diff) + applyLinks (which re-observes
// as its optimistic lock, then one acked message per op). The no-op reconcile is planLinks
// returning zero ops (applyLinks of an empty plan does nothing).
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bulwark/policies/loader.h"
#include "bulwark/vlan/reconcile.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::string subnet(int i) { return "10." + std::to_string(100 + i / 250) + "." + std::to_string(i % 250); }

std::string policyText(bool vlan, int n) {
  std::string t = std::string("gateway: { name: bench, uplink: up0") + (vlan ? ", trunk: tr" : "") + " }\nsegments:\n";
  for (int i = 0; i < n; ++i) {
    t += "  - name: s" + std::to_string(i) + "\n";
    t += vlan ? "    vlan: " + std::to_string(100 + i) + "\n" : "    interface: pv" + std::to_string(i) + "\n";
    t += "    ipv4: { subnet: " + subnet(i) + ".0/24, gateway: " + subnet(i) + ".1 }\n";
  }
  return t;
}

// planLinks of `policy`, its wall time in `took` (ms); a failure is printed.
bulwark::vlan::Result<bulwark::vlan::Plan> timedPlan(const bulwark::policies::Policy& policy, double& took) {
  const auto t0 = Clock::now();
  auto plan = bulwark::vlan::planLinks(policy);
  took = ms(Clock::now() - t0);
  if (!plan) std::fprintf(stderr, "plan: %s\n", plan.error().message.c_str());
  return plan;
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }  // NOLINT(cert-env33-c)

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const int n = argc > 2 ? std::atoi(argv[2]) : 200;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 50;
  if ((mode != "vlan" && mode != "plain") || n <= 0 || n > 1000 || rounds <= 0) {
    std::fprintf(stderr, "usage: vlan_bench vlan|plain [N=200] [ROUNDS=50]\n");
    return 2;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (needs root)");
    return 1;
  }
  const bool vlan = mode == "vlan";
  sh("ip link set lo up");
  if (vlan) {
    if (sh("ip link add tr type veth peer name tr-p && ip link set tr up && ip link set tr-p up") != 0) {
      return 1;
    }
  } else {
    FILE* batch = popen("ip -batch -", "w");
    for (int i = 0; i < n; ++i) {
      std::fprintf(batch, "link add pv%d type veth peer name pv%d-p\n", i, i);
    }
    if (batch == nullptr || pclose(batch) != 0) {
      std::fprintf(stderr, "cannot create %d veth pairs\n", n);
      return 1;
    }
  }
  auto loaded = bulwark::policies::loadPolicyText(policyText(vlan, n), "bench.yaml");
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.diagnostics.items()[0].str().c_str());
    return 1;
  }
  const auto& policy = loaded.policy;

  // From nothing.
  double planMs = 0;
  auto plan = timedPlan(policy, planMs);
  if (!plan) return 1;
  const auto t1 = Clock::now();
  auto done = bulwark::vlan::applyLinks(*plan);
  const auto t2 = Clock::now();
  if (!done) {
    std::fprintf(stderr, "apply: %s\n", done.error().message.c_str());
    return 1;
  }
  std::printf("mode=%s segments=%d\n", mode.c_str(), n);
  std::printf("from nothing: plan %.1f ms (%d dumps, %zu links observed), apply %.1f ms (%zu ops, %zu netlink "
              "messages, %zu sysctl writes), total %.1f ms\n",
              planMs, plan->observed.dumps, plan->observed.links.size(), ms(t2 - t1), done->ops,
              done->messages, done->sysctls, planMs + ms(t2 - t1));

  // No-op reconcile.
  std::vector<double> noop;
  std::vector<double> observeOnly;
  int dumps = 0;
  std::size_t opsLeft = 0;
  for (int r = 0; r < rounds; ++r) {
    double took = 0;
    auto again = timedPlan(policy, took);
    if (!again) return 1;
    opsLeft += again->ops.size();
    dumps = again->observed.dumps;
    noop.push_back(took);
    const auto c = Clock::now();
    auto st = bulwark::vlan::observe();
    observeOnly.push_back(ms(Clock::now() - c));
    if (!st) {
      return 1;
    }
  }
  std::printf("no-op reconcile (%d rounds): median %.2f ms, p90 %.2f ms, max %.2f ms; %d dump round trips, %zu "
              "ops; observe alone median %.2f ms\n",
              rounds, median(noop), pct(noop, 0.9), pct(noop, 1.0), dumps, opsLeft, median(observeOnly));
  return opsLeft == 0 ? 0 : 1;
}
