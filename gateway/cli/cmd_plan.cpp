// plan / apply / counters in direct mode: this process talks netlink itself (root or
// CAP_NET_ADMIN in the gateway's network namespace). Only table inet bulwark is read or
// written.
#include <chrono>
#include <iostream>
#include <map>
#include <sstream>

#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/render.h"
#include "bulwark/ha/node_view.h"
#include "bulwark/vlan/reconcile.h"
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
  std::optional<vlan::Plan> links;  // none with --only firewall
  [[nodiscard]] bool empty() const { return diff.empty() && (!links || links->empty()); }
};

std::optional<Planned> makePlan(const std::string& path, Parts parts, const GlobalOptions& opts) {
  auto c = loadCompiled(path, opts);
  if (!c) return std::nullopt;
  Planned p{std::move(*c), std::nullopt, {}, std::nullopt};
  if (parts != Parts::Links) {
    auto observed = observe();
    if (!observed) {
      std::cerr << "bulwarkctl: cannot read table " << kTable << " from the kernel: " << observed.error().message
                << '\n';
      return std::nullopt;
    }
    p.observed = std::move(observed.value());
    p.diff = diff(p.compiled.compiled.ruleset, p.observed);
  }
  if (parts != Parts::Firewall) {
    // A pair's node (policy ha:) plans its own addresses: which node this is comes from
    // /etc/bulwark/node, else the hostname (as for bulwarkd --ha without --node).
    std::string node;
    if (p.compiled.loaded.policy.ha) {
      auto n = ha::localNodeName("");
      if (n) node = *n;
    }
    auto links = vlan::planLinks(p.compiled.loaded.policy, node);
    if (!links) {
      std::cerr << links.error().message << '\n';
      std::cerr << "bulwarkctl: cannot plan the segment links (use --only firewall where the segments' "
                   "interfaces are managed by something else)\n";
      return std::nullopt;
    }
    p.links = std::move(links.value());
  }
  return p;
}

void printLinks(const vlan::Plan& plan) {
  if (plan.empty()) {
    std::cout << "links: in sync (" << plan.desired.links.size() << " segment interfaces)\n";
    return;
  }
  std::cout << "links: " << plan.ops.size() << " operation(s), in this order\n";
  for (const auto& op : plan.ops) std::cout << "  " << op.description() << '\n';
}

}  // namespace

int runPlan(const std::string& path, bool detailedExitCode, Parts parts, const GlobalOptions& opts) {
  auto p = makePlan(path, parts, opts);
  if (!p) return kExitInvalid;
  auto lines = planLines(p->compiled.compiled.ruleset, p->observed, p->diff);
  if (opts.json) {
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& c : p->diff.changes) changes.push_back(c.description);
    nlohmann::json links = nlohmann::json::array();
    if (p->links) {
      for (const auto& op : p->links->ops) links.push_back(op.description());
    }
    std::cout << nlohmann::json{{"in_sync", p->empty()},
                                {"elements_only", !p->diff.empty() && p->diff.elementsOnly()},
                                {"changes", changes},
                                {"nft", lines},
                                {"links", links}}
                     .dump(2)
              << '\n';
  } else if (parts == Parts::Links) {
    // links only: printed below
  } else if (p->diff.empty()) {
    std::cout << "firewall: in sync (table " << kTable << ")\n";
  } else {
    std::cout << "firewall: " << p->diff.changes.size() << " change(s)"
              << (p->diff.elementsOnly() ? ", set elements only (applied without replacing the table)"
                                         : ", applied as one atomic replacement of the table")
              << '\n';
    for (const auto& l : lines) std::cout << "  " << l << '\n';
  }
  if (!opts.json && p->links) printLinks(*p->links);
  if (!detailedExitCode) return kExitOk;
  return p->empty() ? kExitOk : 2;
}

namespace {

// The firewall part of apply: atomic replacement or element updates, then read back.
bool applyFirewall(const Planned& p) {
  const auto& desired = p.compiled.compiled.ruleset;
  if (p.diff.empty()) {
    std::cout << "firewall: in sync, nothing to apply\n";
    return true;
  }
  auto start = std::chrono::steady_clock::now();
  ApplyOptions ao;
  ao.expectedGenId = p.observed ? std::optional(p.observed->genId) : std::nullopt;
  bool incremental = p.diff.elementsOnly();
  auto result = incremental ? applyElementChanges(desired, p.diff.elementAdditions(), p.diff.elementRemovals(), ao)
                            : apply(desired, ao);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    std::cerr << result.error().message << '\n';
    std::cerr << "bulwarkctl: the firewall was not changed (the kernel applies a batch whole or not at all)\n";
    return false;
  }
  // Read back: what the kernel holds must now be exactly the policy.
  auto after = observe();
  if (!after) {
    std::cerr << "bulwarkctl: applied, but reading the table back failed: " << after.error().message << '\n';
    return false;
  }
  auto remaining = diff(desired, after.value());
  if (!remaining.empty()) {
    std::cerr << "bulwarkctl: applied, but the kernel's table still differs from the policy:\n";
    for (const auto& c : remaining.changes) std::cerr << "  " << c.description << '\n';
    return false;
  }
  std::cout << "firewall: applied " << p.diff.changes.size() << " change(s) "
            << (incremental ? "as set element updates" : "as one atomic table replacement") << " in "
            << static_cast<int>(ms * 10) / 10.0 << " ms (" << result->messages << " netlink messages, "
            << result->bytes << " bytes); read back: in sync\n";
  return true;
}

// Puts back the table as it was before this run (or removes it if there was none).
void restoreFirewall(const Planned& p) {
  if (p.diff.empty()) return;
  KernelResult<ApplyReport> r = p.observed ? apply(p.observed->ruleset()) : apply(Ruleset{});
  std::cerr << (r ? "bulwarkctl: the firewall was restored to its state before this apply\n"
                  : "bulwarkctl: restoring the previous firewall failed too: " + r.error().message + "\n");
}

}  // namespace

int runApply(const std::string& path, Parts parts, const GlobalOptions& opts) {
  auto p = makePlan(path, parts, opts);
  if (!p) return kExitInvalid;
  if (p->empty()) {
    std::cout << "in sync, nothing to apply\n";
    return kExitOk;
  }
  // Firewall first: new segments are protected before their links come up, and the firewall
  // matches interfaces by name, so it does not need them to exist yet.
  if (parts != Parts::Links && !applyFirewall(*p)) return kExitInvalid;
  if (p->links) {
    if (p->links->empty()) {
      std::cout << "links: in sync, nothing to apply\n";
    } else {
      auto done = vlan::applyLinks(*p->links);
      if (!done) {
        std::cerr << done.error().message << '\n';
        std::cerr << "bulwarkctl: the link changes of this run were undone\n";
        if (parts != Parts::Links) restoreFirewall(*p);
        return kExitInvalid;
      }
      std::cout << "links: applied " << done->ops << " operation(s) (" << done->messages << " netlink messages, "
                << done->sysctls << " sysctls)\n";
    }
  }
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
