// Invariants against the offline evaluator: for random policies and random never/only
// statements, a sampled flow lies in a computed breach iff the evaluator (firewall::evaluate,
// and evaluatePerBackend for the backends a DNAT pool may choose) accepts it, delivers it into
// `to` on one of `services`, and its source is in `from` (outside `from`, for only). The
// memberships here come from the policy's own resolution (zones of addresses, atoms), not from
// the interval sets under test.
#include <algorithm>
#include <gtest/gtest.h>

#include <random>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/evaluator.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/resolve.h"
#include "bulwark/policies/validator.h"
#include "bulwark/review/invariants.h"
#include "campus_text.h"
#include "random_policy.h"

namespace bulwark::review {
namespace {

using policies::Invariant;

struct Loaded {
  policies::Policy policy;
  firewall::CompileResult compiled;
};

std::optional<Loaded> load(const std::string& text) {
  auto r = policies::loadPolicyText(text, "p.yaml");
  if (!r.diagnostics.hasErrors()) policies::validatePolicy(r.policy, r.diagnostics);
  if (r.diagnostics.hasErrors()) return std::nullopt;
  auto c = firewall::compile(r.policy);
  if (!c.ok()) return std::nullopt;
  return Loaded{std::move(r.policy), std::move(c)};
}

policies::Endpoint endpointOf(const std::string& text) {
  policies::Endpoint e{text, {"p.yaml", 1, 1}, std::nullopt};
  if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text.find(':') != std::string::npos)) {
    e.literal = policies::Prefix::parse(text);
  }
  return e;
}

policies::ServiceRef serviceOf(const std::string& text) {
  policies::ServiceRef s{text, {"p.yaml", 1, 1}, std::nullopt};
  if (text.find('/') != std::string::npos || text == "icmp" || text == "icmpv6") s.literal = policies::parsePortSpec(text).spec;
  return s;
}

// Random statements over the names the policy declares, `any`, `internet` and literals.
std::vector<Invariant> randomInvariants(const policies::Policy& p, std::mt19937_64& rng, int n) {
  std::vector<std::string> names = {"any", "internet"};
  for (const auto& s : p.segments) {
    names.push_back(s.name);
    if (s.ipv4) names.push_back(s.ipv4->subnet.str());
  }
  for (const auto& h : p.hosts) names.push_back(h.name);
  for (const auto& z : p.zones) names.push_back(z.name);
  if (p.vpn) {
    for (const auto& g : p.vpn->groups) names.push_back(g.name);
  }
  for (const auto& d : p.dnat) names.push_back(d.vip.str());
  std::vector<std::string> services = {"tcp/1-1024", "udp/53", "icmp", "tcp/80", "any"};
  for (const auto& s : p.services) services.push_back(s.name);
  auto pick = [&](const std::vector<std::string>& from) { return from[rng() % from.size()]; };
  std::vector<Invariant> out;
  for (int i = 0; i < n; ++i) {
    Invariant inv;
    inv.where = {"p.yaml", 100 + i, 3};
    inv.kind = rng() % 2 ? Invariant::Kind::Never : Invariant::Kind::Only;
    for (std::size_t k = 0, m = 1 + rng() % 2; k < m; ++k) inv.from.push_back(endpointOf(pick(names)));
    for (std::size_t k = 0, m = 1 + rng() % 2; k < m; ++k) inv.to.push_back(endpointOf(pick(names)));
    for (std::size_t k = 0, m = rng() % 3; k < m; ++k) inv.services.push_back(serviceOf(pick(services)));
    out.push_back(std::move(inv));
  }
  return out;
}

bool inEndpoint(const policies::PolicyIndex& index, const policies::Endpoint& e, const IpAddress& a) {
  auto r = index.endpoint(e);
  if (!r) return false;
  if (r->kind == policies::EndpointKind::Any) return true;
  for (const auto& atom : r->atoms) {
    if (atom.prefix ? atom.prefix->contains(a) : index.zoneOfAddress(a) == atom.zone) return true;
  }
  return false;
}

bool inServices(const policies::PolicyIndex& index, const Invariant& inv, std::uint8_t proto, std::uint16_t port) {
  if (inv.services.empty()) return true;
  for (const auto& ref : inv.services) {
    auto set = index.service(ref);
    if (!set) continue;
    if (set->any) return true;
    for (const auto& spec : set->specs) {
      if (policies::protocolNumber(spec.protocol) != proto) continue;
      if (!policies::protocolHasPorts(spec.protocol) || (port >= spec.ports.first && port <= spec.ports.last)) {
        return true;
      }
    }
  }
  return false;
}

// Does the flow, as the evaluator decides it, break `inv`?
bool breaks(const policies::PolicyIndex& index, const Invariant& inv, const IpAddress& src, bool accepted,
            const IpAddress& delivered, std::uint8_t proto, std::uint16_t port) {
  if (!accepted) return false;
  bool from = std::any_of(inv.from.begin(), inv.from.end(), [&](const auto& e) { return inEndpoint(index, e, src); });
  if (inv.kind == Invariant::Kind::Only) from = !from;
  bool to = std::any_of(inv.to.begin(), inv.to.end(), [&](const auto& e) { return inEndpoint(index, e, delivered); });
  return from && to && inServices(index, inv, proto, port);
}

struct Verdicts {
  bool base = false;     // the compiled ruleset breaks it
  bool anyPool = false;  // with some backend a pool may choose
};

// The first 40 random policies that load, with their seeds.
std::vector<std::pair<std::uint64_t, Loaded>> randomPolicies() {
  std::vector<std::pair<std::uint64_t, Loaded>> out;
  for (std::uint64_t seed = 1; out.size() < 40 && seed < 400; ++seed) {
    if (auto loaded = load(testing::PolicyGen(seed).policy())) out.emplace_back(seed, std::move(*loaded));
  }
  return out;
}

TEST(Invariants, BreachedIffTheEvaluatorSaysSo) {
  std::mt19937_64 rng(191919);
  auto all = randomPolicies();
  std::size_t probes = 0, breaching = 0, holding = 0;
  for (auto& [seed, loaded] : all) {
    auto& policy = loaded.policy;
    policy.invariants = randomInvariants(policy, rng, 6);
    policies::PolicyIndex index(policy);
    auto results = checkInvariants(policy, loaded.compiled);
    ASSERT_EQ(results.size(), policy.invariants.size());
    for (const auto& r : results) (r.holds() ? holding : breaching) += 1;
    for (auto fam : {Family::V4, Family::V6}) {
      auto addrs = testing::sampleAddresses(policy, fam, rng, 4);
      auto svcs = testing::sampleServices(policy, rng);
      // Without a pool of this family the check runs the kernel path alone (ipsecPathsOf): the
      // libipsec placement's evaluator must then agree with the kernel path's breaches.
      auto paths = ipsecPathsOf(policy, fam);
      for (auto path : {IpsecPath::Kernel, IpsecPath::Libipsec}) {
        auto setup = flowSetup(policy, fam, path);
        auto reported = std::find(paths.begin(), paths.end(), path) != paths.end() ? path : IpsecPath::Kernel;
        for (int k = 0; k < 200; ++k) {
          const auto& s = addrs[rng() % addrs.size()];
          auto d = addrs[rng() % addrs.size()];
          auto [proto, port] = svcs[rng() % svcs.size()];
          if (!policy.dnat.empty() && rng() % 4 == 0 && policy.dnat[0].vip.family() == fam) {
            d = policy.dnat[0].vip;
            proto = 6;
            port = policy.dnat[0].service.literal && policy.dnat[0].service.literal->protocol == policies::Protocol::Tcp
                       ? policy.dnat[0].service.literal->ports.first
                       : 80;
          }
          std::vector<Verdicts> want(results.size());
          auto judge = [&](bool accepted, const IpAddress& delivered, std::optional<std::uint16_t> dport, bool pool) {
            auto p = dport && protoHasPorts(proto) ? *dport : port;
            for (std::size_t i = 0; i < results.size(); ++i) {
              bool b = breaks(index, policy.invariants[i], s, accepted, delivered, proto, p);
              (pool ? want[i].anyPool : want[i].base) |= b;
            }
          };
          if (switchedBetween(setup, addressValue(s), addressValue(d))) {
            judge(true, d, std::nullopt, false);
          } else {
            auto packet = placeFlow(setup, s, d, proto, port);
            auto ev = firewall::evaluate(loaded.compiled.ruleset, setup.routes, packet, false);
            judge(ev.accepted && !ev.local, ev.dnatTo.value_or(d), ev.dnatPort, false);
            for (const auto& be : firewall::evaluatePerBackend(loaded.compiled.ruleset, loaded.compiled.pools,
                                                               setup.routes, packet, ev)) {
              const auto& e = be.evaluation;
              judge(e.accepted && !e.local, e.dnatTo.value_or(d), e.dnatPort, true);
            }
          }
          ++probes;
          for (std::size_t i = 0; i < results.size(); ++i) {
            bool base = false, any = false;
            for (const auto& b : results[i].breaches) {
              for (const auto& f : b.flows) {
                if (f.family != fam || f.path != reported) continue;
                if (!f.cube.contains(addressValue(s), addressValue(d), svcValue(proto, port))) continue;
                any = true;
                base |= b.backend.empty();
              }
            }
            auto what = "seed " + std::to_string(seed) + " " + std::string(ipsecPathName(path)) + " " +
                        policy.invariants[i].str() + ": " + s.str() + " -> " + d.str() + " " +
                        std::to_string(proto) + "/" + std::to_string(port);
            ASSERT_EQ(base, want[i].base) << what;
            ASSERT_EQ(any, want[i].base || want[i].anyPool) << what;
          }
        }
      }
    }
  }
  EXPECT_EQ(all.size(), 40u);
  // Both outcomes must occur, or the property says nothing.
  EXPECT_GT(breaching, 10u);
  EXPECT_GT(holding, 10u);
  EXPECT_GT(probes, 10000u);
}

std::vector<std::string> texts(const policies::Diagnostics& d) {
  std::vector<std::string> out;
  for (const auto& x : d.items()) out.push_back(x.str());
  return out;
}

// validate's check compiles only the zone pairs its flows can reach (CompileOptions::zonePairs):
// it must report what the check over the whole ruleset reports, word for word.
TEST(Invariants, ZonePairsReachedAloneGiveTheWholeRulesetsBreaches) {
  std::mt19937_64 rng(272727);
  auto all = randomPolicies();
  std::size_t errors = 0;
  for (auto& [seed, loaded] : all) {
    auto& policy = loaded.policy;
    policy.invariants = randomInvariants(policy, rng, 6);
    policies::Diagnostics whole, reached;
    reportInvariants(checkInvariants(policy, loaded.compiled), whole);
    checkPolicyInvariants(policy, reached);
    ASSERT_EQ(texts(reached), texts(whole)) << "seed " << seed;
    errors += whole.errorCount();
  }
  EXPECT_EQ(all.size(), 40u);
  EXPECT_GT(errors, 40u);  // breaches found, or the comparison says little
}

// campus.yaml with `invariants` instead of its own.
std::string campusWith(const std::string& invariants, const std::string& text = testing::campus()) {
  auto from = text.find("invariants:\n");
  auto to = text.find("\n\n# Policy tests:");
  EXPECT_TRUE(from != std::string::npos && to != std::string::npos && from < to);
  return text.substr(0, from) + "invariants:\n" + invariants + text.substr(to + 1);
}

std::vector<InvariantResult> check(const Loaded& l) { return checkInvariants(l.policy, l.compiled); }

TEST(Invariants, CampusHoldsWhatItSays) {
  auto l = load(campusWith("  - never: { from: internet, to: [db, storage, mgmt] }\n"
                           "  - only: { to: mgmt, from: [mgmt, netops] }\n"
                           "  - never: { from: dba, to: [mgmt, app, storage] }\n"));
  ASSERT_TRUE(l);
  for (const auto& r : check(*l)) EXPECT_TRUE(r.holds()) << r.invariant->str() << ": " << r.breaches.front().str();
}

TEST(Invariants, DnatIntoTheSegmentCountsAsReachingIt) {
  auto text = campusWith("  - { name: no-db, never: { from: internet, to: db } }\n");
  text = testing::replace(text, "  snat:\n",
                          "    - { name: vip-db, vip: 203.0.113.10, service: mysql, to: [mysql1] }\n"
                          "  snat:\n");
  text = testing::replace(text, "  - name: lb-to-web\n",
                          "  - { name: db-in, from: internet, to: mysql1, services: [mysql], action: allow }\n"
                          "  - name: lb-to-web\n");
  auto l = load(text);
  ASSERT_TRUE(l);
  auto r = check(*l);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].breaches.size(), 1u);
  const auto& b = r[0].breaches[0];
  EXPECT_EQ(b.rule.what, "db-in");
  // The VIP's flows and the direct ones: both in the breach, the VIP's with its DNAT.
  bool viaVip = false, direct = false;
  auto vip = addressValue(*IpAddress::parse("203.0.113.10"));
  auto mysql1 = addressValue(*IpAddress::parse("10.30.0.11"));
  for (const auto& f : b.flows) {
    if (f.cube.dst.contains(vip) && f.outcome.dnatTo == mysql1) viaVip = true;
    if (f.cube.dst.contains(mysql1) && !f.outcome.dnatTo) direct = true;
  }
  EXPECT_TRUE(viaVip);
  EXPECT_TRUE(direct);
  EXPECT_NE(b.str().find("db-in at p.yaml:"), std::string::npos) << b.str();
}

TEST(Invariants, EveryBackendAPoolMayChooseCounts) {
  // lb2 is the standby of the VIP's pool: reached through the VIP only when lb1 fails.
  auto l = load(campusWith("  - never: { from: internet, to: lb2, services: [https] }\n"));
  ASSERT_TRUE(l);
  auto r = check(*l);
  ASSERT_EQ(r.size(), 1u);
  auto standby = std::find_if(r[0].breaches.begin(), r[0].breaches.end(),
                              [](const Breach& b) { return !b.backend.empty(); });
  ASSERT_NE(standby, r[0].breaches.end());
  EXPECT_EQ(standby->rule.what, "public-web");
  EXPECT_NE(standby->backend.find("lb2"), std::string::npos) << standby->backend;
  ASSERT_TRUE(standby->example.dnatTo);
  EXPECT_EQ(standby->example.dnatTo->str(), "203.0.113.12");
  EXPECT_EQ(standby->example.dst.str(), "203.0.113.10");
}

TEST(Invariants, SwitchedFlowsBreakANeverTheGatewayCannotEnforce) {
  auto l = load(campusWith("  - never: { from: mysql1, to: mysql2 }\n"));
  ASSERT_TRUE(l);
  auto r = check(*l);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].breaches.size(), 1u);
  EXPECT_TRUE(r[0].breaches[0].switched());
  EXPECT_EQ(r[0].breaches[0].example.src.str(), "10.30.0.11");
  EXPECT_EQ(r[0].breaches[0].example.dst.str(), "10.30.0.12");
}

TEST(Invariants, ReportedAtTheInvariantNamingTheRule) {
  auto l = load(campusWith("  - never: { from: mgmt, to: db, services: [ssh] }\n"));
  ASSERT_TRUE(l);
  policies::Diagnostics d;
  reportInvariants(check(*l), d);
  ASSERT_EQ(d.items().size(), 1u);
  const auto& item = d.items().front();
  EXPECT_EQ(item.where.file, "p.yaml");
  EXPECT_EQ(item.where.col, 5);
  EXPECT_NE(item.message.find("mgmt-ops at p.yaml:"), std::string::npos) << item.message;
  EXPECT_NE(item.message.find("e.g. 10.99.0.10 → 10.30.0.11 tcp/22"), std::string::npos) << item.message;
}

}  // namespace
}  // namespace bulwark::review
