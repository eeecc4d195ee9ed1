// The subcommands of the policy and firewall verbs.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "commands.h"
#include "compiled.h"

namespace bulwark::cli {

namespace {
// A verb that reads the policy at r.path: a missing path is a usage error (exit 2).
Action withPolicy(Registry& r, Action run) {
  return [&r, run] { return policyPathExists(r.path) ? run() : kExitUsage; };
}

// `--only vpn` without bulwarkd (or with --direct): there is no VPN part here to plan.
int directOnlyRefused() {
  std::cerr << "bulwarkctl: --only vpn goes through bulwarkd (its --vici); direct mode plans and applies the "
               "firewall and the links only\n";
  return kExitUsage;
}
}  // namespace

void registerPolicyCommands(Registry& r) {
  auto* validate = r.app.add_subcommand("validate", "Check a policy; print every problem as file:line:col");
  validate->add_option("PATH", r.path, r.pathHelp);
  validate->add_flag("--werror", r.opts.werror, "Treat warnings as errors");
  validate->callback([&r] { r.action = withPolicy(r, [&r] { return runValidate(r.path, r.opts); }); });

  auto check = std::make_shared<bool>(false);
  auto* fmt = r.app.add_subcommand("fmt", "Rewrite policy files in canonical form (comments are kept)");
  fmt->add_option("PATH", r.path, r.pathHelp + "; '-' reads stdin and writes stdout");
  fmt->add_flag("--check", *check, "Change nothing; exit 1 if a file is not in canonical form");
  fmt->callback([&r, check] { r.action = [&r, check] { return runFmt(r.path, *check, r.opts); }; });

  auto* show = r.app.add_subcommand("show", "Print the segments and the zone-to-zone matrix");
  show->add_option("PATH", r.path, r.pathHelp);
  show->add_flag("--werror", r.opts.werror, "Treat warnings as errors");
  show->callback([&r] { r.action = withPolicy(r, [&r] { return runShow(r.path, r.opts); }); });

  auto diff = std::make_shared<DiffArgs>();
  auto* diffCmd = r.app.add_subcommand(
      "diff", "What a policy change does: the change in policy terms, then the flows it newly allows or denies");
  diffCmd->add_option("OLD", diff->oldSide, "A policy path or a Git revision of the policy's repository (default: HEAD)");
  diffCmd->add_option("NEW", diff->newSide, "A policy path or a Git revision (default: the working tree)");
  diffCmd->add_option("-p,--policy", r.path, r.pathHelp + "; its Git repository is where revisions are read");
  diffCmd->add_flag("--json", r.opts.json, "Machine-readable JSON output (exact prefixes and port ranges)");
  diffCmd->add_flag("--markdown", diff->markdown, "Markdown, for a merge-request comment");
  diffCmd->add_flag("--werror", r.opts.werror, "A warning on either side fails the diff (exit 1)");
  diffCmd->callback([&r, diff] {
    r.action = [&r, diff] {
      diff->policy = r.path;
      return runDiff(*diff, r.opts);
    };
  });
}

void registerFirewallCommands(Registry& r) {
  auto* test = r.app.add_subcommand("test", "Check the policy's expect: assertions offline against the compiled ruleset");
  test->add_option("PATH", r.path, r.pathHelp);
  test->callback([&r] { r.action = withPolicy(r, [&r] { return runTest(r.path, r.opts); }); });

  auto* render = r.app.add_subcommand("render", "Print the compiled nftables ruleset (an nft -f script)");
  render->add_option("PATH", r.path, r.pathHelp);
  render->callback([&r] { r.action = withPolicy(r, [&r] { return runRender(r.path, r.opts); }); });

  auto why = std::make_shared<WhyArgs>();
  auto* whyCmd = r.app.add_subcommand("why", "Explain what happens to one flow and which policy rule decides");
  whyCmd->add_option("SRC", why->src, "Source: address, host, segment, zone or VPN group")->required();
  whyCmd->add_option("DST", why->dst, "Destination: address (a VIP too) or name")->required();
  whyCmd->add_option("SERVICE", why->service, "tcp/443, udp/53, icmp ...")->required();
  whyCmd->add_option("-p,--policy", r.path, r.pathHelp);
  whyCmd->add_option("--iif", why->iif, "Ingress interface (default: where SRC routes)");
  whyCmd->add_flag("--libipsec", why->libipsec, "VPN source arrives on charon's userspace-ESP interface");
  whyCmd->callback([&r, why] {
    r.action = [&r, why] {
      why->policy = r.path;
      return runWhy(*why, r.opts);
    };
  });

  // --direct: talk to the kernel here even when bulwarkd is running (cmd_daemon.cpp routes
  // plan/apply through the daemon otherwise).
  auto detailed = std::make_shared<bool>(false);
  auto direct = std::make_shared<bool>(false);
  auto only = std::make_shared<std::string>("all");
  auto parts = [only] {
    return *only == "firewall" ? Parts::Firewall : *only == "links" ? Parts::Links : Parts::All;
  };
  const char* onlyHelp =
      "Only one part: the firewall, the segment links or (through bulwarkd) the VPN; the others stay as they are "
      "(default: all)";
  // Direct mode runs the firewall and the links only: the VPN is bulwarkd's (--vici).
  auto directOnly = [only] { return *only == "all" || *only == "firewall" || *only == "links"; };
  auto* plan = r.app.add_subcommand("plan", "Show what apply would change: in policy terms and its effect on flows, then in the kernel (nft commands, links)");
  plan->add_option("PATH", r.path, r.pathHelp);
  plan->add_flag("--detailed-exitcode", *detailed, "Exit 0 when in sync, 2 when there are changes, 1 on error");
  plan->add_flag("--direct", *direct, "Talk to the kernel directly (no daemon)");
  auto nftOnly = std::make_shared<bool>(false);
  plan->add_flag("--nft", *nftOnly,
                 "Only the kernel plan (nft commands, links), without the change in policy terms and its effect");
  plan->add_option("--only", *only, onlyHelp)->check(CLI::IsMember({"all", "firewall", "links", "vpn"}));
  // The callbacks own the flag storage: CLI11 writes through these references while parsing.
  plan->callback([&r, detailed, direct, parts, nftOnly, directOnly] {
    r.action = withPolicy(r, [&r, detailed, parts, nftOnly, directOnly] {
      if (!directOnly()) return directOnlyRefused();
      return runPlan(r.path, *detailed, parts(), *nftOnly, r.opts);
    });
  });

  auto keep = std::make_shared<bool>(false);
  auto* apply = r.app.add_subcommand("apply", "Program the policy into the kernel: firewall atomically, then links");
  apply->add_option("PATH", r.path, r.pathHelp);
  apply->add_flag("--direct", *direct, "Talk to the kernel directly (no daemon)");
  apply->add_option("--only", *only, onlyHelp)->check(CLI::IsMember({"all", "firewall", "links", "vpn"}));
  apply->add_flag("--keep-established", *keep,
                  "Leave established connections the new policy no longer allows running (default: cut them)");
  apply->callback([&r, direct, parts, keep, directOnly] {
    r.action = withPolicy(r, [&r, parts, keep, directOnly] {
      if (!directOnly()) return directOnlyRefused();
      return runApply(r.path, parts(), *keep, r.opts);
    });
  });

  auto* counters = r.app.add_subcommand("counters", "Packet and byte counters per policy rule and per zone pair");
  counters->add_option("PATH", r.path, r.pathHelp);
  counters->callback([&r] { r.action = withPolicy(r, [&r] { return runCounters(r.path, r.opts); }); });
}

}  // namespace bulwark::cli
