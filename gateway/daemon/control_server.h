#pragma once
// The control socket: accepts local clients and identifies each by SO_PEERCRED/SO_PEERGROUPS
// at accept. A peer without a role (not root, not in the change or view group) gets one
// refusal line, non-blocking, and is hung up on: it never gets a connection slot and nothing
// it sends is read. The others go to the connection core (connection.h), which frames, bounds
// and dispatches their requests (handlers.h, the path the TLS listener uses too).
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "connection.h"
#include "event_loop.h"
#include "dispatch.h"
#include "peer_auth.h"
#include "refusal_log.h"

namespace bulwark::daemon {

class ControlServer {
 public:
  // Creates the socket (and its directory), refusing to start if another daemon answers on it.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> listen(EventLoop& loop, const std::filesystem::path& path,
                                                                     AccessGroups groups, DispatchContext ctx,
                                                                     JobWorker* parser, ControlConnections::Log log,
                                                                     ConnectionLimits limits = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void broadcast(const nlohmann::json& event) { conns_.broadcast(event); }
  [[nodiscard]] std::size_t subscribers() const { return conns_.subscribers(); }
  [[nodiscard]] const ControlConnections& connections() const { return conns_; }

 private:
  ControlServer(EventLoop& loop, std::filesystem::path path, UniqueFd fd, AccessGroups groups, DispatchContext ctx,
                JobWorker* parser, ControlConnections::Log log, ConnectionLimits limits);
  void onAccept();

  EventLoop& loop_;
  std::filesystem::path path_;
  UniqueFd listenFd_;
  AccessGroups groups_;
  DispatchContext ctx_;
  RefusalLog refusals_;
  ControlConnections conns_;
};

}  // namespace bulwark::daemon
