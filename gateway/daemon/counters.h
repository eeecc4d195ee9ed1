#pragma once
// What the `counters` op, the metrics and the drop summaries report: the firewall's counter
// totals (firewall/counters.h: per policy rule and per zone pair, from one counters-only rule
// dump) plus the conntrack table's use and the dump's time.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/firewall/counters.h"
#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

using firewall::PairTotal;
using firewall::RuleTotal;

struct ConntrackUsage {
  long entries = -1;  // -1: not readable (conntrack module not loaded in this netns)
  long limit = -1;
};

struct CounterReport {
  std::vector<RuleTotal> rules;  // sorted by (rule, origin)
  std::vector<PairTotal> pairs;  // sorted by (from, to)
  ConntrackUsage conntrack;
  bool tablePresent = false;
  double dumpMillis = 0;  // time of the kernel dump
};

// nf_conntrack_count / nf_conntrack_max of the daemon's network namespace.
[[nodiscard]] ConntrackUsage readConntrack();

// Dumps, sums and reads conntrack. An error: the kernel refused the dump.
[[nodiscard]] gateway::Result<CounterReport> collectCounters();

// The `counters` reply body (format in protocol.h).
[[nodiscard]] nlohmann::json countersJson(const CounterReport& r);

}  // namespace bulwark::daemon
