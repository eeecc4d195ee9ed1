// The flow partition against the offline evaluator: for sampled flows (hosts, subnet edges,
// pools, VIPs, internet, random addresses; every protocol kind, ports at and around the
// policy's), exactly one piece holds the flow and its outcome is what firewall::evaluate()
// says for that packet -- on campus.yaml and on random policies, both address families, both
// IPsec paths.
#include <gtest/gtest.h>

#include <random>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/evaluator.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"
#include "bulwark/review/partition.h"
#include "random_policy.h"

namespace bulwark::review {
namespace {

std::size_t g_accepted = 0, g_dnat = 0;
struct Oracle {
  bool accepted = false;
  std::optional<U128> dnatTo;
  std::optional<std::uint16_t> dnatPort;
  firewall::Origin decidedBy;
};

Oracle oracle(const firewall::Ruleset& rs, const FlowSetup& setup, const IpAddress& src, const IpAddress& dst,
              std::uint8_t proto, std::uint16_t port) {
  if (switchedBetween(setup, addressValue(src), addressValue(dst))) return {true, {}, {}, {}};
  auto ev = firewall::evaluate(rs, setup.routes, placeFlow(setup, src, dst, proto, port));
  Oracle o{ev.accepted, std::nullopt, ev.dnatPort, ev.decidedBy};
  if (ev.dnatTo) o.dnatTo = addressValue(*ev.dnatTo);
  return o;
}

// Checks `probes` flows of each family and path; returns how many were checked.
std::size_t checkPolicy(const policies::Policy& policy, const firewall::Ruleset& rs, std::mt19937_64& rng,
                        const std::string& label) {
  std::size_t checked = 0;
  for (auto fam : {Family::V4, Family::V6}) {
    auto addrs = testing::sampleAddresses(policy, fam, rng, 6);
    auto svcs = testing::sampleServices(policy, rng);
    for (auto path : {IpsecPath::Kernel, IpsecPath::Libipsec}) {
      auto setup = flowSetup(policy, fam, path);
      auto pieces = partitionAll(rs, setup);
      for (std::size_t i = 0; i < 400; ++i) {
        const auto& s = addrs[rng() % addrs.size()];
        auto d = addrs[rng() % addrs.size()];
        auto [proto, port] = svcs[rng() % svcs.size()];
        // DNAT: a fifth of the flows go to a VIP on its service.
        if (!policy.dnat.empty() && rng() % 5 == 0) {
          const auto& nat = policy.dnat[rng() % policy.dnat.size()];
          if (nat.vip.family() == fam) {
            d = nat.vip;
            proto = 6;
            port = nat.service.text == "http" ? 80 : 443;
          }
        }
        U128 sv = addressValue(s), dv = addressValue(d), v = svcValue(proto, port);
        const Piece* hit = nullptr;
        int hits = 0;
        for (const auto& p : pieces) {
          if (p.cube.contains(sv, dv, v)) {
            hit = &p;
            ++hits;
          }
        }
        std::string what = label + " " + std::string(ipsecPathName(path)) + ": " + s.str() + " -> " + d.str() + " " +
                           std::to_string(proto) + "/" + std::to_string(port);
        EXPECT_EQ(hits, 1) << what;
        if (hits != 1) return checked;
        auto want = oracle(rs, setup, s, d, proto, port);
        EXPECT_EQ(hit->outcome.accepted, want.accepted) << what << " decided by " << hit->outcome.decidedBy.what
                                                        << " / evaluator: " << want.decidedBy.what;
        EXPECT_TRUE(hit->outcome.dnatTo == want.dnatTo) << what;
        EXPECT_EQ(hit->outcome.dnatPort, want.dnatPort) << what;
        if (!hit->outcome.switched && want.decidedBy.what.rfind("no route", 0) != 0) {
          EXPECT_EQ(hit->outcome.decidedBy.what, want.decidedBy.what) << what;
          EXPECT_EQ(hit->outcome.decidedBy.where, want.decidedBy.where) << what;
        }
        ++checked;
        if (want.accepted) ++g_accepted;
        if (want.dnatTo) ++g_dnat;
      }
    }
  }
  return checked;
}

TEST(Partition, CampusAgreesWithTheEvaluator) {
  auto loaded = policies::loadAndValidate(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  ASSERT_FALSE(loaded.diagnostics.hasErrors());
  auto compiled = firewall::compile(loaded.policy);
  std::mt19937_64 rng(7);
  EXPECT_EQ(checkPolicy(loaded.policy, compiled.ruleset, rng, "campus"), 1600u);
}

// check(policy, ruleset, label) on the first `count` random policies (testing::PolicyGen,
// seeds from 1) that validate; at the first failure it stops and prints that policy.
template <typename Check>
void forValidRandomPolicies(int count, Check check) {
  int checked = 0;
  for (std::uint64_t seed = 1; checked < count && seed < 400; ++seed) {
    testing::PolicyGen gen(seed);
    auto text = gen.policy();
    auto loaded = policies::loadPolicyText(text, "rand.yaml");
    policies::validatePolicy(loaded.policy, loaded.diagnostics);
    if (loaded.diagnostics.hasErrors()) continue;  // e.g. an allow shadowed by a deny
    auto compiled = firewall::compile(loaded.policy);
    ASSERT_TRUE(compiled.ok()) << text;
    check(loaded.policy, compiled.ruleset, "seed " + std::to_string(seed));
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "policy of seed " << seed << ":\n" << text;
      return;
    }
    ++checked;
  }
  EXPECT_EQ(checked, count);
}

TEST(Partition, RandomPoliciesAgreeWithTheEvaluator) {
  std::mt19937_64 rng(20261206);
  forValidRandomPolicies(60, [&](const policies::Policy& p, const firewall::Ruleset& rs, const std::string& label) {
    checkPolicy(p, rs, rng, label);
  });
  std::printf("accepted %zu dnat %zu\n", g_accepted, g_dnat);
}

TEST(Partition, PiecesAreDisjointAndCoverEveryFlow) {
  auto loaded = policies::loadAndValidate(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  auto compiled = firewall::compile(loaded.policy);
  auto setup = flowSetup(loaded.policy, Family::V4, IpsecPath::Kernel);
  auto pieces = partitionAll(compiled.ruleset, setup);
  // Exact: the pieces' sizes add up to the whole space (2^32 x 2^32 x 2^24).
  long double total = 0;
  for (const auto& p : pieces) {
    total += static_cast<long double>(p.cube.src.count()) * static_cast<long double>(p.cube.dst.count()) *
             static_cast<long double>(p.cube.svc.count());
  }
  EXPECT_EQ(total, 4294967296.0L * 4294967296.0L * 16777216.0L);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    for (std::size_t j = i + 1; j < pieces.size(); ++j) {
      ASSERT_FALSE(pieces[i].cube.intersects(pieces[j].cube)) << i << " " << j;
    }
  }
}

// The shortcuts (rules whose first test misses every flow set, verdict-map elements of other
// interfaces) skip work, never change a piece: the same pieces, in the same order (a breach's
// example flow is its first piece's), as the full walk -- campus and random policies, both
// families and IPsec paths.
void expectSameAsFullWalk(const policies::Policy& policy, const firewall::Ruleset& rs, const std::string& label) {
  for (auto fam : {Family::V4, Family::V6}) {
    for (auto path : {IpsecPath::Kernel, IpsecPath::Libipsec}) {
      auto setup = flowSetup(policy, fam, path);
      auto fast = partitionAll(rs, setup);
      auto full = partitionAll(rs, setup, {.shortcuts = false});
      ASSERT_EQ(fast.size(), full.size()) << label;
      for (std::size_t i = 0; i < fast.size(); ++i) {
        const auto &a = fast[i].outcome, &b = full[i].outcome;
        ASSERT_EQ(fast[i].cube, full[i].cube) << label << " piece " << i;
        ASSERT_TRUE(a.accepted == b.accepted && a.switched == b.switched && a.local == b.local &&
                    a.dnatTo == b.dnatTo && a.dnatPort == b.dnatPort && a.decidedBy.what == b.decidedBy.what &&
                    a.decidedBy.where == b.decidedBy.where)
            << label << " piece " << i << ": " << a.decidedBy.what << " / " << b.decidedBy.what;
      }
    }
  }
}

TEST(Partition, ShortcutsGiveTheFullWalksPiecesInOrder) {
  auto loaded = policies::loadAndValidate(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  ASSERT_FALSE(loaded.diagnostics.hasErrors());
  expectSameAsFullWalk(loaded.policy, firewall::compile(loaded.policy).ruleset, "campus");
  forValidRandomPolicies(30, expectSameAsFullWalk);
}

}  // namespace
}  // namespace bulwark::review
