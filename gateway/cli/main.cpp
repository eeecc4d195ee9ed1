// bulwarkctl: validate, format, inspect, test and apply Bulwark policies.
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
  app.set_version_flag("--version", std::string("bulwarkctl ") + BULWARK_VERSION);
  GlobalOptions opts;
  app.add_flag("--json", opts.json, "Machine-readable JSON output");

  std::string path = defaultPolicyPath();
  const std::string pathHelp = "Policy file or directory (default: $BULWARK_POLICY or /etc/bulwark/policy)";
  Action action;
  Registry registry{app, opts, path, pathHelp, action};
  registerPolicyCommands(registry);
  registerFirewallCommands(registry);
  registerPkiCommands(registry);
  registerVpnCommands(registry);
  registerDaemonCommands(registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; everything else is misuse.
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return action ? action() : kExitUsage;
}
