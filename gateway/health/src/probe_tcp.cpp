#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bulwark/health/probe.h"
#include "connect.h"

namespace bulwark::health {
namespace detail {

int msLeft(Deadline d) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - std::chrono::steady_clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

std::string timedOut(const Target& t) { return "timed out after " + std::to_string(t.timeout.count()) + " ms"; }

UniqueFd connectWithin(const Target& t, Deadline deadline, std::string& error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const auto& b = t.address.bytes();
  if (t.address.isV4()) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(t.port);
    std::memcpy(&a->sin_addr, b.data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(t.port);
    std::memcpy(&a->sin6_addr, b.data(), 16);
    len = sizeof(sockaddr_in6);
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = std::string("socket: ") + std::strerror(errno);
    return {};
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return fd;
  if (errno != EINPROGRESS) {
    error = std::string("connect: ") + std::strerror(errno);
    return {};
  }
  pollfd p{fd.get(), POLLOUT, 0};
  for (;;) {
    int n = ::poll(&p, 1, msLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "connect " + timedOut(t);
      return {};
    }
    break;
  }
  int soErr = 0;
  socklen_t sl = sizeof soErr;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soErr, &sl) != 0 || soErr != 0) {
    error = std::string("connect: ") + std::strerror(soErr != 0 ? soErr : errno);
    return {};
  }
  return fd;
}

}  // namespace detail

ProbeResult probeTcp(const Target& t) {
  const auto start = std::chrono::steady_clock::now();
  ProbeResult r;
  std::string err;
  auto fd = detail::connectWithin(t, start + t.timeout, err);
  r.latencyMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  r.ok = fd.valid();
  r.error = std::move(err);
  return r;
}

ProbeResult probe(const Target& t) {
  switch (t.type) {
    case CheckType::Tcp: return probeTcp(t);
    case CheckType::Http:
    case CheckType::Https: return probeHttp(t);
    case CheckType::Tls: return probeTls(t);
  }
  return {false, 0, "unknown check type"};
}

}  // namespace bulwark::health
