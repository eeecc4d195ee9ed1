#pragma once
// Counters of table inet bulwark, summed the way the `counters` op and the metrics report
// them, from one counters-only rule dump (firewall::observeCounters(): no read-back of the
// table, so a scrape of a 10k-rule table stays in the tens of milliseconds).
//
// The compiled table's shape (firewall/src/compiler.cpp): each zone pair has a chain whose
// rules jump to one chain per policy rule ("rule_<name>", ending in the counted verdict) and
// that ends in "bulwark: drop <from>><to>" (counted). So:
//   per rule       the counters of all kernel rules with the same comment ("file:line name",
//                  "file:line name:rate" for its rate-limit drops, "bulwark: ..." built-ins),
//                  and the zone pairs whose chains jump to the rule's chain
//   per zone pair  packets/bytes = the counters of the rule chains only this pair jumps to,
//                  plus its default drop; drop_* = the default drop. A rule chain reached from
//                  several pairs cannot be split per pair (one counter), so it is left out of
//                  the pair sums and counted in `shared_rules` instead.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/firewall/observe.h"
#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

struct RuleTotal {
  std::string rule;    // policy rule name (or the built-in's name)
  std::string origin;  // "file:line"; "" for built-ins
  std::uint64_t packets = 0, bytes = 0;
  std::vector<std::string> pairs;  // "from>to" of the pair chains jumping to this rule's chain
};

struct PairTotal {
  std::string from, to;
  std::uint64_t packets = 0, bytes = 0;
  std::uint64_t dropPackets = 0, dropBytes = 0;
  std::size_t sharedRules = 0;  // rules this pair jumps to that other pairs jump to as well
};

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

// Pure: the sums of one dump.
[[nodiscard]] CounterReport summarize(const std::vector<firewall::RuleSample>& samples);

// nf_conntrack_count / nf_conntrack_max of the daemon's network namespace.
[[nodiscard]] ConntrackUsage readConntrack();

// Dumps, summarizes and reads conntrack. An error: the kernel refused the dump.
[[nodiscard]] gateway::Result<CounterReport> collectCounters();

// The `counters` reply body (format in protocol.h).
[[nodiscard]] nlohmann::json countersJson(const CounterReport& r);

}  // namespace bulwark::daemon
