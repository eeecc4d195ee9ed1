#include "counters.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>

#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

namespace {

constexpr std::string_view kBuiltin = "bulwark: ";
constexpr std::string_view kDrop = "bulwark: drop ";

long readLong(const char* path) {
  std::ifstream in(path);
  long v = -1;
  if (!(in >> v)) return -1;
  return v;
}

// "file:line name" → (name, "file:line"); "bulwark: x" → ("x", "").
std::pair<std::string, std::string> splitComment(const std::string& c) {
  if (c.rfind(kBuiltin, 0) == 0) return {c.substr(kBuiltin.size()), ""};
  auto sp = c.find(' ');
  if (sp == std::string::npos) return {c, ""};
  return {c.substr(sp + 1), c.substr(0, sp)};
}

}  // namespace

CounterReport summarize(const std::vector<firewall::RuleSample>& samples) {
  CounterReport out;
  out.tablePresent = true;
  // Pair chains: named by the drop rule they end in ("bulwark: drop from>to"); zone names
  // may contain "__", the '>' of the comment is unambiguous.
  std::map<std::string, std::pair<std::string, std::string>> pairOfChain;
  for (const auto& s : samples) {
    if (s.comment.rfind(kDrop, 0) != 0) continue;
    auto label = s.comment.substr(kDrop.size());
    auto gt = label.find('>');
    if (gt != std::string::npos) pairOfChain[s.chain] = {label.substr(0, gt), label.substr(gt + 1)};
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
    auto [name, origin] = splitComment(s.comment);
    auto& r = rules[{name, origin}];
    r.rule = name;
    r.origin = origin;
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
    if (s.comment.rfind(kDrop, 0) == 0) {
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

ConntrackUsage readConntrack() {
  return {readLong("/proc/sys/net/netfilter/nf_conntrack_count"), readLong("/proc/sys/net/netfilter/nf_conntrack_max")};
}

gateway::Result<CounterReport> collectCounters() {
  auto start = std::chrono::steady_clock::now();
  auto dump = firewall::observeCounters();
  if (!dump) return gateway::Error{"cannot dump the counters of table inet bulwark: " + dump.error().message};
  double millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CounterReport r;
  if (dump.value()) r = summarize(dump.value()->rules);
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
  for (const auto& p : r.pairs) {
    pairs.push_back({{"from", p.from},
                     {"to", p.to},
                     {"packets", p.packets},
                     {"bytes", p.bytes},
                     {"drop_packets", p.dropPackets},
                     {"drop_bytes", p.dropBytes},
                     {"shared_rules", p.sharedRules}});
  }
  auto ct = [](long v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  return {{"table", r.tablePresent},
          {"rules", rules},
          {"zone_pairs", pairs},
          {"conntrack", {{"count", ct(r.conntrack.entries)}, {"max", ct(r.conntrack.limit)}}},
          {"dump_millis", r.dumpMillis}};
}

}  // namespace bulwark::daemon
