// Unix-socket transport and frame helpers (see vici_transport.h).
#include "bulwark/vpn/vici_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace bulwark::vpn {

namespace {

ViciError transportError(std::string what, int err) {
  std::string msg = "vici: " + what;
  if (err != 0) {
    msg += ": ";
    msg += std::strerror(err);
  }
  return ViciError{ViciErrorKind::Transport, std::move(msg), err, {}};
}

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline, int timeoutMs) {
  if (timeoutMs < 0) {
    return -1;
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

ViciResult<std::string> frame(std::string_view packetBytes) {
  if (packetBytes.empty() || packetBytes.size() > kMaxFrame) {
    return ViciError{ViciErrorKind::Config,
                     "vici: packet of " + std::to_string(packetBytes.size()) + " bytes does not fit a frame (1.." +
                         std::to_string(kMaxFrame) + ")",
                     0,
                     {}};
  }
  const auto n = static_cast<std::uint32_t>(packetBytes.size());
  std::string out;
  out.reserve(4 + packetBytes.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out += packetBytes;
  return out;
}

ViciResult<std::size_t> frameLength(const std::uint8_t header[4]) {
  const std::uint32_t n = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                          (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  if (n == 0 || n > kMaxFrame) {
    return ViciError{ViciErrorKind::Malformed,
                     "vici: frame length " + std::to_string(n) + " outside 1.." + std::to_string(kMaxFrame),
                     0,
                     {}};
  }
  return static_cast<std::size_t>(n);
}

ViciResult<std::string> socketPathFromUri(std::string_view uri) {
  constexpr std::string_view kUnix = "unix://";
  std::string_view path = uri;
  if (uri.substr(0, kUnix.size()) == kUnix) {
    path = uri.substr(kUnix.size());
  } else if (uri.find("://") != std::string_view::npos) {
    return ViciError{ViciErrorKind::Config, "vici: only unix:// sockets are supported, got '" + std::string(uri) + "'",
                     0, {}};
  }
  if (path.empty() || path.front() != '/') {
    return ViciError{ViciErrorKind::Config, "vici: socket path must be absolute: '" + std::string(uri) + "'", 0, {}};
  }
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return ViciError{ViciErrorKind::Config, "vici: socket path too long: '" + std::string(path) + "'", 0, {}};
  }
  return std::string(path);
}

ViciResult<ViciTransportPtr> UnixTransport::connect(std::string_view uri, int timeoutMs) {
  auto path = socketPathFromUri(uri);
  if (!path) {
    return path.error();
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return transportError("socket()", errno);
  }
  auto transport = std::make_unique<UnixTransport>(fd);  // owns fd from here on
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path->data(), path->size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return transportError("connect " + *path, errno);
    }
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, timeoutMs);
    if (r <= 0) {
      return transportError("connect " + *path + " timed out", r == 0 ? ETIMEDOUT : errno);
    }
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) {
      return transportError("connect " + *path, soerr);
    }
  }
  return ViciTransportPtr(std::move(transport));
}

UnixTransport::UnixTransport(int fd) : fd_(fd) {
  const int flags = ::fcntl(fd_, F_GETFL, 0);
  if (flags >= 0) {
    ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  }
}

UnixTransport::~UnixTransport() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

ViciStatus UnixTransport::send(const Packet& packet) {
  auto bytes = encodePacket(packet);
  if (!bytes) {
    return bytes.error();
  }
  auto framed = frame(*bytes);
  if (!framed) {
    return framed.error();
  }
  std::size_t off = 0;
  const std::string& data = *framed;
  while (off < data.size()) {
    ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd_, POLLOUT, 0};
        int r = ::poll(&p, 1, 10000);
        if (r <= 0) {
          return transportError("send timed out", r == 0 ? ETIMEDOUT : errno);
        }
        continue;
      }
      return transportError("send", errno);
    }
    off += static_cast<std::size_t>(n);
  }
  return viciOk();
}

ViciStatus UnixTransport::readExactly(char* buf, std::size_t n, int timeoutMs, bool& sawEof) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs < 0 ? 0 : timeoutMs);
  std::size_t off = 0;
  while (off < n) {
    ssize_t r = ::recv(fd_, buf + off, n - off, 0);
    if (r > 0) {
      off += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) {
      sawEof = true;
      return transportError(off == 0 ? "connection closed by charon" : "connection closed in the middle of a frame", 0);
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return transportError("recv", errno);
    }
    pollfd p{fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, remainingMs(deadline, timeoutMs));
    if (pr < 0 && errno == EINTR) {
      continue;
    }
    if (pr < 0) {
      return transportError("poll", errno);
    }
    if (pr == 0) {
      return transportError("timed out waiting for charon", ETIMEDOUT);
    }
  }
  return viciOk();
}

ViciResult<Packet> UnixTransport::receive(int timeoutMs) {
  std::uint8_t header[4];
  bool eof = false;
  auto st = readExactly(reinterpret_cast<char*>(header), sizeof(header), timeoutMs, eof);
  if (!st) {
    return st.error();
  }
  auto len = frameLength(header);
  if (!len) {
    return len.error();
  }
  std::string body(*len, '\0');
  // The header arrived: the rest of the frame must follow promptly.
  st = readExactly(body.data(), body.size(), timeoutMs < 0 ? 30000 : timeoutMs, eof);
  if (!st) {
    return st.error();
  }
  return decodePacket(body);
}

}  // namespace bulwark::vpn
