#pragma once
// Which earlier rules may cover an atom, for the validator's shadow check: a rule is looked
// up here instead of being compared with every earlier rule (the flat 10,000-rule policy
// made that 50 M comparisons, 3.4x the YAML parse).
#include <bitset>
#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "bulwark/policies/resolve.h"

namespace bulwark::policies::detail {

// One side (from or to) of the rules seen so far, by zone and prefix.
class AtomIndex {
 public:
  // Rule number `rule` has `atoms` on this side; rules are added in increasing order.
  void add(std::size_t rule, const std::vector<Atom>& atoms);

  // Appends the rules with an atom that covers `a` to `out` (unsorted; a rule may repeat).
  void appendCovering(const Atom& a, std::vector<std::size_t>& out) const;

 private:
  struct Zone {
    std::vector<std::size_t> whole;  // rules naming the whole zone
    std::map<Prefix, std::vector<std::size_t>> byPrefix;
    std::bitset<129> lengths;  // the prefix lengths byPrefix holds
  };
  static void push(std::vector<std::size_t>& rules, std::size_t rule) {
    if (rules.empty() || rules.back() != rule) rules.push_back(rule);
  }
  std::unordered_map<std::string, Zone> zones_;
};

}  // namespace bulwark::policies::detail
