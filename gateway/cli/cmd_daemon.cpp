// Verbs that talk to bulwarkd: status, confirm, rollback, history, events, reload; and plan /
// apply, which go through the daemon by default when its socket exists (`--direct` keeps the
// no-daemon mode of cmd_plan.cpp, unchanged); likewise tunnels / tunnels terminate (`--direct`
// or `--vici` keeps cmd_vpn.cpp's VICI mode).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string_view>

#include "bulwark/gateway/control_client.h"
#include "client.h"
#include "compiled.h"
#include "output.h"
#include "policy_sides.h"

namespace bulwark::cli {

namespace {

struct DaemonArgs {
  std::string socket;  // --socket
  RemoteOptions remote;  // --connect, --cert, ...
  int confirm = 0;     // apply --confirm SECONDS
  bool localOnly = false;   // plan/apply --local-only: an HA pair's node alone
  bool resyncPeer = false;  // apply --resync-peer: both nodes, although they differ now
  std::string only;         // plan/apply --only PART (registered with the direct mode's options)
  int revision = 0;    // rollback REV
  std::size_t limit = 20;
};

void printLines(const nlohmann::json& a, const char* indent) {
  if (!a.is_array()) return;
  for (const auto& l : a) std::cout << indent << l.get<std::string>() << '\n';
}

int printPlanLike(const nlohmann::json& body, bool applied) {
  for (const auto& k : body["kinds"]) {
    auto kind = k.value("kind", std::string());
    bool changed = applied ? k.value("changed", false) : !k.value("in_sync", true);
    if (!changed) {
      std::cout << kind << ": in sync" << (kind == "firewall" ? " (table inet bulwark)" : "") << '\n';
      continue;
    }
    auto n = k["changes"].size();
    std::cout << kind << ": " << (applied ? "applied " : "") << n << " change(s)"
              << (k.value("incremental", false) ? ", set elements only (applied without replacing the table)"
                  : k.value("partial", false)   ? ", rules of existing chains only (those chains rewritten, not the table)"
                                                : ", applied as one atomic replacement of the table");
    if (applied) std::cout << " in " << static_cast<int>(k.value("millis", 0.0) * 10) / 10.0 << " ms";
    std::cout << '\n';
    printLines(k["commands"], "  ");
    if (kind == "firewall" && k.contains("revocation")) printRevocation(k["revocation"]);
  }
  return kExitOk;
}

// An HA pair's plan (bulwarkd with a peer): this node's, then the peer's.
void printPairPlan(const nlohmann::json& body) {
  std::cout << "node " << body.value("node", "") << " (this node):\n";
  printPlanLike(body, false);
  const auto& p = body["peer"];
  std::cout << "node " << p.value("node", "") << " (peer):\n";
  if (p.contains("error")) {
    std::cout << "  no plan: " << p.value("error", "") << '\n';
    printLines(p.value("diagnostics", nlohmann::json::array()), "  ");
    return;
  }
  printPlanLike(p, false);
}

// The SSH session this runs in: revocation never cuts it (the daemon checks the text).
void addSession(nlohmann::json& args) {
  if (const char* ssh = std::getenv("SSH_CONNECTION"); ssh != nullptr && std::strlen(ssh) <= 128) {
    args["session"] = ssh;
  }
}

// --only PART: the daemon plans or applies that kind alone (`parts`); "all" sends none.
void addParts(nlohmann::json& args, const std::string& only) {
  if (!only.empty() && only != "all") args["parts"] = nlohmann::json::array({only});
}

// The commit the sources come from: bulwarkd records it with the revision (History names it).
void addGitCommit(nlohmann::json& args, const std::string& path) {
  if (auto commit = commitClaim(path); !commit.empty()) args["git_commit"] = commit;
}

int daemonPlan(const std::string& socket, const std::string& path, bool detailed, const DaemonArgs& a, bool nftOnly,
               const GlobalOptions& opts) {
  auto sources = policySources(path);
  if (!sources) return kExitUsage;
  nlohmann::json args{{"sources", *sources}};
  const bool localOnly = a.localOnly;
  addParts(args, a.only);
  if (localOnly) args["local_only"] = true;
  if (nftOnly) args["nft_only"] = true;  // the daemon skips the review in policy terms
  addSession(args);  // the plan's count leaves it out, as the apply's cut does
  auto r = callDaemon(socket, "plan", args);
  if (!r.transportOk) return kExitUsage;
  if (!r.body.value("ok", false)) return printDaemonError(r.body);
  const bool pair = r.body.contains("peer") && r.body["peer"].is_object();
  if (opts.json) {
    std::cout << r.body.dump(2) << '\n';
  } else {
    // One policy for both nodes of a pair: its change in policy terms once, then each node.
    if (!nftOnly) printPlanReview(r.body.value("review", nlohmann::json()));
    if (pair) {
      printPairPlan(r.body);
    } else {
      printPlanLike(r.body, false);
    }
  }
  if (!detailed) return kExitOk;
  // A pair is in sync when both nodes are (a peer without a plan is not).
  const bool peerInSync = !pair || r.body["peer"].value("in_sync", false);
  return r.body.value("in_sync", false) && peerInSync ? kExitOk : 2;
}

int daemonApply(const std::string& socket, const std::string& path, const DaemonArgs& a, bool keepEstablished,
                const GlobalOptions& opts) {
  auto sources = policySources(path);
  if (!sources) return kExitUsage;
  nlohmann::json args{{"sources", *sources}};
  const int confirm = a.confirm;
  if (confirm > 0) args["confirm"] = confirm;
  if (a.localOnly) args["local_only"] = true;
  if (a.resyncPeer) args["resync_peer"] = true;
  addParts(args, a.only);
  if (keepEstablished) args["keep_established"] = true;
  addSession(args);
  addGitCommit(args, path);
  auto r = callDaemon(socket, "apply", args);
  if (!r.transportOk) return kExitUsage;
  if (!r.body.value("ok", false)) return printDaemonError(r.body);
  if (opts.json) {
    std::cout << r.body.dump(2) << '\n';
    return kExitOk;
  }
  const bool pair = r.body.contains("peer") && r.body["peer"].is_object();
  if (!r.body.value("changed", false) && !pair) {
    std::cout << "firewall: in sync, nothing to apply (revision " << r.body.value("revision", 0) << ")\n";
    return kExitOk;
  }
  printPlanLike(r.body, true);
  if (r.body.contains("revocation")) printRevocation(r.body["revocation"]);
  std::cout << "revision " << r.body.value("revision", 0) << " (policy " << r.body.value("policy_hash", "").substr(0, 12)
            << ")";
  if (pair) {
    const auto& p = r.body["peer"];
    std::cout << " on " << r.body.value("node", "") << " and on its peer " << p.value("node", "") << " (revision "
              << p.value("revision", 0) << ", policy " << p.value("policy_hash", "").substr(0, 12) << ")";
  }
  if (r.body.contains("confirm_deadline_seconds")) {
    std::cout << ": run `bulwarkctl confirm` within " << r.body["confirm_deadline_seconds"].get<int>()
              << " s, or the previous state comes back" << (pair ? " on both nodes" : "");
  }
  std::cout << '\n';
  return kExitOk;
}

int simpleCall(const std::string& socket, const std::string& op, nlohmann::json args, const GlobalOptions& opts,
               const std::function<void(const nlohmann::json&)>& print) {
  auto r = callDaemon(socket, op, std::move(args));
  if (!r.transportOk) return kExitUsage;
  if (!r.body.value("ok", false)) return printDaemonError(r.body);
  if (opts.json) {
    std::cout << r.body.dump(2) << '\n';
  } else {
    print(r.body);
  }
  return kExitOk;
}

// bulwarkd --ha: this node of the pair.
void printHaStatus(const nlohmann::json& h) {
  std::cout << "  ha: node " << h.value("node", "") << " (peer " << h.value("peer", "") << "): "
            << h.value("role", "") << (h.value("since", "").empty() ? "" : " since " + h.value("since", ""))
            << "; sync link " << h.value("sync_link", "");
  if (h.value("split_brain", false)) std::cout << "; SPLIT BRAIN";
  if (h.value("standing_down", false)) std::cout << "; standing down";
  std::cout << '\n';
  for (const auto& d : h.value("daemons", nlohmann::json::array())) {
    std::cout << "    " << d.value("name", "") << ": "
              << (d.value("pid", -1) > 0 ? "pid " + std::to_string(d.value("pid", -1)) : std::string("not running"))
              << ", " << d.value("restarts", 0) << " restart(s)"
              << (d.value("last_exit", "").empty() ? "" : ", last exit: " + d.value("last_exit", "")) << '\n';
  }
  if (h.contains("charon")) std::cout << "    charon: " << h.value("charon", "") << '\n';
  if (h.contains("last_transition")) {
    std::cout << "    last role change: " << h["last_transition"].value("summary", "") << '\n';
  }
}

// bulwarkd with an HA peer: what the last check of the other node found.
void printPeerStatus(const nlohmann::json& p) {
  std::cout << "  peer: " << p.value("address", p.value("node", ""));
  if (!p.value("reachable", false)) {
    std::cout << ": UNREACHABLE (" << p.value("error", "") << ")";
  } else {
    std::cout << ": revision " << p.value("revision", 0) << "  policy " << p.value("policy_hash", "").substr(0, 12)
              << "  role " << p.value("role", "");
    if (p.contains("pending") && p["pending"].is_number()) std::cout << "  (revision " << p["pending"] << " pending)";
  }
  std::cout << (p.value("in_sync", false) ? "; in sync" : "; OUT OF SYNC") << (p.value("alert", false) ? " (alert)" : "")
            << "; checked " << p.value("checked", "") << '\n';
}

void printStatus(const nlohmann::json& b) {
  std::cout << "revision " << b.value("revision", 0) << "  policy " << b.value("policy_hash", "").substr(0, 12) << "  ("
            << b.value("policy_dir", "") << ")\n";
  for (const auto& k : b["kinds"]) {
    std::cout << "  " << k.value("kind", "") << ": " << k.value("state", "");
    if (!k.value("last_error", "").empty()) std::cout << " - " << k.value("last_error", "");
    std::cout << '\n';
  }
  if (!b.value("policy_error", "").empty()) std::cout << "  policy: " << b.value("policy_error", "") << '\n';
  if (b["pending"].is_object()) {
    std::cout << "  awaiting confirmation: revision " << b["pending"].value("revision", 0) << " by "
              << b["pending"].value("by", "") << ", " << b["pending"].value("seconds_left", 0) << " s left\n";
  }
  std::cout << "  drift: " << b.value("drift_mode", "") << ", " << b.value("drift_repairs", 0) << " repair(s); "
            << b.value("applies", 0) << " apply(s) since start\n";
  if (b.contains("ha") && b["ha"].is_object()) printHaStatus(b["ha"]);
  if (b.contains("peer") && b["peer"].is_object()) printPeerStatus(b["peer"]);
  if (b.contains("you") && b["you"].contains("certificate")) {  // over --connect
    const auto& c = b["you"]["certificate"];
    std::cout << "  you: CN=" << c.value("cn", "") << ", OU=" << c.value("group", "") << " from "
              << b["you"].value("address", "") << " (" << b["you"].value("role", "") << ")\n";
  } else if (b.contains("you")) {
    std::cout << "  you: " << b["you"].value("user", "") << " (" << b["you"].value("role", "") << ")\n";
  }
}

// A commit as the history table shows it: 10 hex digits, and "-dirty" when recorded so.
std::string shortCommit(const std::string& commit) {
  constexpr std::string_view kDirty = "-dirty";
  const bool dirty = std::string_view(commit).ends_with(kDirty);
  return commit.substr(0, std::min<std::size_t>(10, commit.size() - (dirty ? kDirty.size() : 0))) +
         (dirty ? std::string(kDirty) : "");
}

void printHistory(const nlohmann::json& b) {
  std::cout << "REV  STATUS       WHEN                      WHO                   HASH          SUMMARY\n";
  for (const auto& r : b["revisions"]) {
    char line[160];
    std::snprintf(line, sizeof line, "%-3d%s %-12s %-25s %-21s %-13s ", r.value("revision", 0),
                  r.value("current", false) ? "*" : " ", r.value("status", "").c_str(), r.value("time", "").c_str(),
                  r.value("who", "").substr(0, 21).c_str(), r.value("hash", "").substr(0, 12).c_str());
    std::cout << line << r.value("summary", "");
    if (!r.value("git_commit", "").empty()) std::cout << "  [git " << shortCommit(r.value("git_commit", "")) << "]";
    std::cout << '\n';
  }
}

// `revision N`: the record, then each policy file as it was applied.
void printRevision(const nlohmann::json& b) {
  const auto& r = b["revision"];
  std::cout << "revision " << r.value("revision", 0) << (r.value("current", false) ? " (running)" : "") << ": "
            << r.value("status", "") << ", " << r.value("time", "") << ", " << r.value("who", "") << '\n';
  std::cout << "  hash " << r.value("hash", "") << '\n';
  if (!r.value("git_commit", "").empty()) std::cout << "  git " << r.value("git_commit", "") << '\n';
  std::cout << "  origin " << r.value("origin", "") << "\n  summary " << r.value("summary", "") << '\n';
  for (const auto& s : b.value("sources", nlohmann::json::array())) {
    std::cout << "==> " << s.value("name", "") << " <==\n" << s.value("text", "");
    const auto text = s.value("text", "");
    if (!text.empty() && text.back() != '\n') std::cout << '\n';
  }
}

// bulwarkd's `tunnels` rows in the shape `bulwarkctl tunnels` prints from charon (cmd_vpn.cpp).
nlohmann::json tunnelRowsOf(const nlohmann::json& body) {
  auto rows = nlohmann::json::array();
  if (!body.contains("tunnels") || !body["tunnels"].is_array()) return rows;
  for (const auto& t : body["tunnels"]) {
    rows.push_back({{"user", t.value("user", "")}, {"group", t.value("group", "")},
                    {"identity", t.value("identity", "")}, {"virtual_ip", t.value("virtual_ip", "")},
                    {"outer_address", t.value("outer", "")}, {"state", t.value("state", "")},
                    {"up_since", t.value("since", std::int64_t{0})}, {"bytes_in", t.value("bytes_in", std::uint64_t{0})},
                    {"bytes_out", t.value("bytes_out", std::uint64_t{0})},
                    {"packets_in", t.value("packets_in", std::uint64_t{0})},
                    {"packets_out", t.value("packets_out", std::uint64_t{0})}, {"ike_id", t.value("ike_id", "")}});
  }
  return rows;
}

int daemonTunnels(const std::string& socket, const GlobalOptions& opts) {
  auto r = callDaemon(socket, "tunnels");
  if (!r.transportOk) return kExitUsage;
  if (!r.body.value("ok", false)) return printDaemonError(r.body);
  return printTunnels(tunnelRowsOf(r.body), opts);
}

int daemonTerminate(const std::string& socket, const std::string& user, const GlobalOptions& opts) {
  auto r = callDaemon(socket, "terminate", {{"user", user}});
  if (!r.transportOk) return kExitUsage;
  if (!r.body.value("ok", false)) return printDaemonError(r.body);
  printTerminated(user, r.body.value("terminated", std::size_t{0}), opts);
  return kExitOk;
}

int runEvents(const std::string& socket) {
  auto client = connectDaemon(socket);
  if (!client) {
    std::cerr << "bulwarkctl: " << client.error().message << '\n';
    return kExitUsage;
  }
  auto r = client->call("events");
  if (!r) {
    std::cerr << "bulwarkctl: " << r.error().message << '\n';
    return kExitUsage;
  }
  if (!r->value("ok", false)) return printDaemonError(*r);
  for (;;) {
    auto m = client->readMessage(std::chrono::hours(24));
    if (!m) {
      if (m.error().sysErrno == ETIMEDOUT) continue;
      std::cerr << "bulwarkctl: " << m.error().message << '\n';
      return kExitUsage;
    }
    std::cout << m->dump() << std::endl;
  }
}

}  // namespace

void registerDaemonCommands(Registry& r) {
  auto args = std::make_shared<DaemonArgs>();
  r.app.add_option("--socket", args->socket, "bulwarkd control socket (default: $BULWARK_SOCKET or /run/bulwark/control.sock)");
  r.app.add_option("--connect", args->remote.connect,
                   "bulwarkd's remote API HOST:PORT (policy gateway.control; default $BULWARK_CONNECT)");
  r.app.add_option("--cert", args->remote.cert, "With --connect: admin certificate, .p12 (or PEM with --key); $BULWARK_CERT");
  r.app.add_option("--key", args->remote.key, "With --connect and a PEM --cert: its private key; $BULWARK_KEY");
  r.app.add_option("--ca", args->remote.ca, "With --connect: Bulwark's CA certificate (default: the one in the .p12); $BULWARK_CA");
  r.app.add_option("--server-name", args->remote.serverName,
                   "With --connect: the name in the daemon's certificate (vpn.local_id; default HOST); $BULWARK_SERVER_NAME");
  r.app.add_option("--cert-password-file", args->remote.passwordFile,
                   "With --connect: file holding the .p12 password (else $BULWARK_CERT_PASSWORD)");
  auto sock = [args] {
    configureRemote(args->remote);
    return daemonSocketPath(args->socket);
  };

  auto* status = r.app.add_subcommand("status", "The daemon's revision, per-kind state, pending confirmation");
  status->callback([&r, sock] {
    r.action = [&r, sock] { return simpleCall(sock(), "status", {}, r.opts, printStatus); };
  });

  auto* confirm = r.app.add_subcommand("confirm", "Keep the applied revision that awaits confirmation");
  confirm->callback([&r, sock] {
    r.action = [&r, sock] {
      return simpleCall(sock(), "confirm", {}, r.opts, [](const nlohmann::json& b) {
        std::cout << "revision " << b.value("revision", 0) << " confirmed\n";
      });
    };
  });

  auto* rollback = r.app.add_subcommand("rollback", "Re-apply an earlier revision (see `history`)");
  rollback->add_option("REVISION", args->revision, "Revision number")->required();
  rollback->add_flag("--local-only", args->localOnly,
                     "An HA pair's node: roll back this node alone (the pair is then out of sync: alerted)");
  rollback->callback([&r, sock, args] {
    r.action = [&r, sock, args] {
      nlohmann::json call{{"revision", args->revision}};
      if (args->localOnly) call["local_only"] = true;
      return simpleCall(sock(), "rollback", std::move(call), r.opts, [args](const nlohmann::json& b) {
        std::cout << "rolled back to the policy of revision " << args->revision << ": " << b.value("summary", "")
                  << " (now revision " << b.value("revision", 0);
        if (b.contains("peer") && b["peer"].is_object()) {
          std::cout << " on " << b.value("node", "") << " and on its peer " << b["peer"].value("node", "");
        }
        std::cout << ")\n";
      });
    };
  });

  auto* history = r.app.add_subcommand("history", "Applied revisions: who, when, hash, Git commit");
  history->add_option("--limit", args->limit, "How many (newest first)");
  history->callback([&r, sock, args] {
    r.action = [&r, sock, args] { return simpleCall(sock(), "history", {{"limit", args->limit}}, r.opts, printHistory); };
  });

  auto* revision = r.app.add_subcommand("revision", "One applied revision: its record and its policy files");
  revision->add_option("REVISION", args->revision, "Revision number (bulwarkctl history)")->required();
  revision->callback([&r, sock, args] {
    r.action = [&r, sock, args] {
      return simpleCall(sock(), "revision", {{"revision", args->revision}}, r.opts, printRevision);
    };
  });

  auto* reload = r.app.add_subcommand("reload", "Make the daemon re-read its policy directory (as SIGHUP)");
  reload->add_flag("--local-only", args->localOnly,
                   "An HA pair's node: reload this node alone (the pair is then out of sync: alerted)");
  reload->callback([&r, sock, args] {
    r.action = [&r, sock, args] {
      nlohmann::json call = nlohmann::json::object();
      if (args->localOnly) call["local_only"] = true;
      return simpleCall(sock(), "reload", std::move(call), r.opts, [](const nlohmann::json& b) {
        std::cout << b.value("summary", std::string("reloaded"));
        // An HA pair's node whose dir changed: a pair apply of it, on both nodes.
        if (b.contains("peer") && b["peer"].is_object()) {
          std::cout << " (revision " << b.value("revision", 0) << " on " << b.value("node", "") << " and on its peer "
                    << b["peer"].value("node", "") << ")";
        }
        std::cout << '\n';
      });
    };
  });

  auto* events = r.app.add_subcommand("events", "Stream the daemon's events (applies, drift, drops) as JSON lines");
  events->callback([&r, sock] { r.action = [sock] { return runEvents(sock()); }; });

  // plan / apply are registered by registerFirewallCommands with their direct-mode actions.
  // This app-level callback runs after theirs (CLI11 runs subcommand callbacks first) and
  // routes them through the daemon when its socket exists and --direct was not given (--only
  // becomes the request's `parts`); otherwise their action stays exactly as it was.
  auto* plan = r.app.get_subcommand("plan");
  auto* apply = r.app.get_subcommand("apply");
  apply->add_option("--confirm", args->confirm,
                    "Roll back automatically unless `bulwarkctl confirm` comes within SECONDS (daemon only; on an HA "
                    "pair: both nodes)");
  apply->add_flag("--local-only", args->localOnly,
                  "An HA pair's node: apply on this node alone (the pair is then out of sync: alerted)");
  apply->add_flag("--resync-peer", args->resyncPeer,
                  "An HA pair's node: apply to both although they run different revisions now");
  plan->add_flag("--local-only", args->localOnly, "An HA pair's node: this node's plan only");
  // --only goes to the daemon as `parts` (the others stay as they are); --direct keeps it here.
  auto directWanted = [](CLI::App* sub) { return sub->count("--direct") > 0; };
  auto onlyOf = [](CLI::App* sub) {
    auto* only = sub->get_option_no_throw("--only");
    return only != nullptr && only->count() > 0 ? only->as<std::string>() : std::string();
  };
  // tunnels / tunnels terminate (cmd_vpn.cpp): through the daemon when --socket or --connect
  // names one or the default socket exists; --direct or an explicit --vici talks to charon.
  auto* tunnels = r.app.get_subcommand("tunnels");
  auto* terminate = tunnels->get_subcommand("terminate");
  auto viciWanted = [](CLI::App* sub) { return sub->count("--direct") > 0 || sub->count("--vici") > 0; };
  auto daemonWanted = [args, sock] { return !args->socket.empty() || daemonSocketExists(sock()); };
  auto routeTunnels = [&r, tunnels, terminate, sock, viciWanted, daemonWanted] {
    if (!tunnels->parsed() || viciWanted(tunnels) || (terminate->parsed() && viciWanted(terminate))) return;
    if (!daemonWanted()) {
      // No daemon socket: charon's default VICI socket, as before; say so when that fails too.
      r.action = [direct = r.action, path = sock()] {
        int rc = direct();
        if (rc == kExitUsage) {
          std::cerr << "bulwarkctl: (no bulwarkd socket at " << path
                    << " either: --socket PATH or --connect HOST:PORT to go through the daemon)\n";
        }
        return rc;
      };
      return;
    }
    if (terminate->parsed()) {
      auto user = terminate->get_option("USER")->as<std::string>();
      r.action = [&r, sock, user] { return daemonTerminate(sock(), user, r.opts); };
    } else {
      r.action = [&r, sock] { return daemonTunnels(sock(), r.opts); };
    }
  };
  // One final callback (CLI11 keeps only the last one set).
  r.app.final_callback([&r, plan, apply, sock, args, directWanted, onlyOf, routeTunnels] {
    routeTunnels();
    if (plan->parsed() && !directWanted(plan) && daemonSocketExists(sock())) {
      bool detailed = plan->count("--detailed-exitcode") > 0;
      bool nftOnly = plan->count("--nft") > 0;
      args->only = onlyOf(plan);
      r.action = [&r, sock, detailed, nftOnly, args] {
        return daemonPlan(sock(), r.path, detailed, *args, nftOnly, r.opts);
      };
    }
    if (apply->parsed()) {
      if (!directWanted(apply) && daemonSocketExists(sock())) {
        const bool keep = apply->count("--keep-established") > 0;
        args->only = onlyOf(apply);
        r.action = [&r, sock, args, keep] { return daemonApply(sock(), r.path, *args, keep, r.opts); };
      } else if (args->confirm > 0) {
        r.action = [] {
          std::cerr << "bulwarkctl: --confirm needs bulwarkd (commit-confirm is the daemon's job)\n";
          return kExitUsage;
        };
      }
    }
  });
}

}  // namespace bulwark::cli
