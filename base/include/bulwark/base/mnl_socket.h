#pragma once
// One libmnl netlink socket of a request/reply conversation, for the modules that speak
// netlink through libmnl and link it (conntrack's ctnetlink reader, vlan's link statistics):
// the one owner of the socket, its port id, the seq of the last request, and a receive
// buffer.
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/base/result.h"

namespace bulwark {

struct MnlSocket {
  struct Closer {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };

  // A socket of netlink `bus` bound to a port of its own, and `recvBuf` bytes to read into.
  // A failure is a sysError of the call that failed, "<name> socket" or "<name> bind", with
  // `base` as sysError's.
  template <typename E>
  [[nodiscard]] std::optional<E> open(int bus, std::string_view name, std::size_t recvBuf, E base = {}) {
    auto failed = [&](const char* call) {
      const int err = errno;  // before the message's allocation
      return sysError(err, std::string(name) + call, std::move(base));
    };
    sock.reset(mnl_socket_open2(bus, SOCK_CLOEXEC));
    if (!sock) return failed(" socket");
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return failed(" bind");
    portid = mnl_socket_get_portid(sock.get());
    buf.resize(recvBuf);
    return std::nullopt;
  }

  std::unique_ptr<mnl_socket, Closer> sock;
  std::uint32_t portid = 0;
  std::uint32_t seq = 0;
  std::vector<char> buf;
};

}  // namespace bulwark
