#pragma once
// Admin tunnels as charon reports them (list-sas), terminating a user's tunnels, and the
// watcher that notices a charon restart and loads Bulwark's configuration again.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bulwark/vpn/charon_config.h"
#include "bulwark/vpn/vici_client.h"
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn {

struct Tunnel {
  std::string user;        // CN of the admin's certificate
  std::string group;       // from the connection name bulwark-admin-<group>
  std::string identity;    // remote IKE identity as charon prints it
  std::string virtualIp;   // first remote virtual IP
  std::string outerAddress;  // remote-host
  std::string state;       // ESTABLISHED, CONNECTING, ...
  std::int64_t upSince = 0;  // Unix time the IKE_SA was established (0 = not yet)
  std::uint64_t bytesIn = 0, bytesOut = 0, packetsIn = 0, packetsOut = 0;  // summed over CHILD_SAs
  std::string ikeId;       // charon's unique id, for terminate
  std::string connection;
};

// "CN=alice, OU=netops" → "alice" (the CN value); the identity itself when it has no CN.
[[nodiscard]] std::string userFromIdentity(std::string_view identity);
// Pure: list-sa sections → tunnels of Bulwark's admin connections only, sorted by user.
[[nodiscard]] std::vector<Tunnel> tunnelsFromSas(const std::vector<vici::NamedSection>& sas, std::int64_t now);
[[nodiscard]] ViciResult<std::vector<Tunnel>> listTunnels(ViciClient& client);

// Terminates every admin IKE_SA of `user`; returns how many (0 = none was up).
[[nodiscard]] ViciResult<std::size_t> terminateUser(ViciClient& client, std::string_view user);

// ----------------------------------------------------------------- watcher

struct WatchOptions {
  int retryMs = 200;  // between reconnect attempts while charon is down
  std::vector<std::string> events = {"ike-updown", "child-updown"};
};

enum class WatchStepKind {
  Idle,          // nothing happened within the timeout
  Event,         // an event arrived (event filled in)
  Reloaded,      // (re)connected and reconciled (result filled in)
  Disconnected,  // charon closed the connection (stopped or restarting)
  Unreachable,   // charon is not there (yet); will retry
  Failed,        // connected but the reconcile or registration failed (error filled in)
};

struct WatchStep {
  WatchStepKind kind = WatchStepKind::Idle;
  ViciEvent event;
  ApplyResult result;
  ViciError error;
};

// Keeps `desired` loaded in charon: on start and after every reconnect it reconciles
// (over a short-lived command connection) and then listens on a separate event connection;
// EOF on that connection means charon went away. The daemon calls step() from its loop (or
// polls fd()); run() is the blocking form for tools.
class ConfigWatcher {
 public:
  ConfigWatcher(std::string uri, CharonConfig desired, WatchOptions options = {});
  // One bounded step (at most timeoutMs, plus the reconcile when it happens).
  [[nodiscard]] WatchStep step(int timeoutMs);
  // Steps until `stop` becomes true; each step is reported to onStep.
  void run(const std::atomic<bool>& stop, const std::function<void(const WatchStep&)>& onStep);
  // The event connection's fd, or -1 while disconnected.
  [[nodiscard]] int fd() const;
  [[nodiscard]] bool connected() const { return events_ != nullptr; }
  [[nodiscard]] std::size_t reloads() const { return reloads_; }
  void setDesired(CharonConfig desired);  // takes effect at the next (re)connect; call reloadNow() to push it
  void reloadNow() { events_.reset(); }

 private:
  std::string uri_;
  CharonConfig desired_;
  WatchOptions options_;
  std::unique_ptr<ViciEventStream> events_;
  std::size_t reloads_ = 0;
};

}  // namespace bulwark::vpn
