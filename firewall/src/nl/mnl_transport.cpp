// The kernel behind NetlinkTransport: a NETLINK_NETFILTER socket (libmnl), and the opener
// every nl::Socket takes its transport from.
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "bulwark/firewall/transport.h"
#include "nl/socket.h"

namespace bulwark::firewall {
namespace {

void raiseBuffer(int fd, int force, int plain, std::size_t want) {
  const int v = static_cast<int>(std::min<std::size_t>(want, 1u << 30));
  if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) != 0) {
    setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));  // unprivileged: capped by rmem_max
  }
}

class MnlTransport final : public NetlinkTransport {
 public:
  struct Closer {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };
  explicit MnlTransport(std::unique_ptr<mnl_socket, Closer> s)
      : sock_(std::move(s)), portid_(mnl_socket_get_portid(sock_.get())) {}

  std::uint32_t portId() const override { return portid_; }
  int fd() const override { return mnl_socket_get_fd(sock_.get()); }

  KernelResult<Unit> send(const char* data, std::size_t len) override {
    iovec iov{const_cast<char*>(data), len};
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    msghdr msg{};
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof(addr);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    while (sendmsg(fd(), &msg, 0) < 0) {
      if (errno != EINTR) {
        return sysError<KernelError>(errno, "netlink send (" + std::to_string(len) + " bytes)");
      }
    }
    return Unit{};
  }

  KernelResult<std::size_t> receive(char* buf, std::size_t len, int timeoutMs) override {
    for (;;) {
      if (timeoutMs >= 0) {
        pollfd p{fd(), POLLIN, 0};
        const int pr = poll(&p, 1, timeoutMs);
        if (pr < 0 && errno == EINTR) {
          continue;
        }
        if (pr < 0) {
          return sysError<KernelError>(errno, "netlink poll");
        }
        if (pr == 0) {
          return std::size_t{0};
        }
      }
      const ssize_t n = recv(fd(), buf, len, timeoutMs >= 0 ? MSG_DONTWAIT : 0);
      if (n >= 0) {
        return static_cast<std::size_t>(n);
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        if (timeoutMs == 0) {
          return std::size_t{0};
        }
        if (timeoutMs < 0) {
          pollfd p{fd(), POLLIN, 0};  // a non-blocking socket asked to wait
          poll(&p, 1, -1);
        }
        continue;
      }
      return sysError<KernelError>(errno, "netlink receive");
    }
  }

  void reserve(std::size_t sendBytes, std::size_t receiveBytes) override {
    if (sendBytes > 0) {
      raiseBuffer(fd(), SO_SNDBUFFORCE, SO_SNDBUF, sendBytes);
    }
    if (receiveBytes > 0) {
      raiseBuffer(fd(), SO_RCVBUFFORCE, SO_RCVBUF, receiveBytes);
    }
  }

  KernelResult<Unit> subscribe(unsigned group) override {
    int g = static_cast<int>(group);
    if (mnl_socket_setsockopt(sock_.get(), NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0) {
      return sysError<KernelError>(errno, "subscribe to netlink group " + std::to_string(group));
    }
    return Unit{};
  }

 private:
  std::unique_ptr<mnl_socket, Closer> sock_;
  std::uint32_t portid_ = 0;
};

KernelResult<NetlinkTransportPtr> openKernel(bool nonBlocking) {
  std::unique_ptr<mnl_socket, MnlTransport::Closer> s(
      mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0)));
  if (!s) {
    return sysError<KernelError>(errno, "netlink socket");
  }
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return sysError<KernelError>(errno, "netlink bind");
  }
  int one = 1;
  // Best effort: error strings and capped acks (the request is not echoed back).
  mnl_socket_setsockopt(s.get(), NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(s.get(), NETLINK_CAP_ACK, &one, sizeof(one));
  return NetlinkTransportPtr(std::make_unique<MnlTransport>(std::move(s)));
}

TransportOpener& opener() {
  static TransportOpener o;
  return o;
}

}  // namespace

void setTransportOpenerForTest(TransportOpener o) { opener() = std::move(o); }

namespace nl {
KernelResult<NetlinkTransportPtr> openTransport(bool nonBlocking) {
  return opener() ? opener()(nonBlocking) : openKernel(nonBlocking);
}
}  // namespace nl

}  // namespace bulwark::firewall
