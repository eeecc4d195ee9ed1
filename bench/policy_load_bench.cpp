// Policy loading benchmarks (docs/performance.md, "Policy loading"): load, load+validate
// and format of a generated policy with 500 hosts and 10,000 allowed flows, next to the
// floor set by yaml-cpp itself (YAML::Load of the same text). Run by
// bench/run-policy-bench.sh; the summary printed at the end gives the ratios to yaml-cpp.
//
// Shapes (bench/policy_textgen.h): "tiered" = 500 rules of 4 x 5 hosts x 1 service,
// "flat" = 10,000 one-host-to-one-host rules (the validator's shadow check compares every
// rule with every earlier one, so this is its worst case).
#include <benchmark/benchmark.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "bulwark/policies/formatter.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"
#include "policy_textgen.h"

namespace {

using bulwark::bench::PolicyText;
using bulwark::bench::RuleShape;
namespace pol = bulwark::policies;

std::size_t g_flows = 10000;  // --flows=N

const PolicyText& policyText(RuleShape shape) {
  static std::map<RuleShape, PolicyText> cache;
  auto it = cache.find(shape);
  if (it == cache.end()) {
    it = cache.emplace(shape, bulwark::bench::generatePolicyText({shape, g_flows})).first;
  }
  return it->second;
}

// The allowed (source host, destination host, service) triples of a loaded policy -- the
// flows -- and the (source address, destination address, protocol/port) tuples they stand
// for. Rules here name hosts and services only, and all allow.
struct FlowCount {
  std::size_t flows = 0, tuples = 0;
};
FlowCount countFlows(const pol::Policy& p) {
  std::set<std::tuple<std::string, std::string, std::string>> flows;
  std::set<std::tuple<pol::IpAddress, pol::IpAddress, pol::PortSpec>> tuples;
  for (const auto& r : p.rules) {
    if (r.action != pol::Action::Allow) continue;
    for (const auto& f : r.from)
      for (const auto& t : r.to)
        for (const auto& s : r.services) {
          flows.emplace(f.text, t.text, s.text);
          const auto* src = p.findHost(f.text);
          const auto* dst = p.findHost(t.text);
          const auto* svc = p.findService(s.text);
          if (!src || !dst || !svc) continue;
          for (const auto& a : src->addresses)
            for (const auto& b : dst->addresses)
              for (const auto& port : svc->ports) tuples.emplace(a, b, port);
        }
  }
  return {flows.size(), tuples.size()};
}

// Checks once, before timing, that the generated policy is what the figures claim.
bool checkPolicy(RuleShape shape) {
  const auto& g = policyText(shape);
  auto loaded = pol::loadPolicyText(g.text, "generated.yaml");
  pol::validatePolicy(loaded.policy, loaded.diagnostics);
  bool ok = true;
  if (!loaded.diagnostics.empty()) {
    std::fprintf(stderr, "%s: %zu diagnostics, first: %s\n", bulwark::bench::shapeName(shape),
                 loaded.diagnostics.items().size(), loaded.diagnostics.items()[0].str().c_str());
    ok = false;
  }
  auto [flows, tuples] = countFlows(loaded.policy);
  if (loaded.policy.hosts.size() != g.hosts || loaded.policy.rules.size() != g.rules ||
      flows != g.flows) {
    std::fprintf(stderr, "%s: expected %zu hosts, %zu rules, %zu flows; loaded %zu, %zu, %zu\n",
                 bulwark::bench::shapeName(shape), g.hosts, g.rules, g.flows,
                 loaded.policy.hosts.size(), loaded.policy.rules.size(), flows);
    ok = false;
  }
  auto formatted = pol::formatPolicyText(g.text, "generated.yaml");
  std::printf("# %-6s policy: %zu bytes, %zu segments, %zu hosts, %zu services, %zu rules, %zu "
              "distinct allowed flows (%zu src/dst/proto/port tuples); validates clean: %s; "
              "already canonical (fmt is a no-op): %s\n",
              bulwark::bench::shapeName(shape), g.text.size(), g.segments, g.hosts, g.services,
              g.rules, flows, tuples, loaded.diagnostics.empty() ? "yes" : "NO",
              formatted.ok() && formatted.text == g.text ? "yes" : "no");
  return ok;
}

// yaml-cpp's parser alone, without building nodes: the scanner's share of YAML::Load.
struct NullHandler : YAML::EventHandler {
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

void BM_YamlCppEvents(benchmark::State& state, RuleShape shape) {
  const auto& text = policyText(shape).text;
  for (auto _ : state) {
    std::stringstream in(text);
    YAML::Parser parser(in);
    NullHandler h;
    while (parser.HandleNextDocument(h)) {
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

// Times `f(text)` on the generated policy's text; throughput is per byte of that text.
template <typename F>
void perText(benchmark::State& state, RuleShape shape, F f) {
  const auto& text = policyText(shape).text;
  for (auto _ : state) {
    auto r = f(text);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void BM_YamlCppLoad(benchmark::State& state, RuleShape shape) {
  perText(state, shape, [](const std::string& text) { return YAML::Load(text); });
}

void BM_Load(benchmark::State& state, RuleShape shape) {
  perText(state, shape, [](const std::string& text) { return pol::loadPolicyText(text, "generated.yaml"); });
}

void BM_Validate(benchmark::State& state, RuleShape shape) {
  auto loaded = pol::loadPolicyText(policyText(shape).text, "generated.yaml");
  for (auto _ : state) {
    pol::Diagnostics d;
    pol::validatePolicy(loaded.policy, d);
    benchmark::DoNotOptimize(d);
  }
}

void BM_LoadValidate(benchmark::State& state, RuleShape shape) {
  perText(state, shape, [](const std::string& text) {
    auto r = pol::loadPolicyText(text, "generated.yaml");
    pol::validatePolicy(r.policy, r.diagnostics);
    return r;
  });
}

void BM_Format(benchmark::State& state, RuleShape shape) {
  perText(state, shape, [](const std::string& text) { return pol::formatPolicyText(text, "generated.yaml"); });
}

#define POLICY_BENCH(fn)                                                  \
  BENCHMARK_CAPTURE(fn, tiered, RuleShape::Tiered)->Unit(benchmark::kMillisecond); \
  BENCHMARK_CAPTURE(fn, flat, RuleShape::Flat)->Unit(benchmark::kMillisecond)

POLICY_BENCH(BM_YamlCppEvents);
POLICY_BENCH(BM_YamlCppLoad);
POLICY_BENCH(BM_Load);
POLICY_BENCH(BM_Validate);
POLICY_BENCH(BM_LoadValidate);
POLICY_BENCH(BM_Format);

// Console output as usual; keeps the real and CPU time of each benchmark for the summary:
// the median over repetitions when there are any (--benchmark_repetitions), else the mean.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  struct Times {
    double wall = std::numeric_limits<double>::quiet_NaN();  // ms
    double cpu = std::numeric_limits<double>::quiet_NaN();   // ms
  };
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      double toMs = benchmark::GetTimeUnitMultiplier(benchmark::kMillisecond) /
                    benchmark::GetTimeUnitMultiplier(r.time_unit);
      Times t{r.GetAdjustedRealTime() * toMs, r.GetAdjustedCPUTime() * toMs};
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") medians_[r.run_name.str()] = t;
        continue;
      }
      auto& [sum, n] = sums_[r.run_name.str()];
      sum.wall = n == 0 ? t.wall : sum.wall + t.wall;
      sum.cpu = n == 0 ? t.cpu : sum.cpu + t.cpu;
      ++n;
    }
  }
  // NaN when the benchmark did not run (filtered out).
  [[nodiscard]] Times get(const std::string& name) const {
    if (auto m = medians_.find(name); m != medians_.end()) return m->second;
    if (auto s = sums_.find(name); s != sums_.end() && s->second.second > 0) {
      return {s->second.first.wall / s->second.second, s->second.first.cpu / s->second.second};
    }
    return {};
  }
  [[nodiscard]] bool medians() const { return !medians_.empty(); }

 private:
  std::map<std::string, Times> medians_;
  std::map<std::string, std::pair<Times, int>> sums_;
};

}  // namespace

int main(int argc, char** argv) {
  // Our own flag first: --flows=N (default 10000), then Google Benchmark's.
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--flows=", 0) == 0) g_flows = std::strtoul(a.c_str() + 8, nullptr, 10);
    else argv[out++] = argv[i];
  }
  argc = out;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  bool ok = checkPolicy(RuleShape::Tiered) & checkPolicy(RuleShape::Flat);
  if (!ok) return 1;

  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  // Single-threaded code: CPU time is what the operation costs; wall time adds whatever
  // else the machine was doing (they match on an idle machine).
  std::printf("\n# Summary: %s per operation; ratio = CPU time / CPU time of YAML::Load of the "
              "same text\n", reporter.medians() ? "median over repetitions" : "mean");
  std::printf("# %-7s %-22s %10s %10s %8s\n", "shape", "operation", "cpu ms", "wall ms", "ratio");
  for (const char* shape : {"tiered", "flat"}) {
    double floor = reporter.get(std::string("BM_YamlCppLoad/") + shape).cpu;
    for (auto [bm, label] : {std::pair{"BM_YamlCppEvents", "yaml-cpp events only"},
                             std::pair{"BM_YamlCppLoad", "YAML::Load (floor)"},
                             std::pair{"BM_Load", "load"},
                             std::pair{"BM_Validate", "validate"},
                             std::pair{"BM_LoadValidate", "load+validate"},
                             std::pair{"BM_Format", "format"}}) {
      auto t = reporter.get(std::string(bm) + "/" + shape);
      std::printf("  %-7s %-22s %10.1f %10.1f %7.2fx\n", shape, label, t.cpu, t.wall, t.cpu / floor);
    }
  }
  return 0;
}
