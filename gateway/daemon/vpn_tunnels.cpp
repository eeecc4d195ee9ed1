#include "vpn_tunnels.h"

#include <sys/epoll.h>

#include <cerrno>
#include <chrono>
#include <ctime>

#include "bulwark/vpn/tunnels.h"
#include "history.h"

namespace bulwark::daemon {

std::string viciUriOf(const std::string& pathOrUri) {
  if (pathOrUri.find("://") != std::string::npos) return pathOrUri;
  return "unix://" + pathOrUri;
}

gateway::Result<nlohmann::json> tunnelRows(const std::string& viciUri) {
  auto client = vpn::ViciClient::connect(viciUri);
  if (!client) return gateway::Error{"charon at " + viciUri + ": " + client.error().str()};
  auto tunnels = vpn::listTunnels(**client);
  if (!tunnels) return gateway::Error{"list-sas: " + tunnels.error().str()};
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& t : *tunnels) {
    rows.push_back({{"user", t.user},
                    {"group", t.group},
                    {"identity", t.identity},
                    {"virtual_ip", t.virtualIp},
                    {"outer", t.outerAddress},
                    {"state", t.state},
                    {"since", t.upSince},
                    {"bytes_in", t.bytesIn},
                    {"bytes_out", t.bytesOut},
                    {"packets_in", t.packetsIn},
                    {"packets_out", t.packetsOut},
                    {"ike_id", t.ikeId}});
  }
  return rows;
}

gateway::Result<std::size_t> terminateTunnels(const std::string& viciUri, const std::string& user) {
  auto client = vpn::ViciClient::connect(viciUri);
  if (!client) return gateway::Error{"charon at " + viciUri + ": " + client.error().str()};
  auto n = vpn::terminateUser(**client, user);
  if (!n) return gateway::Error{"terminate: " + n.error().str()};
  return *n;
}

// ---- events ----------------------------------------------------------------------------------

VpnEvents::VpnEvents(EventLoop& loop, std::string uri, std::function<void(const nlohmann::json&)> emit,
                     std::function<void()> onReconnect, std::function<void()> onLost)
    : loop_(loop),
      uri_(std::move(uri)),
      emit_(std::move(emit)),
      onReconnect_(std::move(onReconnect)),
      onLost_(std::move(onLost)) {
  connect();
}

VpnEvents::~VpnEvents() {
  loop_.cancel(retry_);
  dropStream();
}

void VpnEvents::dropStream() {
  if (fd_ >= 0) loop_.unwatch(fd_);
  fd_ = -1;
  stream_.reset();
}

void VpnEvents::connect() {
  retry_ = 0;
  auto s = vpn::ViciEventStream::open(uri_, {"ike-updown", "child-updown"});
  if (!s) {
    retry_ = loop_.after(std::chrono::seconds(1), [this] { connect(); });
    return;
  }
  stream_ = std::move(*s);
  fd_ = stream_->fd();
  auto w = loop_.watch(fd_, EPOLLIN, [this](std::uint32_t) { onReadable(); });
  if (!w) {
    dropStream();
    retry_ = loop_.after(std::chrono::seconds(1), [this] { connect(); });
    return;
  }
  if (everConnected_ && onReconnect_) onReconnect_();  // charon came back: re-check its config
  everConnected_ = true;
}

void VpnEvents::onReadable() {
  // One event per readable round; a further one keeps the fd readable (level-triggered:
  // the transport reads exactly one frame, nothing is buffered behind the fd's back). The
  // fd is readable, so this returns at once unless a frame arrives in pieces.
  auto e = stream_->next(500);
  if (!e) {
    if (e.error().isTransport() && e.error().sysErrno == ETIMEDOUT) return;
    dropStream();  // charon closed the connection (stopped or restarting)
    retry_ = loop_.after(std::chrono::seconds(1), [this] { connect(); });
    if (onLost_) onLost_();
    return;
  }
  const bool up = e->message.get("up", "no") == "yes";
  for (const auto& entry : e->message.entries()) {
    if (entry.kind != vpn::Entry::Kind::Section) continue;
    emit_({{"event", "tunnel"},
           {"time", utcNow()},
           {"state", up ? "up" : "down"},
           {"sa", e->name == "ike-updown" ? "ike" : "child"},
           {"connection", entry.section.get("name", entry.name)},
           {"user", vpn::userFromIdentity(entry.section.get("remote-id"))}});
  }
}

}  // namespace bulwark::daemon
