// bulwarkctl vpn apply|plan, tunnels [terminate USER]: the admin VPN driven over charon's
// VICI socket (tunnels and terminate go through bulwarkd when its socket exists, see
// cmd_daemon.cpp; --direct or --vici keeps them here). Exit codes: 0 ok (vpn plan --detailed-exitcode: 0 in sync, 3 changes
// pending), 1 invalid policy or charon refused a change, 2 usage, I/O or VICI transport
// error (charon not running, socket unreachable). Private keys are never printed.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <utility>

#include "bulwark/pki/pki.h"
#include "bulwark/policies/loader.h"
#include "bulwark/vpn/charon_config.h"
#include "bulwark/vpn/credentials.h"
#include "bulwark/vpn/tunnels.h"
#include "commands.h"
#include "output.h"

namespace bulwark::cli {

namespace {

namespace pki = bulwark::pki;
using vpn::ViciError;

constexpr int kExitFailure = 1;
constexpr int kExitPending = 3;

struct VpnArgs {
  std::string vici = std::string(vpn::kDefaultViciUri);
  std::string pkiDir = pki::kDefaultDir;
  std::string ca, cert, key, crl;  // override single files of the PKI directory
  bool watch = false;
  bool detailed = false;
  bool libipsec = false;
  bool direct = false;  // tunnels/terminate: read by cmd_daemon.cpp through the option's count
  std::string user;
};

int viciFailure(const ViciError& e) {
  std::cerr << "bulwarkctl: " << e.message << '\n';
  return e.isTransport() || e.kind == vpn::ViciErrorKind::Config ? kExitUsage : kExitFailure;
}

// One VICI request on a connection of its own to charon (tunnels, terminate): what `call`
// returns, or why charon could not be reached.
template <typename Call>
auto onCharon(const std::string& uri, const Call& call) -> decltype(call(std::declval<vpn::ViciClient&>())) {
  auto client = vpn::ViciClient::connect(uri);
  if (!client) {
    return client.error();
  }
  return call(**client);
}

// The desired charon config, or an exit code.
struct Desired {
  vpn::CharonConfig config;
  int exitCode = kExitOk;
};

Desired loadDesired(const std::string& path, const VpnArgs& a, const GlobalOptions& opts) {
  Desired d;
  auto result = policies::loadAndValidate(path);
  if (failed(result.diagnostics, opts.werror)) {
    printDiagnostics(result.diagnostics);
    std::cerr << path << ": invalid policy\n";
    d.exitCode = kExitFailure;
    return d;
  }
  vpn::Credentials creds;
  if (result.policy.vpn) {
    auto files = vpn::credentialFiles(a.pkiDir);
    for (const auto& [arg, file] : {std::pair{&a.ca, &files.ca}, std::pair{&a.cert, &files.cert},
                                    std::pair{&a.key, &files.key}, std::pair{&a.crl, &files.crl}}) {
      if (!arg->empty()) *file = *arg;
    }
    auto loaded = vpn::loadCredentials(files);
    if (!loaded) {
      std::cerr << "bulwarkctl: " << loaded.error().message << '\n';
      d.exitCode = kExitUsage;
      return d;
    }
    creds = std::move(*loaded);
  }
  vpn::CharonOptions co;
  co.forceEncap = a.libipsec;
  auto cfg = vpn::charonConfigFromPolicy(result.policy, std::move(creds), co);
  if (!cfg.ok()) {
    for (const auto& e : cfg.errors) {
      std::cerr << e << '\n';
    }
    d.exitCode = kExitFailure;
    return d;
  }
  d.config = std::move(cfg.config);
  return d;
}

nlohmann::json planJson(const vpn::Plan& plan) {
  auto arr = nlohmann::json::array();
  for (const auto& c : plan.changes) {
    arr.push_back({{"action", vpn::changeKindName(c.kind)}, {"name", c.name}, {"reason", c.reason}});
  }
  return arr;
}

void printPlan(const vpn::Plan& plan) {
  for (const auto& c : plan.changes) {
    std::cout << "  " << vpn::changeKindName(c.kind) << ' ' << c.name << "  (" << c.reason << ")\n";
  }
}

std::atomic<bool> gStop{false};
extern "C" void onStopSignal(int) { gStop.store(true); }

std::string stamp() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", std::localtime(&t));
  return buf;
}

int runWatch(const VpnArgs& a, vpn::CharonConfig desired) {
  std::signal(SIGTERM, onStopSignal);
  std::signal(SIGINT, onStopSignal);
  vpn::ConfigWatcher watcher(a.vici, std::move(desired));
  bool wasUnreachable = false;
  watcher.run(gStop, [&](const vpn::WatchStep& s) {
    switch (s.kind) {
      case vpn::WatchStepKind::Reloaded:
        std::cout << stamp() << " reloaded (#" << watcher.reloads() << "): "
                  << (s.result.plan.inSync() ? std::string("in sync")
                                             : std::to_string(s.result.applied) + " change(s) applied")
                  << std::endl;
        wasUnreachable = false;
        break;
      case vpn::WatchStepKind::Failed:
        std::cout << stamp() << " reload failed: " << s.error.message << std::endl;
        break;
      case vpn::WatchStepKind::Disconnected:
        std::cout << stamp() << " charon went away (" << s.error.message << "); reconnecting" << std::endl;
        break;
      case vpn::WatchStepKind::Unreachable:
        if (!wasUnreachable) {
          std::cout << stamp() << " charon unreachable: " << s.error.message << std::endl;
        }
        wasUnreachable = true;
        break;
      case vpn::WatchStepKind::Event: {
        std::string up = s.event.message.get("up", "no");
        for (const auto& e : s.event.message.entries()) {
          if (e.kind == vpn::Entry::Kind::Section) {
            std::cout << stamp() << " event " << s.event.name << " " << (up == "yes" ? "up" : "down") << ' '
                      << e.name << ' ' << e.section.get("remote-id") << std::endl;
          }
        }
        break;
      }
      case vpn::WatchStepKind::Idle:
        break;
    }
  });
  return kExitOk;
}

int runVpnApply(const std::string& path, const VpnArgs& a, const GlobalOptions& opts, bool dryRun) {
  auto d = loadDesired(path, a, opts);
  if (d.exitCode != kExitOk) {
    return d.exitCode;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto client = vpn::ViciClient::connect(a.vici);
  if (!client) {
    return viciFailure(client.error());
  }
  auto observed = vpn::observe(**client);
  if (!observed) {
    return viciFailure(observed.error());
  }
  vpn::Plan plan = vpn::planReconcile(d.config, *observed);
  if (dryRun) {
    if (opts.json) {
      std::cout << nlohmann::json{{"in_sync", plan.inSync()}, {"changes", planJson(plan)}}.dump(2) << '\n';
    } else if (plan.inSync()) {
      std::cout << "charon is in sync with the policy\n";
    } else {
      std::cout << plan.changes.size() << " change(s) to make:\n";
      printPlan(plan);
    }
    return a.detailed && !plan.inSync() ? kExitPending : kExitOk;
  }
  vpn::ApplyResult r = vpn::applyPlan(**client, d.config, plan);
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (opts.json) {
    auto errs = nlohmann::json::array();
    for (const auto& e : r.errors) {
      errs.push_back({{"kind", vpn::viciErrorKindName(e.kind)}, {"message", e.message}});
    }
    std::cout << nlohmann::json{{"in_sync", plan.inSync()}, {"changes", planJson(plan)}, {"applied", r.applied},
                                {"errors", errs}, {"elapsed_ms", ms}}
                     .dump(2)
              << '\n';
  } else if (plan.inSync()) {
    std::cout << "charon is in sync with the policy (nothing changed)\n";
  } else {
    printPlan(plan);
    std::cout << "applied " << r.applied << " of " << plan.changes.size() << " change(s) in "
              << static_cast<long>(ms) << " ms\n";
  }
  for (const auto& e : r.errors) {
    std::cerr << "bulwarkctl: " << e.message << '\n';
  }
  if (!r.ok()) {
    return r.errors.front().isTransport() ? kExitUsage : kExitFailure;
  }
  client->reset();
  if (a.watch) {
    return runWatch(a, std::move(d.config));
  }
  return kExitOk;
}

std::string ago(std::int64_t since) {
  if (since == 0) {
    return "-";
  }
  std::time_t t = since;
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

nlohmann::json tunnelRow(const vpn::Tunnel& t) {
  return {{"user", t.user}, {"group", t.group}, {"identity", t.identity}, {"virtual_ip", t.virtualIp},
          {"outer_address", t.outerAddress}, {"state", t.state}, {"up_since", t.upSince},
          {"bytes_in", t.bytesIn}, {"bytes_out", t.bytesOut}, {"packets_in", t.packetsIn},
          {"packets_out", t.packetsOut}, {"ike_id", t.ikeId}};
}

int runTunnels(const VpnArgs& a, const GlobalOptions& opts) {
  auto tunnels = onCharon(a.vici, [](vpn::ViciClient& c) { return vpn::listTunnels(c); });
  if (!tunnels) {
    return viciFailure(tunnels.error());
  }
  auto rows = nlohmann::json::array();
  for (const auto& t : *tunnels) {
    rows.push_back(tunnelRow(t));
  }
  return printTunnels(rows, opts);
}

int runTerminate(const VpnArgs& a, const GlobalOptions& opts) {
  auto n = onCharon(a.vici, [&a](vpn::ViciClient& c) { return vpn::terminateUser(c, a.user); });
  if (!n) {
    return viciFailure(n.error());
  }
  if (*n == 0) {
    std::cerr << "bulwarkctl: no admin tunnel of '" << a.user << "' is up\n";
    return kExitFailure;
  }
  printTerminated(a.user, *n, opts);
  return kExitOk;
}

void addViciOption(CLI::App* cmd, VpnArgs& a) {
  cmd->add_option("--vici", a.vici, "charon's VICI socket (default unix:///var/run/charon.vici)");
}

// tunnels / terminate go through bulwarkd when its socket exists (cmd_daemon.cpp routes them);
// --direct or an explicit --vici talks to charon itself, as before the daemon had the ops.
void addDirectOptions(CLI::App* cmd, VpnArgs& a) {
  cmd->add_option("--vici", a.vici,
                  "Talk to charon's VICI socket directly instead of bulwarkd (default unix:///var/run/charon.vici)");
  cmd->add_flag("--direct", a.direct, "Talk to charon's VICI socket directly (--vici) instead of bulwarkd");
}

void addPkiOptions(CLI::App* cmd, VpnArgs& a) {
  cmd->add_option("--pki", a.pkiDir, std::string("PKI directory (default ") + pki::kDefaultDir + ")");
  cmd->add_option("--ca", a.ca, "CA certificate (default: <pki>/ca.crt)");
  cmd->add_option("--cert", a.cert, "gateway certificate (default: <pki>/gateway.crt)");
  cmd->add_option("--key", a.key, "gateway private key (default: <pki>/private/gateway.key)");
  cmd->add_option("--crl", a.crl, "CRL (default: <pki>/crl.pem, when present)");
  cmd->add_flag("--libipsec", a.libipsec, "charon uses kernel-libipsec (userspace ESP): force UDP encapsulation");
}

// vpn apply and vpn plan read the same: the policy, charon's socket, the PKI files.
void addPolicyInputs(CLI::App* cmd, Registry& r, VpnArgs& a) {
  cmd->add_option("PATH", r.path, r.pathHelp);
  addViciOption(cmd, a);
  addPkiOptions(cmd, a);
}

}  // namespace

int printTunnels(const nlohmann::json& rows, const GlobalOptions& opts) {
  if (opts.json) {
    std::cout << rows.dump(2) << '\n';
    return kExitOk;
  }
  if (rows.empty()) {
    std::cout << "no admin tunnels\n";
    return kExitOk;
  }
  std::printf("%-16s %-12s %-16s %-18s %-20s %12s %12s\n", "USER", "GROUP", "VIRTUAL IP", "OUTER ADDRESS",
              "UP SINCE", "BYTES IN", "BYTES OUT");
  for (const auto& t : rows) {
    std::printf("%-16s %-12s %-16s %-18s %-20s %12llu %12llu\n", t.value("user", "").c_str(),
                t.value("group", "").c_str(), t.value("virtual_ip", "").c_str(), t.value("outer_address", "").c_str(),
                ago(t.value("up_since", std::int64_t{0})).c_str(),
                static_cast<unsigned long long>(t.value("bytes_in", std::uint64_t{0})),
                static_cast<unsigned long long>(t.value("bytes_out", std::uint64_t{0})));
  }
  return kExitOk;
}

void printTerminated(const std::string& user, std::size_t n, const GlobalOptions& opts) {
  if (opts.json) {
    std::cout << nlohmann::json{{"user", user}, {"terminated", n}}.dump(2) << '\n';
  } else {
    std::cout << "terminated " << n << " tunnel(s) of " << user << '\n';
  }
}

void registerVpnCommands(Registry& r) {
  auto a = std::make_shared<VpnArgs>();
  auto* vpnCmd = r.app.add_subcommand("vpn", "Admin VPN: load the policy's VPN configuration into charon");
  vpnCmd->require_subcommand(1);

  auto* apply = vpnCmd->add_subcommand("apply", "Load the VPN config into charon over VICI (idempotent)");
  addPolicyInputs(apply, r, *a);
  apply->add_flag("--watch", a->watch, "Keep running: reload whenever charon restarts; log tunnel events");
  apply->callback([&r, a] { r.action = [&r, a] { return runVpnApply(r.path, *a, r.opts, false); }; });

  auto* plan = vpnCmd->add_subcommand("plan", "Show what vpn apply would change in charon");
  addPolicyInputs(plan, r, *a);
  plan->add_flag("--detailed-exitcode", a->detailed, "Exit 0 when in sync, 3 when changes are pending");
  plan->callback([&r, a] { r.action = [&r, a] { return runVpnApply(r.path, *a, r.opts, true); }; });

  auto* tunnels = r.app.add_subcommand(
      "tunnels", "Admin tunnels: user, group, virtual IP, outer address, bytes (through bulwarkd, or --direct)");
  addDirectOptions(tunnels, *a);
  tunnels->callback([&r, a] {
    if (!r.action) {
      r.action = [&r, a] { return runTunnels(*a, r.opts); };
    }
  });
  auto* term = tunnels->add_subcommand(
      "terminate", "Close every admin tunnel of USER (certificate CN); through bulwarkd: needs the change role, audited");
  term->add_option("USER", a->user, "the admin's name (certificate CN)")->required();
  addDirectOptions(term, *a);
  term->callback([&r, a] { r.action = [&r, a] { return runTerminate(*a, r.opts); }; });
}

}  // namespace bulwark::cli
