#pragma once
// Counter totals of table inet bulwark, as `bulwarkctl counters`, bulwarkd's counters op and
// its metrics report them, from one counters-only rule dump (observeCounters(): no read-back
// of the table, so a scrape of a 10k-rule table stays in the tens of milliseconds).
//
// The compiled table's shape (compiler.cpp) is what makes the sums meaningful: each zone pair
// has a chain whose rules jump to one chain per policy rule ("rule_<name>", ending in the
// counted verdict) and that ends in its counted default drop (pairDropOrigin()). So:
//   per rule       the counters of all kernel rules with the same comment ("file:line name",
//                  "file:line name:rate" for its rate-limit drops, "bulwark: ..." built-ins),
//                  and the zone pairs whose chains jump to the rule's chain
//   per zone pair  packets/bytes = every forwarded packet of the pair: the counters of the
//                  rule chains only this pair jumps to, plus its default drop, plus its
//                  established traffic in both directions (the pair's flow chains, pairFlowOrigin():
//                  a connection's replies count under the pair that opened it); drop_* = the
//                  default drop; established_* and reply_* = the flow chains' shares. A rule
//                  chain reached from several pairs cannot be split per pair (one counter), so
//                  it is left out of the pair sums and counted in `sharedRules` instead (the
//                  established traffic of those connections is counted per pair all the same).
#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/firewall/kernel_error.h"
#include "bulwark/firewall/observe.h"

namespace bulwark::firewall {

struct RuleTotal {
  std::string rule;     // policy rule name (or the built-in's name)
  std::string origin;   // "file:line"; "" for built-ins
  std::uint64_t packets = 0, bytes = 0;
  std::vector<std::string> pairs;  // "from>to" of the pair chains jumping to this rule's chain
  std::string comment;  // the kernel comment the summed rules carry
};

struct PairTotal {
  std::string from, to;
  std::uint64_t packets = 0, bytes = 0;
  std::uint64_t dropPackets = 0, dropBytes = 0;
  std::uint64_t establishedPackets = 0, establishedBytes = 0;  // after the first packets, both directions
  std::uint64_t replyPackets = 0, replyBytes = 0;              // of those, the replies (to → from)
  std::size_t sharedRules = 0;  // rules this pair jumps to that other pairs jump to as well
};

struct CounterTotals {
  std::vector<RuleTotal> rules;  // sorted by (rule, origin)
  std::vector<PairTotal> pairs;  // sorted by (from, to)
  bool tablePresent = false;
};

// Pure: the sums of one dump.
[[nodiscard]] CounterTotals summarize(const std::vector<RuleSample>& samples);

// observeCounters() + summarize(); an absent table gives empty totals (tablePresent false).
[[nodiscard]] KernelResult<CounterTotals> counterTotals();

}  // namespace bulwark::firewall
