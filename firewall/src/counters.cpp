// Counter totals per policy rule and per zone pair, decoded with the comment conventions of
// ruleset.h (the compiler writes them, this reads them back).
#include "bulwark/firewall/counters.h"

#include <algorithm>
#include <map>
#include <set>

namespace bulwark::firewall {

CounterTotals summarize(const std::vector<RuleSample>& samples) {
  CounterTotals out;
  out.tablePresent = true;
  // Pair chains: named by the drop rule they end in; zone names may contain "__", the
  // comment's '>' is unambiguous.
  std::map<std::string, std::pair<std::string, std::string>> pairOfChain;
  for (const auto& s : samples) {
    if (auto pr = pairOfDropComment(s.comment)) pairOfChain[s.chain] = *pr;
  }
  // Which pair chains jump to which chain.
  std::map<std::string, std::set<std::pair<std::string, std::string>>> jumpedFrom;
  for (const auto& s : samples) {
    if (s.jumpTo.empty()) continue;
    auto it = pairOfChain.find(s.chain);
    if (it != pairOfChain.end()) jumpedFrom[s.jumpTo].insert(it->second);
  }

  std::map<std::pair<std::string, std::string>, RuleTotal> rules;
  std::map<std::pair<std::string, std::string>, PairTotal> pairs;
  for (const auto& [chain, pr] : pairOfChain) {
    auto& p = pairs[pr];
    p.from = pr.first;
    p.to = pr.second;
  }
  for (const auto& [chain, from] : jumpedFrom) {
    if (from.size() < 2) continue;
    for (const auto& pr : from) ++pairs[pr].sharedRules;
  }
  for (const auto& s : samples) {
    if (!s.hasCounter) continue;
    const Origin o = originOfComment(s.comment);
    const std::string origin = o.where.file.empty() ? "" : o.where.file + ":" + std::to_string(o.where.line);
    auto& r = rules[{o.what, origin}];
    r.rule = o.what;
    r.origin = origin;
    r.comment = s.comment;
    r.packets += s.packets;
    r.bytes += s.bytes;
    if (auto jf = jumpedFrom.find(s.chain); jf != jumpedFrom.end()) {
      for (const auto& pr : jf->second) {
        auto label = pr.first + ">" + pr.second;
        if (std::find(r.pairs.begin(), r.pairs.end(), label) == r.pairs.end()) r.pairs.push_back(label);
      }
      if (jf->second.size() == 1) {
        auto& p = pairs[*jf->second.begin()];
        p.packets += s.packets;
        p.bytes += s.bytes;
      }
    }
    if (auto fl = pairOfFlowComment(s.comment)) {
      auto& p = pairs[{fl->from, fl->to}];
      p.from = fl->from;
      p.to = fl->to;
      p.packets += s.packets;
      p.bytes += s.bytes;
      p.establishedPackets += s.packets;
      p.establishedBytes += s.bytes;
      if (fl->reply) {
        p.replyPackets += s.packets;
        p.replyBytes += s.bytes;
      }
    }
    if (pairOfDropComment(s.comment)) {
      if (auto pc = pairOfChain.find(s.chain); pc != pairOfChain.end()) {
        auto& p = pairs[pc->second];
        p.packets += s.packets;
        p.bytes += s.bytes;
        p.dropPackets += s.packets;
        p.dropBytes += s.bytes;
      }
    }
  }
  for (auto& [k, r] : rules) out.rules.push_back(std::move(r));
  for (auto& [k, p] : pairs) out.pairs.push_back(std::move(p));
  return out;
}

KernelResult<CounterTotals> counterTotals() {
  auto dump = observeCounters();
  if (!dump) return dump.error();
  if (!dump.value()) return CounterTotals{};
  return summarize(dump.value()->rules);
}

}  // namespace bulwark::firewall
