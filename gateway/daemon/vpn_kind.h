#pragma once
// The admin VPN as a ResourceKind (after the firewall and the links): the policy's charon
// configuration (vpn::charonConfigFromPolicy, credentials from the PKI dir) reconciled over
// VICI (vpn::observe/planReconcile/reconcile). A null state unloads everything Bulwark owns
// in charon. Plus the tunnel side: listing/terminating tunnels and charon's ike-updown /
// child-updown events for the `events` stream.
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/vpn/charon_config.h"
#include "bulwark/vpn/vici_client.h"
#include "event_loop.h"
#include "resource_kind.h"

namespace bulwark::daemon {

struct VpnOptions {
  std::string viciUri;  // "unix:///run/charon.vici"
  std::string pkiDir;   // ca.crt, gateway.crt, private/gateway.key, crl.pem
  bool libipsec = false;  // charon uses kernel-libipsec: force UDP encapsulation
  // An HA pair's standby (bulwarkd --ha --charon): charon runs on the active node only, so
  // there is nothing to configure while this returns true (in sync); the node that becomes
  // active starts charon, the reconnect schedules a check, and the kind loads it.
  std::function<bool()> standby;
};

// "/run/charon.vici" → "unix:///run/charon.vici"; URIs are kept.
[[nodiscard]] std::string viciUriOf(const std::string& pathOrUri);

class VpnState : public KindState {
 public:
  explicit VpnState(vpn::CharonConfig c) : config(std::move(c)) {}
  vpn::CharonConfig config;
};

[[nodiscard]] ResourceKindPtr makeVpnKind(VpnOptions options);

// `tunnels` reply rows: [{user, group, identity, virtual_ip, outer, state, since, bytes_in,
// bytes_out, packets_in, packets_out, ike_id}] (since: Unix time, 0 = not established).
[[nodiscard]] gateway::Result<nlohmann::json> tunnelRows(const std::string& viciUri);
// Terminates every admin tunnel of `user`; how many there were.
[[nodiscard]] gateway::Result<std::size_t> terminateTunnels(const std::string& viciUri, const std::string& user);

// charon's ike-updown / child-updown events as `events` messages:
//   {"event": "tunnel", "state": "up"|"down", "sa": "ike"|"child", "connection": "...",
//    "user": "alice", "time": "..."}
// Reconnects every second while charon is away; `onReconnect` runs after each reconnect
// (charon restarted: its configuration is gone, the caller re-checks the VPN kind).
class VpnEvents {
 public:
  VpnEvents(EventLoop& loop, std::string uri, std::function<void(const nlohmann::json&)> emit,
            std::function<void()> onReconnect);
  ~VpnEvents();
  VpnEvents(const VpnEvents&) = delete;
  VpnEvents& operator=(const VpnEvents&) = delete;

 private:
  void connect();
  void onReadable();
  void dropStream();
  EventLoop& loop_;
  std::string uri_;
  std::function<void(const nlohmann::json&)> emit_;
  std::function<void()> onReconnect_;
  std::unique_ptr<vpn::ViciEventStream> stream_;
  int fd_ = -1;
  bool everConnected_ = false;
  EventLoop::TimerId retry_ = 0;
};

}  // namespace bulwark::daemon
