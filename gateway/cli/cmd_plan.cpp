// plan / apply / counters in direct mode: this process talks netlink itself (root or
// CAP_NET_ADMIN in the gateway's network namespace). Only table inet bulwark is read or
// written.
#include <chrono>
#include <iostream>
#include <map>
#include <sstream>

#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/render.h"
#include "compiled.h"
#include "output.h"
#include "plan_lines.h"

namespace bulwark::cli {

namespace {

using namespace firewall;

const std::string kTable = std::string("inet ") + kTableName;

struct Planned {
  Compiled compiled;
  std::optional<ObservedTable> observed;
  Diff diff;
};

std::optional<Planned> makePlan(const std::string& path, const GlobalOptions& opts) {
  auto c = loadCompiled(path, opts);
  if (!c) return std::nullopt;
  auto observed = observe();
  if (!observed) {
    std::cerr << "bulwarkctl: cannot read table " << kTable << " from the kernel: " << observed.error().message
              << '\n';
    return std::nullopt;
  }
  Planned p{std::move(*c), std::move(observed.value()), {}};
  p.diff = diff(p.compiled.compiled.ruleset, p.observed);
  return p;
}

}  // namespace

int runPlan(const std::string& path, bool detailedExitCode, const GlobalOptions& opts) {
  auto p = makePlan(path, opts);
  if (!p) return kExitInvalid;
  auto lines = planLines(p->compiled.compiled.ruleset, p->observed, p->diff);
  if (opts.json) {
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& c : p->diff.changes) changes.push_back(c.description);
    std::cout << nlohmann::json{{"in_sync", p->diff.empty()},
                                {"elements_only", !p->diff.empty() && p->diff.elementsOnly()},
                                {"changes", changes},
                                {"nft", lines}}
                     .dump(2)
              << '\n';
  } else if (p->diff.empty()) {
    std::cout << "firewall: in sync (table " << kTable << ")\n";
  } else {
    std::cout << "firewall: " << p->diff.changes.size() << " change(s)"
              << (p->diff.elementsOnly() ? ", set elements only (applied without replacing the table)"
                                         : ", applied as one atomic replacement of the table")
              << '\n';
    for (const auto& l : lines) std::cout << "  " << l << '\n';
  }
  if (!detailedExitCode) return kExitOk;
  return p->diff.empty() ? kExitOk : 2;
}

int runApply(const std::string& path, const GlobalOptions& opts) {
  auto p = makePlan(path, opts);
  if (!p) return kExitInvalid;
  const auto& desired = p->compiled.compiled.ruleset;
  if (p->diff.empty()) {
    std::cout << "firewall: in sync, nothing to apply\n";
    return kExitOk;
  }
  auto start = std::chrono::steady_clock::now();
  ApplyOptions ao;
  ao.expectedGenId = p->observed ? std::optional(p->observed->genId) : std::nullopt;
  bool incremental = p->diff.elementsOnly();
  auto result = incremental ? applyElementChanges(desired, p->diff.elementAdditions(), p->diff.elementRemovals(), ao)
                            : apply(desired, ao);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    std::cerr << result.error().message << '\n';
    std::cerr << "bulwarkctl: nothing was changed (the kernel applies a batch whole or not at all)\n";
    return kExitInvalid;
  }
  // Read back: what the kernel holds must now be exactly the policy.
  auto after = observe();
  if (!after) {
    std::cerr << "bulwarkctl: applied, but reading the table back failed: " << after.error().message << '\n';
    return kExitInvalid;
  }
  auto remaining = diff(desired, after.value());
  if (!remaining.empty()) {
    std::cerr << "bulwarkctl: applied, but the kernel's table still differs from the policy:\n";
    for (const auto& c : remaining.changes) std::cerr << "  " << c.description << '\n';
    return kExitInvalid;
  }
  std::cout << "firewall: applied " << p->diff.changes.size() << " change(s) "
            << (incremental ? "as set element updates" : "as one atomic table replacement") << " in "
            << static_cast<int>(ms * 10) / 10.0 << " ms (" << result->messages << " netlink messages, "
            << result->bytes << " bytes); read back: in sync\n";
  return kExitOk;
}

int runCounters(const std::string& path, const GlobalOptions& opts) {
  auto c = loadCompiled(path, opts);
  if (!c) return kExitInvalid;
  auto observed = observe();
  if (!observed) {
    std::cerr << "bulwarkctl: " << observed.error().message << '\n';
    return kExitInvalid;
  }
  if (!observed.value()) {
    std::cerr << "bulwarkctl: table " << kTable << " is not in the kernel (apply first)\n";
    return kExitInvalid;
  }
  // Kernel comments ("campus.yaml:78 public-web") name the policy rule or the built-in
  // ("bulwark: drop app>db"); kernel rules with the same comment add up.
  struct Sum {
    std::uint64_t packets = 0, bytes = 0;
  };
  std::map<std::string, Sum> byComment;
  for (const auto& rc : observed.value()->counters()) {
    auto& sum = byComment[rc.comment];
    sum.packets += rc.packets;
    sum.bytes += rc.bytes;
  }
  if (opts.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [comment, s] : byComment) {
      rows.push_back({{"rule", comment}, {"packets", s.packets}, {"bytes", s.bytes}});
    }
    std::cout << rows.dump(2) << '\n';
    return kExitOk;
  }
  std::cout << "PACKETS       BYTES  RULE\n";
  for (const auto& [comment, s] : byComment) {
    char line[64];
    std::snprintf(line, sizeof line, "%10llu %11llu  ", static_cast<unsigned long long>(s.packets),
                  static_cast<unsigned long long>(s.bytes));
    std::cout << line << comment << '\n';
  }
  return kExitOk;
}

}  // namespace bulwark::cli
