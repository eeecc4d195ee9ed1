#include "control_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "handlers.h"

namespace bulwark::daemon {

namespace {

constexpr std::size_t kMaxConnections = 128;
constexpr std::size_t kMaxPendingOut = 16u << 20;  // a subscriber that stops reading is dropped

bool someoneAnswers(const sockaddr_un& addr) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe.valid() && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::listen(EventLoop& loop, const std::filesystem::path& path,
                                                             AccessGroups groups, Handler handler, DeniedHook denied) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto p = path.string();
  if (p.size() >= sizeof addr.sun_path) return gateway::Error{"socket path too long: " + p};
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (someoneAnswers(addr)) return gateway::Error{"another bulwarkd is already listening on " + p};
  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return gateway::Error{p + " exists and is not a socket"};
    ::unlink(p.c_str());  // stale, from a daemon that was killed
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return gateway::sysError("socket", errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return gateway::sysError("bind " + p, errno);
  }
  // Everyone may connect; who may do what is decided per connection from the peer's
  // credentials, so that a stranger gets a clear refusal instead of EACCES.
  ::chmod(p.c_str(), 0666);
  if (::listen(fd.get(), 64) != 0) return gateway::sysError("listen " + p, errno);
  std::unique_ptr<ControlServer> s(
      new ControlServer(loop, path, std::move(fd), groups, std::move(handler), std::move(denied)));
  auto* raw = s.get();
  auto w = loop.watch(raw->listenFd_.get(), EPOLLIN, [raw](std::uint32_t) { raw->onAccept(); });
  if (!w) return w.error();
  return s;
}

ControlServer::~ControlServer() {
  for (auto& [fd, c] : conns_) loop_.unwatch(fd);
  loop_.unwatch(listenFd_.get());
  ::unlink(path_.c_str());
}

void ControlServer::onAccept() {
  for (;;) {
    UniqueFd fd(::accept4(listenFd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN, or a transient error: try again on the next event
    auto c = std::make_unique<Conn>();
    auto peer = identifyPeer(fd.get(), groups_);
    if (!peer) continue;
    c->peer = std::move(*peer);
    int raw = fd.get();
    c->fd = std::move(fd);
    if (conns_.size() >= kMaxConnections) {
      send(*c, gateway::errorReply(nullptr, gateway::ErrorCode::Conflict, "too many clients"));
      continue;
    }
    conns_[raw] = std::move(c);
    auto w = loop_.watch(raw, EPOLLIN, [this, raw](std::uint32_t ev) { onReadable(raw, ev); });
    if (!w) conns_.erase(raw);
  }
}

void ControlServer::onReadable(int fd, std::uint32_t events) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (events & EPOLLOUT) flush(c);
  if (conns_.count(fd) == 0) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    std::array<char, 65536> buf{};
    for (;;) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {
        drop(fd);
        return;
      }
      if (!c.in.append(std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
        send(c, gateway::errorReply(nullptr, gateway::ErrorCode::BadRequest, "message too large"));
        drop(fd);
        return;
      }
      while (auto line = c.in.next()) {
        handleLine(c, *line);
        if (conns_.count(fd) == 0) return;
      }
    }
  }
}

void ControlServer::handleLine(Conn& c, const std::string& line) {
  if (line.empty()) return;
  const int fd = c.fd.get();
  // The same path as the TLS listener's (handlers.h): only the peer's identity differs.
  auto d = dispatchRequest(c.peer, line, handler_, denied_);
  // The handler's audit record is broadcast to subscribers, and a subscriber whose socket
  // failed is dropped there: this connection may be gone.
  if (conns_.count(fd) == 0) return;
  if (d.subscribe) c.subscribed = true;
  if (d.close) c.closeAfterWrite = true;
  send(c, d.reply);
}

void ControlServer::send(Conn& c, const nlohmann::json& msg) {
  c.out += gateway::frame(msg);
  flush(c);
}

void ControlServer::flush(Conn& c) {
  int fd = c.fd.get();
  while (!c.out.empty()) {
    ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {
      if (conns_.count(fd)) drop(fd);
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  if (!conns_.count(fd)) return;  // not registered (refused at accept)
  if (c.out.empty() && c.closeAfterWrite) {
    drop(fd);
    return;
  }
  if (c.out.size() > kMaxPendingOut) {
    drop(fd);
    return;
  }
  auto w = loop_.watch(fd, EPOLLIN | (c.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT)),
                       [this, fd](std::uint32_t ev) { onReadable(fd, ev); });
  (void)w;
}

void ControlServer::drop(int fd) {
  loop_.unwatch(fd);
  conns_.erase(fd);
}

void ControlServer::broadcast(const nlohmann::json& event) {
  std::vector<int> targets;
  for (auto& [fd, c] : conns_) {
    if (c->subscribed) targets.push_back(fd);
  }
  for (int fd : targets) {
    auto it = conns_.find(fd);
    if (it != conns_.end()) send(*it->second, event);
  }
}

std::size_t ControlServer::subscribers() const {
  std::size_t n = 0;
  for (const auto& [fd, c] : conns_) n += c->subscribed ? 1 : 0;
  return n;
}

}  // namespace bulwark::daemon
