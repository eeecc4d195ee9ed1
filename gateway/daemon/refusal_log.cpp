#include "refusal_log.h"

#include <algorithm>

namespace bulwark::daemon {

void RefusalLog::refused(const Peer& peer, const DeniedHandler& denied) {
  const auto now = Clock::now();
  const auto key = peer.tls ? "cert " + peer.certSerial : peer.limitKey();
  auto it = seen_.find(key);
  if (it != seen_.end() && now - it->second.last < window_) {
    ++it->second.suppressed;
    return;
  }
  std::size_t suppressed = it != seen_.end() ? it->second.suppressed : 0;
  if (it == seen_.end() && seen_.size() >= kMaxPeers) {
    auto oldest = std::min_element(seen_.begin(), seen_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
    seen_.erase(oldest);
  }
  seen_[key] = Entry{now, 0};
  if (!denied) return;
  if (suppressed == 0) {
    denied(peer, "connect");
  } else {
    denied(peer, "connect, and " + std::to_string(suppressed) + " more refused since the last record");
  }
}

}  // namespace bulwark::daemon
