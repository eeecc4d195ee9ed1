// The property the review rests on: for random pairs of policies (a random site, then a random
// change to it: rules added, removed, swapped, replaced, DNAT retargeted, VPN access changed),
// a flow lies in the computed change set iff the offline evaluator gives it a different fate
// under the two policies -- for sampled flows of both families and both IPsec paths.
#include <gtest/gtest.h>

#include <random>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/evaluator.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"
#include "bulwark/review/flow_diff.h"
#include "random_policy.h"

namespace bulwark::review {
namespace {

struct Fate {
  bool accepted = false;
  std::optional<IpAddress> dnatTo;
  std::optional<std::uint16_t> dnatPort;
  // A dropped packet goes nowhere, whatever a DNAT before the drop chose.
  friend bool operator==(const Fate& a, const Fate& b) {
    if (!a.accepted && !b.accepted) return true;
    return a.accepted == b.accepted && a.dnatTo == b.dnatTo && a.dnatPort == b.dnatPort;
  }
};

Fate fate(const firewall::Ruleset& rs, const FlowSetup& setup, const IpAddress& s, const IpAddress& d,
          std::uint8_t proto, std::uint16_t port) {
  if (switchedBetween(setup, addressValue(s), addressValue(d))) return {true, {}, {}};
  auto ev = firewall::evaluate(rs, setup.routes, placeFlow(setup, s, d, proto, port));
  return {ev.accepted, ev.dnatTo, ev.dnatPort};
}

struct Loaded {
  policies::Policy policy;
  firewall::Ruleset ruleset;
};

std::optional<Loaded> load(const std::string& text) {
  auto r = policies::loadPolicyText(text, "p.yaml");
  policies::validatePolicy(r.policy, r.diagnostics);
  if (r.diagnostics.hasErrors()) return std::nullopt;
  auto c = firewall::compile(r.policy);
  if (!c.ok()) return std::nullopt;
  return Loaded{std::move(r.policy), std::move(c.ruleset)};
}

TEST(FlowDiff, ChangedIffTheEvaluatorDisagrees) {
  std::mt19937_64 rng(424242);
  int pairs = 0;
  std::size_t changedProbes = 0, probes = 0;
  for (std::uint64_t seed = 1; pairs < 60 && seed < 600; ++seed) {
    testing::PolicyGen gen(seed);
    auto before = load(gen.policy());
    if (!before) continue;
    std::optional<Loaded> after;
    std::string afterText;
    for (int tries = 0; tries < 5 && !after; ++tries) {
      afterText = gen.mutate();
      if (seed % 3 == 0) afterText = gen.mutate();  // two changes at once now and then
      after = load(afterText);
    }
    if (!after) continue;
    ++pairs;
    auto changes = flowChanges({&before->ruleset, &before->policy}, {&after->ruleset, &after->policy});
    // Flows drawn from inside the computed changes: each must really change.
    auto inside = [&](const IntervalSet& set) {
      const auto& i = set.intervals()[rng() % set.size()];
      U128 w = i.hi - i.lo;
      U128 r = (U128{rng()} << 64) | rng();
      return i.lo + (w == ~U128{0} ? r : r % (w + 1));
    };
    for (std::size_t k = 0; k < std::min<std::size_t>(changes.size(), 40); ++k) {
      const auto& c = changes[rng() % changes.size()];
      auto s = addressAt(c.family, inside(c.cube.src));
      auto d = addressAt(c.family, inside(c.cube.dst));
      auto v = inside(c.cube.svc);
      auto bs = flowSetup(before->policy, c.family, c.path);
      auto as = flowSetup(after->policy, c.family, c.path);
      ASSERT_NE(fate(before->ruleset, bs, s, d, svcProto(v), svcPort(v)),
                fate(after->ruleset, as, s, d, svcProto(v), svcPort(v)))
          << "seed " << seed << ": " << s.str() << " -> " << d.str() << " " << int(svcProto(v)) << "/" << svcPort(v);
    }
    for (auto fam : {Family::V4, Family::V6}) {
      auto addrs = testing::sampleAddresses(after->policy, fam, rng, 4);
      auto svcs = testing::sampleServices(after->policy, rng);
      for (auto path : {IpsecPath::Kernel, IpsecPath::Libipsec}) {
        auto bs = flowSetup(before->policy, fam, path);
        auto as = flowSetup(after->policy, fam, path);
        for (int k = 0; k < 300; ++k) {
          const auto& s = addrs[rng() % addrs.size()];
          auto d = addrs[rng() % addrs.size()];
          auto [proto, port] = svcs[rng() % svcs.size()];
          if (!after->policy.dnat.empty() && rng() % 5 == 0 && after->policy.dnat[0].vip.family() == fam) {
            d = after->policy.dnat[0].vip;
            proto = 6;
            port = 80;
          }
          bool differs = fate(before->ruleset, bs, s, d, proto, port) != fate(after->ruleset, as, s, d, proto, port);
          int hits = 0;
          for (const auto& c : changes) {
            if (c.family == fam && c.path == path &&
                c.cube.contains(addressValue(s), addressValue(d), svcValue(proto, port))) {
              ++hits;
            }
          }
          ASSERT_LE(hits, 1);
          ++probes;
          changedProbes += differs ? 1 : 0;
          ASSERT_EQ(hits == 1, differs) << "seed " << seed << " " << ipsecPathName(path) << ": " << s.str() << " -> "
                                        << d.str() << " " << int(proto) << "/" << port << "\nafter:\n"
                                        << afterText;
        }
      }
    }
  }
  EXPECT_EQ(pairs, 60);
  // The sample must hold changed flows, or the property says nothing.
  EXPECT_GT(changedProbes, probes / 100) << changedProbes << " of " << probes;
}

TEST(FlowDiff, SamePolicyHasNoChanges) {
  auto loaded = load(testing::PolicyGen(3).policy());
  ASSERT_TRUE(loaded);
  auto changes = flowChanges({&loaded->ruleset, &loaded->policy}, {&loaded->ruleset, &loaded->policy});
  EXPECT_TRUE(changes.empty());
}

}  // namespace
}  // namespace bulwark::review
