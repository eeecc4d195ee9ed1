// bulwarkctl: validate, format and inspect Bulwark policies.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "commands.h"

namespace {

std::string defaultPolicyPath() {
  const char* env = std::getenv("BULWARK_POLICY");
  return env && *env ? env : "/etc/bulwark/policy";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bulwark::cli;
  CLI::App app{"bulwarkctl: the Bulwark gateway's command-line tool"};
  app.require_subcommand(1);
  GlobalOptions opts;
  app.add_flag("--json", opts.json, "Machine-readable JSON output");

  std::string path = defaultPolicyPath();
  const std::string pathHelp = "Policy file or directory (default: $BULWARK_POLICY or /etc/bulwark/policy)";

  auto* validate = app.add_subcommand("validate", "Check a policy; print every problem as file:line:col");
  validate->add_option("PATH", path, pathHelp);
  validate->add_flag("--werror", opts.werror, "Treat warnings as errors");

  bool check = false;
  auto* fmt = app.add_subcommand("fmt", "Rewrite policy files in canonical form (comments are kept)");
  fmt->add_option("PATH", path, pathHelp + "; '-' reads stdin and writes stdout");
  fmt->add_flag("--check", check, "Change nothing; exit 1 if a file is not in canonical form");

  auto* show = app.add_subcommand("show", "Print the segments and the zone-to-zone matrix");
  show->add_option("PATH", path, pathHelp);
  show->add_flag("--werror", opts.werror, "Treat warnings as errors");

  auto* test = app.add_subcommand("test", "Check the policy's expect: assertions offline against the compiled ruleset");
  test->add_option("PATH", path, pathHelp);

  auto* render = app.add_subcommand("render", "Print the compiled nftables ruleset (an nft -f script)");
  render->add_option("PATH", path, pathHelp);

  WhyArgs why;
  auto* whyCmd = app.add_subcommand("why", "Explain what happens to one flow and which policy rule decides");
  whyCmd->add_option("SRC", why.src, "Source: address, host, segment, zone or VPN group")->required();
  whyCmd->add_option("DST", why.dst, "Destination: address (a VIP too) or name")->required();
  whyCmd->add_option("SERVICE", why.service, "tcp/443, udp/53, icmp ...")->required();
  whyCmd->add_option("-p,--policy", path, pathHelp);
  whyCmd->add_option("--iif", why.iif, "Ingress interface (default: where SRC routes)");
  whyCmd->add_flag("--libipsec", why.libipsec, "VPN source arrives on charon's userspace-ESP interface");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; everything else is misuse.
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*validate) return runValidate(path, opts);
  if (*fmt) return runFmt(path, check, opts);
  if (*show) return runShow(path, opts);
  if (*test) return runTest(path, opts);
  if (*render) return runRender(path, opts);
  if (*whyCmd) {
    why.policy = path;
    return runWhy(why, opts);
  }
  return kExitUsage;
}
