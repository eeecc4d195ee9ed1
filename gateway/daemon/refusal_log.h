#pragma once
// Peers without a role are refused before anything they send is read (control_server.cpp at
// accept, tls_listener.cpp after the handshake), and each refusal is audited -- but a peer can
// cause refusals at will, and the audit log and the events stream must not be its to fill. So:
// at most one record per peer (uid, or certificate serial) per window; the next one after the
// window says how many were left out. At most kMaxPeers peers are remembered (the oldest
// entry goes first).
#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include "event_loop.h"
#include "dispatch.h"
#include "peer_auth.h"

namespace bulwark::daemon {

class RefusalLog {
 public:
  static constexpr std::size_t kMaxPeers = 1024;
  explicit RefusalLog(std::chrono::milliseconds window = std::chrono::seconds(60)) : window_(window) {}

  // Calls denied(peer, "connect") unless this peer was audited within the window.
  void refused(const Peer& peer, const DeniedHandler& denied);

 private:
  struct Entry {
    Clock::time_point last;
    std::size_t suppressed = 0;
  };
  std::chrono::milliseconds window_;
  std::map<std::string, Entry> seen_;
};

}  // namespace bulwark::daemon
