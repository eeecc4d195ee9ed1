#pragma once
// Reading Bulwark's table back from the kernel, and comparing it with the desired IR.
//
// observe() dumps sets, elements, chains and rules of `inet bulwark` only and rebuilds the
// IR by pattern-matching the libnftnl expression sequences the programmer emits, so a
// foreign `nft` edit shows up as a difference (the rule comment is NOT trusted: a rule is
// what its expressions say). Sequences that map to no IR expression become unknown rules
// (a description instead of a Rule): the diff (diff.h) reports them as removals.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/kernel_error.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

struct ObservedRule {
  std::optional<Rule> rule;  // nullopt: unknown rule, see `unknown`
  std::string unknown;       // what could not be mapped back (unknown rules only)
  std::string comment;       // the kernel comment as stored (userdata)
  std::uint64_t handle = 0;
  bool hasCounter = false;
  std::uint64_t packets = 0;  // from the rule's (first) counter expression
  std::uint64_t bytes = 0;
};

struct ObservedChain {
  std::string name;
  std::optional<BaseChain> base;
  std::string comment;
  std::uint64_t handle = 0;
  std::string unknown;  // non-empty: a base chain Bulwark cannot express (hook, type, ...)
  std::vector<ObservedRule> rules;
};

struct ObservedSet {
  SetDef def;                               // elements that could be mapped back
  std::vector<std::string> unknownElements; // elements that could not (hex dump)
  std::string unknown;                      // non-empty: key/data types Bulwark cannot express
  std::uint64_t handle = 0;
};

struct RuleCounter {
  std::string chain;
  std::size_t index = 0;  // position in the chain
  std::string comment;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

struct ObservedTable {
  std::uint32_t genId = 0;  // ruleset generation the dumps were taken at
  std::vector<ObservedSet> sets;
  std::vector<ObservedChain> chains;

  [[nodiscard]] const ObservedChain* findChain(std::string_view name) const;
  [[nodiscard]] const ObservedSet* findSet(std::string_view name) const;
  // The mappable part as IR (unknown rules/elements left out).
  [[nodiscard]] Ruleset ruleset() const;
  // One entry per rule that has a counter expression.
  [[nodiscard]] std::vector<RuleCounter> counters() const;
};

// nullopt = table inet bulwark does not exist (not an error).
[[nodiscard]] KernelResult<std::optional<ObservedTable>> observe();

// ---- counters only (metrics) -----------------------------------------------------------------
// One rule of the table as a scrape sees it: where it is, its comment, its (first) counter,
// and the chain it jumps/goes to, if its verdict is one.
struct RuleSample {
  std::string chain;
  std::uint64_t handle = 0;
  std::string comment;
  bool hasCounter = false;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::string jumpTo;
};

struct CounterDump {
  std::uint32_t genId = 0;        // generation when the dump started (not re-checked)
  std::vector<RuleSample> rules;  // kernel order: chain by chain, rules in chain order
};

// One NFT_MSG_GETRULE dump of table inet bulwark with nothing but RuleSample decoded: no
// sets, no elements, no IR. Linear in the rule count (observe() is far from it on tables
// with thousands of sets). nullopt = the table does not exist.
[[nodiscard]] KernelResult<std::optional<CounterDump>> observeCounters();

}  // namespace bulwark::firewall
