#pragma once
// bulwarkctl's side of the control socket: where bulwarkd listens, sending a policy as
// inline sources, and printing replies (errors with their file:line:col diagnostics).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/control_client.h"
#include "commands.h"

namespace bulwark::cli {

// The remote API instead of the local socket: --connect HOST:PORT (or $BULWARK_CONNECT) with
// --cert admin.p12 ($BULWARK_CERT; PKCS#12 password from --cert-password-file or
// $BULWARK_CERT_PASSWORD), or a PEM --cert with --key ($BULWARK_KEY); --ca ca.crt
// ($BULWARK_CA; default: the CA inside the PKCS#12 bundle); --server-name NAME
// ($BULWARK_SERVER_NAME; the name in the daemon's certificate, i.e. the policy's
// vpn.local_id; default HOST).
struct RemoteOptions {
  std::string connect, cert, key, ca, serverName, passwordFile;
};
// Remembers the remote options (flags over environment) for connectDaemon().
void configureRemote(const RemoteOptions& flags);

// "tls://HOST:PORT" when a remote is configured; else --socket, else $BULWARK_SOCKET, else
// /run/bulwark/control.sock.
[[nodiscard]] std::string daemonSocketPath(const std::string& flag);
// Does a daemon socket exist at `path`? (Plan and apply use the daemon only then; a remote
// address always counts.)
[[nodiscard]] bool daemonSocketExists(const std::string& path);
// A connected client for daemonSocketPath()'s result.
[[nodiscard]] gateway::Result<gateway::ControlClient> connectDaemon(const std::string& address);

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
