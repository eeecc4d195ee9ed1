#include "control_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace bulwark::daemon {

namespace {

// Connections taken per wake-up: a connect flood cannot keep the loop in accept().
constexpr int kAcceptsPerTurn = 64;

bool someoneAnswers(const sockaddr_un& addr) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe.valid() && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

ControlServer::ControlServer(EventLoop& loop, std::filesystem::path path, UniqueFd fd, AccessGroups groups,
                             DispatchContext ctx, JobWorker* parser, ControlConnections::Log log,
                             ConnectionLimits limits)
    : loop_(loop), path_(std::move(path)), listenFd_(std::move(fd)), groups_(std::move(groups)), ctx_(ctx),
      conns_(loop, "control", limits, std::move(ctx), parser, std::move(log)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::listen(EventLoop& loop, const std::filesystem::path& path,
                                                             AccessGroups groups, DispatchContext ctx,
                                                             JobWorker* parser, ControlConnections::Log log,
                                                             ConnectionLimits limits) {
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
  ctx.changeGroup = groups.changeName;
  ctx.viewGroup = groups.viewName;
  std::unique_ptr<ControlServer> s(
      new ControlServer(loop, path, std::move(fd), std::move(groups), std::move(ctx), parser, std::move(log), limits));
  auto* raw = s.get();
  auto w = loop.watch(raw->listenFd_.get(), EPOLLIN, [raw](std::uint32_t) { raw->onAccept(); });
  if (!w) return w.error();
  return s;
}

ControlServer::~ControlServer() {
  loop_.unwatch(listenFd_.get());
  ::unlink(path_.c_str());
}

void ControlServer::onAccept() {
  for (int i = 0; i < kAcceptsPerTurn; ++i) {
    UniqueFd fd(::accept4(listenFd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN, or a transient error: try again on the next event
    auto peer = identifyPeer(fd.get(), groups_);
    if (!peer) continue;  // closed by UniqueFd
    auto stream = std::make_unique<UnixStream>(std::move(fd));
    if (peer->role == gateway::Role::None) {
      // Authenticate first, then parse: a stranger is told why, and nothing it sends is read.
      ControlConnections::refuse(*stream, gateway::errorReply(nullptr, gateway::ErrorCode::Denied,
                                                              deniedMessage(ctx_, *peer, "connect")));
      refusals_.refused(*peer, ctx_.denied);
      continue;
    }
    (void)conns_.admit(std::move(stream), std::move(*peer));
  }
  // More may be waiting: level-triggered epoll calls again after the others had their turn.
}

}  // namespace bulwark::daemon
