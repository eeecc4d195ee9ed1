#pragma once
// The admin VPN's tunnels in bulwarkd: listing and terminating them for the control API, and
// charon's ike-updown / child-updown events for the `events` stream. (The VPN configuration
// is a resource kind of the apply engine: gateway/engine/kinds/vpn_kind.h.)
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/vpn/vici_client.h"
#include "event_loop.h"
#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

// "/run/charon.vici" → "unix:///run/charon.vici"; URIs are kept.
[[nodiscard]] std::string viciUriOf(const std::string& pathOrUri);

// `tunnels` reply rows: [{user, group, identity, virtual_ip, outer, state, since, bytes_in,
// bytes_out, packets_in, packets_out, ike_id}] (since: Unix time, 0 = not established).
[[nodiscard]] gateway::Result<nlohmann::json> tunnelRows(const std::string& viciUri);
// Terminates every admin tunnel of `user`; how many there were.
[[nodiscard]] gateway::Result<std::size_t> terminateTunnels(const std::string& viciUri, const std::string& user);

// charon's ike-updown / child-updown events as `events` messages:
//   {"event": "tunnel", "state": "up"|"down", "sa": "ike"|"child", "connection": "...",
//    "user": "alice", "time": "..."}
// Reconnects every second while charon is away; `onReconnect` runs after each reconnect
// (charon restarted: its configuration is gone, the caller re-checks the VPN kind), `onLost`
// when charon closes the connection (stopped or died: the caller re-checks the VPN kind, so
// its error shows in status at once, not at the next periodic check).
class VpnEvents {
 public:
  VpnEvents(EventLoop& loop, std::string uri, std::function<void(const nlohmann::json&)> emit,
            std::function<void()> onReconnect, std::function<void()> onLost = {});
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
  std::function<void()> onLost_;
  std::unique_ptr<vpn::ViciEventStream> stream_;
  int fd_ = -1;
  bool everConnected_ = false;
  EventLoop::TimerId retry_ = 0;
};

}  // namespace bulwark::daemon
