#include "bulwark/gateway/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace bulwark::gateway {

// tls_client.cpp: the TLS side of the transport.
bool tlsPending(TlsState& s);
Result<std::size_t> tlsSend(TlsState& s, const char* data, std::size_t size);
Result<std::size_t> tlsRecv(TlsState& s, char* data, std::size_t size);

Result<ControlClient> ControlClient::connect(const std::string& socketPath) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof addr.sun_path) return Error{"socket path too long: " + socketPath};
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sysError("socket", errno);
  ControlClient c(fd);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return sysError("cannot connect to bulwarkd at " + socketPath, errno);
  }
  return c;
}

ControlClient::ControlClient(ControlClient&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), tls_(std::move(o.tls_)), nextId_(o.nextId_), framer_(std::move(o.framer_)) {}

ControlClient& ControlClient::operator=(ControlClient&& o) noexcept {
  if (this != &o) {
    tls_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    tls_ = std::move(o.tls_);
    nextId_ = o.nextId_;
    framer_ = std::move(o.framer_);
  }
  return *this;
}

ControlClient::~ControlClient() {
  tls_.reset();  // close_notify before the socket goes
  if (fd_ >= 0) ::close(fd_);
}

Result<nlohmann::json> ControlClient::call(std::string_view op, nlohmann::json args,
                                           std::chrono::milliseconds timeout) {
  if (!args.is_object()) args = nlohmann::json::object();
  long id = nextId_++;
  args["id"] = id;
  args["op"] = op;
  std::string wire = frame(args);
  std::size_t off = 0;
  while (off < wire.size()) {
    auto n = sendSome(wire.data() + off, wire.size() - off);
    if (!n) {
      // The daemon may have said why before hanging up (e.g. a refusal): prefer that.
      if (auto last = readMessage(std::chrono::milliseconds(200)); last && last->contains("error")) return last;
      return n.error();
    }
    off += *n;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error{"no reply from bulwarkd within " + std::to_string(timeout.count()) + " ms"};
    auto msg = readMessage(left);
    if (!msg) return msg;
    if (msg->contains("id") && (*msg)["id"] == id) return msg;
    // A refusal the daemon sent before it read our request (no role, no free slot): it has
    // no id, and the connection ends after it.
    if (msg->contains("id") && (*msg)["id"].is_null() && !msg->value("ok", true)) return msg;
    // an event, or a stale reply: skip
  }
}

Result<nlohmann::json> ControlClient::readMessage(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto line = framer_.next()) {
      auto j = nlohmann::json::parse(*line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return Error{"bulwarkd sent a malformed message"};
      return j;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error{"timed out waiting for bulwarkd", ETIMEDOUT};
    bool buffered = tls_ && tlsPending(*tls_);  // decrypted bytes poll() cannot see
    pollfd p{fd_, POLLIN, 0};
    int r = buffered ? 1 : ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0) {
      if (errno == EINTR) continue;
      return sysError("poll", errno);
    }
    if (r == 0) continue;
    std::array<char, 65536> buf{};
    auto n = recvSome(buf.data(), buf.size());
    if (!n) return n.error();
    if (*n == 0) return Error{"bulwarkd closed the connection"};
    if (!framer_.append(std::string_view(buf.data(), *n))) {
      return Error{"bulwarkd sent an oversized message"};
    }
  }
}

Result<std::size_t> ControlClient::sendSome(const char* data, std::size_t size) {
  if (tls_) return tlsSend(*tls_, data, size);
  for (;;) {
    ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return sysError("send to bulwarkd", errno);
  }
}

Result<std::size_t> ControlClient::recvSome(char* data, std::size_t size) {
  if (tls_) return tlsRecv(*tls_, data, size);
  for (;;) {
    ssize_t n = ::recv(fd_, data, size, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return sysError("recv from bulwarkd", errno);
  }
}

}  // namespace bulwark::gateway
