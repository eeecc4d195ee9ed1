#pragma once
// keepalived.conf and conntrackd.conf for one node, and the command lines that run them:
// pure functions of the node's view and its private runtime directory (no I/O here).
//
// keepalived: VRRPv3, one instance per interface that carries floating addresses, all in one
// sync group (they move together), all advertising over the sync link to the peer's address
// only (unicast: no multicast on the segments, no VRRP on the uplink). Every instance tracks
// its own interface (a dead link on the active node hands everything over) and a file
// bulwarkd writes to make this node stand down (split brain, see supervisor/README).
// Transitions reach bulwarkd through notify_fifo; no scripts run.
//
// conntrackd: FTFW over UDP unicast on the sync link, the external cache on (see README:
// DisableExternalCache), flows of the gateways' own addresses not synced.
#include <filesystem>
#include <string>
#include <vector>

#include "bulwark/ha/node_view.h"

namespace bulwark::ha {

// Everything the two daemons read or write lives in one private directory (0700), so two
// nodes (or tests) on one machine never share a pid file, lock, socket or FIFO.
struct RuntimePaths {
  std::filesystem::path dir;
  [[nodiscard]] std::filesystem::path keepalivedConf() const { return dir / "keepalived.conf"; }
  [[nodiscard]] std::filesystem::path conntrackdConf() const { return dir / "conntrackd.conf"; }
  [[nodiscard]] std::filesystem::path notifyFifo() const { return dir / "notify.fifo"; }
  [[nodiscard]] std::filesystem::path standDownFile() const { return dir / "stand-down"; }
  [[nodiscard]] std::filesystem::path keepalivedPid() const { return dir / "keepalived.pid"; }
  [[nodiscard]] std::filesystem::path vrrpPid() const { return dir / "keepalived-vrrp.pid"; }
  [[nodiscard]] std::filesystem::path checkersPid() const { return dir / "keepalived-checkers.pid"; }
  [[nodiscard]] std::filesystem::path bfdPid() const { return dir / "keepalived-bfd.pid"; }
  [[nodiscard]] std::filesystem::path conntrackdSocket() const { return dir / "conntrackd.ctl"; }
  [[nodiscard]] std::filesystem::path conntrackdLock() const { return dir / "conntrackd.lock"; }
  [[nodiscard]] std::filesystem::path conntrackdLog() const { return dir / "conntrackd.log"; }
};

inline constexpr int kConntrackdPort = 3780;  // FTFW over UDP, both directions
inline constexpr int kVrrpProtocol = 112;

[[nodiscard]] std::string renderKeepalived(const NodeView& view, const RuntimePaths& paths);
[[nodiscard]] std::string renderConntrackd(const NodeView& view, const RuntimePaths& paths);

// In the foreground (the supervisor owns them), logging to stderr only.
[[nodiscard]] std::vector<std::string> keepalivedArgv(const std::string& binary, const RuntimePaths& paths);
[[nodiscard]] std::vector<std::string> conntrackdArgv(const std::string& binary, const RuntimePaths& paths);

}  // namespace bulwark::ha
