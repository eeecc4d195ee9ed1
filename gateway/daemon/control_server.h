#pragma once
// The control socket: accepts local clients, identifies each by SO_PEERCRED/SO_PEERGROUPS,
// frames newline-delimited JSON and hands each line to dispatchRequest (handlers.h, the path
// the TLS listener uses too), which checks the role against the operation and calls the
// handler. A peer with no role gets one refusal (to its first request) and is hung up on.
// Connections that asked for "events" receive broadcast() messages.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "event_loop.h"
#include "handlers.h"
#include "peer_auth.h"

namespace bulwark::daemon {

class ControlServer {
 public:
  // Returns the reply (okReply/errorReply); never called for ops the peer may not use.
  using Handler = RequestHandler;
  // Refused attempts to change something (audited by the caller).
  using DeniedHook = DeniedHandler;

  // Creates the socket (and its directory), refusing to start if another daemon answers on it.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> listen(EventLoop& loop, const std::filesystem::path& path,
                                                                     AccessGroups groups, Handler handler,
                                                                     DeniedHook denied);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void broadcast(const nlohmann::json& event);
  [[nodiscard]] std::size_t subscribers() const;

 private:
  struct Conn {
    UniqueFd fd;
    Peer peer;
    gateway::LineFramer in;
    std::string out;
    bool subscribed = false;
    bool closeAfterWrite = false;
  };
  ControlServer(EventLoop& loop, std::filesystem::path path, UniqueFd fd, AccessGroups groups, Handler h,
                DeniedHook d)
      : loop_(loop), path_(std::move(path)), listenFd_(std::move(fd)), groups_(groups), handler_(std::move(h)),
        denied_(std::move(d)) {}
  void onAccept();
  void onReadable(int fd, std::uint32_t events);
  void handleLine(Conn& c, const std::string& line);
  void send(Conn& c, const nlohmann::json& msg);
  void flush(Conn& c);
  void drop(int fd);

  EventLoop& loop_;
  std::filesystem::path path_;
  UniqueFd listenFd_;
  AccessGroups groups_;
  Handler handler_;
  DeniedHook denied_;
  std::map<int, std::unique_ptr<Conn>> conns_;
};

}  // namespace bulwark::daemon
