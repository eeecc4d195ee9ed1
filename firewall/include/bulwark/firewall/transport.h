#pragma once
// The seam under all of the firewall's netlink (firewall/src/nl/socket.*): datagrams to and
// from the kernel's nfnetlink. The real transport is a NETLINK_NETFILTER socket; unit tests
// put a fake kernel behind it (tests/firewall/fake_netfilter.h), so the batch building, the
// ack mapping, the generation lock and the dump parsing are tested without root.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "bulwark/firewall/kernel_error.h"

namespace bulwark::firewall {

class NetlinkTransport {
 public:
  virtual ~NetlinkTransport() = default;
  // The socket's netlink port id (acks and replies are addressed to it).
  [[nodiscard]] virtual std::uint32_t portId() const = 0;
  // One sendmsg: a whole batch, or one request.
  [[nodiscard]] virtual KernelResult<Unit> send(const char* data, std::size_t len) = 0;
  // One datagram into `buf`, waiting at most `timeoutMs` (-1: no limit, 0: only what is
  // queued). 0 bytes: nothing arrived in time. ENOBUFS (notifications were lost) is an error.
  [[nodiscard]] virtual KernelResult<std::size_t> receive(char* buf, std::size_t len, int timeoutMs) = 0;
  // Room for one batch and its acks (SO_SNDBUF / SO_RCVBUF, FORCE where allowed).
  virtual void reserve(std::size_t sendBytes, std::size_t receiveBytes) = 0;
  // Join a multicast group (NFNLGRP_NFTABLES for the change watch).
  [[nodiscard]] virtual KernelResult<Unit> subscribe(unsigned group) = 0;
  // For the caller's poll/epoll (watches); -1 where there is no descriptor.
  [[nodiscard]] virtual int fd() const = 0;
};
using NetlinkTransportPtr = std::unique_ptr<NetlinkTransport>;

// Opens a transport. `nonBlocking`: for watches, which drain on readability.
using TransportOpener = std::function<KernelResult<NetlinkTransportPtr>(bool nonBlocking)>;

// Every transport the firewall opens from now on comes from `opener`; an empty one restores
// the kernel's. For unit tests only; not thread-safe against transports being opened.
void setTransportOpenerForTest(TransportOpener opener);

}  // namespace bulwark::firewall
