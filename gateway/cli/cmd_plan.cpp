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

namespace bulwark::cli {

namespace {

using namespace firewall;

const std::string kTable = std::string("inet ") + kTableName;

std::string ruleTextAt(const std::optional<ObservedTable>& observed, const std::string& chain, std::size_t i,
                       std::uint64_t* handle) {
  if (!observed) return "";
  const auto* c = observed->findChain(chain);
  if (!c || i >= c->rules.size()) return "";
  const auto& r = c->rules[i];
  if (handle) *handle = r.handle;
  return r.rule ? renderRule(*r.rule) : "# not expressible by Bulwark: " + r.unknown;
}

// The plan as nft commands: what `nft` would have to run to get from the kernel's table
// to the policy's.
std::vector<std::string> planLines(const Ruleset& desired, const std::optional<ObservedTable>& observed,
                                   const Diff& d) {
  std::vector<std::string> out;
  for (const auto& c : d.changes) {
    switch (c.kind) {
      case ChangeKind::TableAbsent: {
        std::istringstream in(renderTable(desired));
        out.push_back("add table " + kTable);
        for (std::string line; std::getline(in, line);) out.push_back("+ " + line);
        break;
      }
      case ChangeKind::SetAdded:
        if (const auto* s = desired.findSet(c.set)) {
          out.push_back("add " + renderSetHeader(*s).insert(renderSetHeader(*s).find(' ') + 1, kTable + " "));
          for (const auto& e : s->elements) {
            out.push_back("add element " + kTable + " " + c.set + " { " + renderSetElement(*s, e) + " }");
          }
        }
        break;
      case ChangeKind::SetRemoved: out.push_back("delete set " + kTable + " " + c.set); break;
      case ChangeKind::SetChanged:
        out.push_back("# " + c.description);
        out.push_back("delete set " + kTable + " " + c.set);
        if (const auto* s = desired.findSet(c.set)) {
          auto header = renderSetHeader(*s);
          out.push_back("add " + header.insert(header.find(' ') + 1, kTable + " "));
        }
        break;
      case ChangeKind::ElementAdded:
      case ChangeKind::ElementRemoved: {
        const auto* s = desired.findSet(c.set);
        if (!s && observed) {
          if (const auto* o = observed->findSet(c.set)) s = &o->def;
        }
        std::string elem = s && c.element ? renderSetElement(*s, *c.element) : c.description;
        out.push_back(std::string(c.kind == ChangeKind::ElementAdded ? "add" : "delete") + " element " + kTable +
                      " " + c.set + " { " + elem + " }");
        break;
      }
      case ChangeKind::ChainAdded:
        if (const auto* ch = desired.findChain(c.chain)) {
          auto header = renderChainHeader(*ch);
          out.push_back("add " + header.insert(header.find(' ') + 1, kTable + " "));
          for (const auto& r : ch->rules) out.push_back("add rule " + kTable + " " + c.chain + " " + renderRule(r));
        }
        break;
      case ChangeKind::ChainRemoved: out.push_back("delete chain " + kTable + " " + c.chain); break;
      case ChangeKind::ChainChanged: out.push_back("# " + c.description); break;
      case ChangeKind::RuleAdded:
        if (const auto* ch = desired.findChain(c.chain); ch && c.ruleIndex < ch->rules.size()) {
          out.push_back("add rule " + kTable + " " + c.chain + " " + renderRule(ch->rules[c.ruleIndex]) +
                        "  # as rule " + std::to_string(c.ruleIndex + 1));
        }
        break;
      case ChangeKind::RuleRemoved:
      case ChangeKind::RuleChanged: {
        std::uint64_t handle = 0;
        auto have = ruleTextAt(observed, c.chain, c.ruleIndex, &handle);
        if (c.kind == ChangeKind::RuleRemoved) {
          out.push_back("delete rule " + kTable + " " + c.chain + " handle " + std::to_string(handle) + "  # " + have);
        } else if (const auto* ch = desired.findChain(c.chain); ch && c.ruleIndex < ch->rules.size()) {
          out.push_back("# " + c.description);
          out.push_back("replace rule " + kTable + " " + c.chain + " handle <rule " + std::to_string(c.ruleIndex + 1) +
                        "> " + renderRule(ch->rules[c.ruleIndex]));
        }
        break;
      }
    }
  }
  return out;
}

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
