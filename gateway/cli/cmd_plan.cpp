// plan / apply / counters in direct mode: this process talks netlink itself (root or
// CAP_NET_ADMIN in the gateway's network namespace), through the apply engine bulwarkd runs
// too (gateway/engine). Only table inet bulwark and the links Bulwark owns are read or written.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "applied_policy.h"
#include "apply_engine.h"
#include "bulwark/firewall/counters.h"
#include "bulwark/policies/loader.h"
#include "bulwark/review/invariants.h"
#include "commands.h"
#include "compiled.h"
#include "counter_json.h"
#include "kinds.h"
#include "kinds/links_kind.h"
#include "output.h"
#include "policy_sides.h"

namespace bulwark::cli {

namespace {

// registeredKinds' order without a VPN: the firewall, then the links.
constexpr std::size_t kFirewall = 0;
constexpr std::size_t kLinks = 1;

const std::string kTable = std::string("inet ") + firewall::kTableName;

// The kinds of a direct run. A pair's node (policy ha:) plans its own addresses: which node
// this is comes from /etc/bulwark/node, else the hostname (as for bulwarkd --ha without --node).
engine::KindOptions directKinds() {
  engine::KindOptions o;
  o.ha = true;
  return o;
}

bool wanted(std::size_t kind, Parts parts) {
  return parts == Parts::All || (parts == Parts::Firewall ? kind == kFirewall : kind == kLinks);
}

void printKindError(std::size_t kind, const engine::KindError& e) {
  std::cerr << "bulwarkctl: " << e.message << '\n';
  for (const auto& d : e.details) std::cerr << d << '\n';
  if (kind == kLinks) {
    std::cerr << "bulwarkctl: cannot plan the segment links (use --only firewall where the segments' "
                 "interfaces are managed by something else)\n";
  }
}

// The policy's desired state of each kind of this run; nullopt (printed why) when unusable.
std::optional<std::vector<std::optional<engine::KindStatePtr>>> desiredStates(engine::ApplyEngine& eng,
                                                                             const std::string& path, Parts parts,
                                                                             const GlobalOptions& opts) {
  auto loaded = policies::loadAndValidate(path);
  // A policy that breaks one of its invariants is invalid: never planned or applied.
  if (!loaded.diagnostics.hasErrors()) review::checkPolicyInvariants(loaded.policy, loaded.diagnostics);
  if (failed(loaded.diagnostics, opts.werror)) {
    printDiagnostics(loaded.diagnostics);
    std::cerr << path << ": invalid policy\n";
    return std::nullopt;
  }
  std::vector<std::optional<engine::KindStatePtr>> want(eng.size());
  auto desired = eng.desired(loaded.policy);
  for (std::size_t i = 0; i < eng.size(); ++i) {
    if (!desired[i]) {
      // The firewall compiler's diagnostics are the policy's own errors: they count with
      // --only links too.
      if (i == kFirewall) {
        for (const auto& d : desired[i].error().details) std::cerr << d << '\n';
        return std::nullopt;
      }
      if (!wanted(i, parts)) continue;
      printKindError(i, desired[i].error());
      return std::nullopt;
    }
    if (wanted(i, parts)) want[i] = *desired[i];
  }
  return want;
}

// Revocation of a firewall change (dry run: what plan reports); null JSON when there is
// nothing to judge. The SSH session this runs in is never cut (revocation.h).
nlohmann::json revocation(const std::optional<engine::FirewallChange>& change, bool dryRun) {
  if (!change) return nullptr;
  engine::RevocationOptions o;
  o.dryRun = dryRun;
  if (const char* ssh = std::getenv("SSH_CONNECTION")) {
    if (auto k = engine::keptFlowFromText(ssh)) o.kept.push_back(*k);
  }
  auto r = engine::revokeChange(*change, o);
  if (!r) return nullptr;
  if (!*r) {
    std::cerr << "bulwarkctl: connections: cannot read the conntrack table: " << r->error().message << '\n';
    return {{"error", r->error().message}};
  }
  return engine::revocationJson(r->value());
}

std::size_t segmentLinks(const engine::KindStatePtr& state) {
  const auto* ls = dynamic_cast<const engine::LinksState*>(state.get());
  return ls ? ls->set.links.size() : 0;
}

// The plan in policy terms: the policy the kernel holds (applied_policy.h) against this one.
nlohmann::json planReview(engine::ApplyEngine& eng, const std::string& path, Parts parts, bool inSync) {
  auto proposed = readWorkingTree(path);
  if (!proposed.ok()) return {{"known", false}, {"reason", proposed.error}};
  std::vector<std::size_t> kinds;
  for (std::size_t i = 0; i < eng.size(); ++i) {
    if (wanted(i, parts)) kinds.push_back(i);
  }
  auto applied = appliedInKernel(eng, path, kinds, inSync, proposed.input.sources);
  return review::planReview(applied, proposed.input, std::nullopt);
}

}  // namespace

int runPlan(const std::string& path, bool detailedExitCode, Parts parts, bool nftOnly, const GlobalOptions& opts) {
  engine::ApplyEngine eng(engine::registeredKinds(directKinds()));
  auto want = desiredStates(eng, path, parts, opts);
  if (!want) return kExitInvalid;
  std::vector<std::optional<engine::KindPlan>> plans(eng.size());
  for (std::size_t i = 0; i < eng.size(); ++i) {
    if (!(*want)[i]) continue;
    auto p = eng.plan(i, *(*want)[i]);
    if (!p) {
      printKindError(i, p.error());
      return kExitInvalid;
    }
    plans[i] = std::move(p->plan);
  }
  const bool inSync = std::all_of(plans.begin(), plans.end(), [](const auto& p) { return !p || p->inSync; });
  const auto& fw = plans[kFirewall];
  const auto& links = plans[kLinks];
  auto cuts = fw ? revocation(engine::firewallChange(*fw, *(*want)[kFirewall]), true) : nlohmann::json();
  auto review = nftOnly ? nlohmann::json() : planReview(eng, path, parts, inSync);
  if (opts.json) {
    nlohmann::json j{{"in_sync", inSync},
                     {"elements_only", fw && !fw->inSync && fw->incremental},
                     {"changes", fw ? fw->changes : std::vector<std::string>{}},
                     {"nft", fw ? fw->commands : std::vector<std::string>{}},
                     {"links", links ? links->changes : std::vector<std::string>{}},
                     {"revocation", cuts}};
    if (!nftOnly) j["review"] = review;
    std::cout << j.dump(2) << '\n';
  } else {
    printPlanReview(review);
    if (fw && fw->inSync) {
      std::cout << "firewall: in sync (table " << kTable << ")\n";
    } else if (fw) {
      std::cout << "firewall: " << fw->changes.size() << " change(s)"
                << (fw->incremental ? ", set elements only (applied without replacing the table)"
                    : fw->partial   ? ", rules of existing chains only (those chains rewritten, not the table)"
                                    : ", applied as one atomic replacement of the table")
                << '\n';
      for (const auto& l : fw->commands) std::cout << "  " << l << '\n';
      printRevocation(cuts);
    }
    if (links && links->inSync) {
      std::cout << "links: in sync (" << segmentLinks(*(*want)[kLinks]) << " segment interfaces)\n";
    } else if (links) {
      std::cout << "links: " << links->changes.size() << " operation(s), in this order\n";
      for (const auto& op : links->changes) std::cout << "  " << op << '\n';
    }
  }
  if (!detailedExitCode) return kExitOk;
  return inSync ? kExitOk : 2;
}

int runApply(const std::string& path, Parts parts, bool keepEstablished, const GlobalOptions& opts) {
  engine::ApplyEngine eng(engine::registeredKinds(directKinds()));
  auto want = desiredStates(eng, path, parts, opts);
  if (!want) return kExitInvalid;
  // What each kind goes back to on a failure: what is observed before anything is written.
  auto run = eng.run(*want, std::vector<std::optional<engine::KindStatePtr>>(eng.size()),
                     engine::FailureMode::AllOrNothing);
  const bool failed = run.failed();
  const bool inSync = std::all_of(run.kinds.begin(), run.kinds.end(),
                                  [](const engine::KindRun& k) { return k.applied && k.applied->plan.inSync; });
  if (!failed && inSync) {
    std::cout << "in sync, nothing to apply\n";
    return kExitOk;
  }
  for (const auto& k : run.kinds) {
    const auto name = eng.kind(k.index).name();
    if (k.error) {
      std::cerr << "bulwarkctl: " << name << ": " << k.error->message << '\n';
      for (const auto& d : k.error->details) std::cerr << "  " << d << '\n';
      if (!k.error->written) std::cerr << "bulwarkctl: " << name << " was not changed\n";
    } else if (k.applied && k.applied->plan.inSync) {
      std::cout << name << ": in sync, nothing to apply\n";
    } else if (k.applied && !k.restored) {
      const auto& a = *k.applied;
      std::cout << name << ": applied " << a.plan.changes.size() << " change(s)"
                << (k.index != kFirewall  ? ""
                    : a.plan.incremental ? " as set element updates"
                    : a.plan.partial     ? " as a rewrite of the changed chains"
                                         : " as one atomic table replacement")
                << " in " << static_cast<int>(a.millis * 10) / 10.0 << " ms (" << a.counts << "); read back: in sync\n";
    }
    if (k.restored) std::cerr << "bulwarkctl: " << name << ": restored to its state before this apply\n";
    if (k.index == kFirewall && k.applied && !k.restored && !failed) {
      auto change = engine::firewallChange(*k.applied, *(*want)[kFirewall]);
      if (keepEstablished && change) {
        std::cout << "connections: established ones kept (--keep-established)\n";
      } else {
        printRevocation(revocation(change, false));
      }
    }
  }
  for (const auto& f : run.restoreFailures) std::cerr << "bulwarkctl: restoring failed too: " << f << '\n';
  return failed ? kExitInvalid : kExitOk;
}

int runCounters(const std::string& path, const GlobalOptions& opts) {
  auto c = loadCompiled(path, opts);
  if (!c) return kExitInvalid;
  auto totals = firewall::counterTotals();
  if (!totals) {
    std::cerr << "bulwarkctl: " << totals.error().message << '\n';
    return kExitInvalid;
  }
  if (!totals->tablePresent) {
    std::cerr << "bulwarkctl: table " << kTable << " is not in the kernel (apply first)\n";
    return kExitInvalid;
  }
  // One row per policy rule (or built-in), named by its kernel comment ("campus.yaml:78
  // public-web", "bulwark: drop app>db"); kernel rules with the same comment add up.
  auto rules = totals->rules;
  std::sort(rules.begin(), rules.end(), [](const auto& a, const auto& b) { return a.comment < b.comment; });
  // Then one row per zone pair: every forwarded packet, established traffic included
  // (counters.h), as the daemon's counters op, its metrics, the console and the web view.
  if (opts.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : rules) rows.push_back({{"rule", r.comment}, {"packets", r.packets}, {"bytes", r.bytes}});
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& p : totals->pairs) pairs.push_back(engine::pairTotalJson(p));
    std::cout << nlohmann::json{{"rules", rows}, {"zone_pairs", pairs}}.dump(2) << '\n';
    return kExitOk;
  }
  auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::cout << "PACKETS       BYTES  RULE\n";
  for (const auto& r : rules) {
    char line[64];
    std::snprintf(line, sizeof line, "%10llu %11llu  ", u(r.packets), u(r.bytes));
    std::cout << line << r.comment << '\n';
  }
  std::cout << "\nPACKETS       BYTES  ESTABLISHED      REPLIES  DROPPED  ZONE PAIR\n";
  for (const auto& p : totals->pairs) {
    char line[96];
    std::snprintf(line, sizeof line, "%10llu %11llu  %11llu  %11llu  %7llu  ", u(p.packets), u(p.bytes),
                  u(p.establishedBytes), u(p.replyBytes), u(p.dropPackets));
    std::cout << line << p.from << " > " << p.to << '\n';
  }
  return kExitOk;
}

}  // namespace bulwark::cli
