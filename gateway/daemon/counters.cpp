#include "counters.h"

#include <chrono>
#include <fstream>

#include "counter_json.h"

namespace bulwark::daemon {

namespace {

long readLong(const char* path) {
  std::ifstream in(path);
  long v = -1;
  if (!(in >> v)) return -1;
  return v;
}

}  // namespace

ConntrackUsage readConntrack() {
  return {readLong("/proc/sys/net/netfilter/nf_conntrack_count"), readLong("/proc/sys/net/netfilter/nf_conntrack_max")};
}

gateway::Result<CounterReport> collectCounters() {
  auto start = std::chrono::steady_clock::now();
  auto totals = firewall::counterTotals();
  if (!totals) return gateway::Error{"cannot dump the counters of table inet bulwark: " + totals.error().message};
  double millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CounterReport r;
  r.rules = std::move(totals->rules);
  r.pairs = std::move(totals->pairs);
  r.tablePresent = totals->tablePresent;
  r.dumpMillis = millis;
  r.conntrack = readConntrack();
  return r;
}

nlohmann::json countersJson(const CounterReport& r) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& x : r.rules) {
    rules.push_back({{"rule", x.rule}, {"origin", x.origin}, {"packets", x.packets}, {"bytes", x.bytes},
                     {"zone_pairs", x.pairs}});
  }
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& p : r.pairs) pairs.push_back(engine::pairTotalJson(p));
  auto ct = [](long v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  return {{"table", r.tablePresent},
          {"rules", rules},
          {"zone_pairs", pairs},
          {"conntrack", {{"count", ct(r.conntrack.entries)}, {"max", ct(r.conntrack.limit)}}},
          {"dump_millis", r.dumpMillis}};
}

}  // namespace bulwark::daemon
