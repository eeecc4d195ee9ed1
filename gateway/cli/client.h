#pragma once
// bulwarkctl's side of the control socket: where bulwarkd listens, sending a policy as
// inline sources, and printing replies (errors with their file:line:col diagnostics).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"

namespace bulwark::cli {

// --socket, else $BULWARK_SOCKET, else /run/bulwark/control.sock.
[[nodiscard]] std::string daemonSocketPath(const std::string& flag);
// Does a daemon socket exist at `path`? (Plan and apply use the daemon only then.)
[[nodiscard]] bool daemonSocketExists(const std::string& path);

// The policy at `path` as the protocol's "sources" array; prints why and returns nullopt
// when it cannot be read.
[[nodiscard]] std::optional<nlohmann::json> policySources(const std::string& path);

struct DaemonReply {
  bool transportOk = false;  // false: printed already, exit kExitUsage
  nlohmann::json body;       // the reply (ok true/false)
};
// One request; transport failures are printed.
[[nodiscard]] DaemonReply callDaemon(const std::string& socket, const std::string& op,
                                     nlohmann::json args = nlohmann::json::object());
// Prints an ok=false reply (message, diagnostics) to stderr; returns the exit code for it.
int printDaemonError(const nlohmann::json& reply);

}  // namespace bulwark::cli
