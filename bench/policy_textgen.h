#pragma once
// Generated policy *text* for the policy-loading benchmarks (bench/policy_load_bench.cpp,
// bench/policy_load_rss.cpp; figures in docs/performance.md, "Policy loading").
//
// A flow is one (source host, destination host, named service) triple that an allow rule
// of the policy permits; the generator writes rules whose triples are pairwise distinct,
// so no rule covers another and the policy validates without a single diagnostic.
//
// The site: 25 VLAN segments (10.<s>.0.0/24, with an IPv6 /64 each), grouped five to a zone;
// 20 hosts per segment (500 hosts, 10.<s>.0.<10+h>); 40 services on ports spread from
// tcp/1024 to tcp/58393 (a quarter of them also on UDP, another quarter on a second TCP
// port: 10,000 flows are 15,000 (src, dst, proto/port) tuples); 100 expectations; a
// comment above every rule, as people write them. The text is already in canonical form.
//
// Three rule shapes, each with exactly 10,000 flows by default:
//   Tiered: 500 rules, each from 4 hosts of one segment to 5 hosts of another, one service
//           (4 x 5 x 1 = 20 flows a rule) -- how people write policies by hand.
//   Flat:   10,000 rules, one host to one host, one service -- the machine-generated
//           extreme, and the worst case for the validator's pairwise shadow check.
//   Wide:   one rule from N client hosts (one address each, segment `clients`, 10.64.0.0/16)
//           to one server on one service: the large address list (issue 20: 20,000 hosts,
//           a 1.4 MB policy), where compile, render and plan must stay linear.
#include <cstddef>
#include <string>

namespace bulwark::bench {

enum class RuleShape { Tiered, Flat, Wide };

struct PolicyTextSpec {
  RuleShape shape = RuleShape::Tiered;
  std::size_t flows = 10000;  // a multiple of 20 for Tiered; at most 25*20*24*40 for either;
                              // at most 61,440 for Wide
};

struct PolicyText {
  std::string text;
  std::size_t segments = 0, hosts = 0, services = 0, rules = 0, flows = 0;
};

[[nodiscard]] PolicyText generatePolicyText(const PolicyTextSpec& spec);

[[nodiscard]] const char* shapeName(RuleShape shape);

// "tiered", "flat" or "wide"; false for anything else.
[[nodiscard]] bool parseShape(const std::string& name, RuleShape& shape);

}  // namespace bulwark::bench
