#pragma once
// All raw rtnetlink of the link reconciler: one NETLINK_ROUTE socket (libmnl), the dumps that
// observe links/addresses/netconf, and one acked request per operation. Nothing else in vlan/
// includes a netlink header.
#include <libmnl/libmnl.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "bulwark/vlan/links.h"
#include "bulwark/vlan/result.h"

namespace bulwark::vlan::nl {

// A refused request: errno plus the kernel's extended-ack text, if any.
struct Refusal {
  int err = 0;
  std::string extMessage;
};

class Rtnl {
 public:
  static Result<Rtnl> open();
  // A non-blocking socket subscribed to `groups` (RTNLGRP_*): change notifications only.
  static Result<Rtnl> openWatch(std::initializer_list<unsigned> groups);

  // RTM_GETLINK, RTM_GETADDR, RTM_GETNETCONF (AF_INET, AF_INET6): one dump each. A dump the
  // kernel marks as interrupted (NLM_F_DUMP_INTR: links changed meanwhile) is repeated.
  Result<ObservedState> observe();

  // One operation's netlink message(s), each with NLM_F_ACK, ack checked. SetSysctl is not
  // netlink (see apply.cpp). `messages` counts the requests sent.
  // On refusal: Error{Kernel, errno, "<strerror>[: <ext ack>]"}.
  Result<Unit> execute(const Op& op, std::size_t& messages);

  // A watch socket: reads every queued notification without waiting; true when any arrived
  // or some were lost (ENOBUFS).
  bool drain();
  [[nodiscard]] int fd() const { return mnl_socket_get_fd(sock_.get()); }

 private:
  struct Closer {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };
  explicit Rtnl(std::unique_ptr<mnl_socket, Closer> s);

  using Parser = int (*)(const nlmsghdr*, void*);
  Result<Unit> dump(std::uint16_t type, std::uint8_t family, Parser parse, void* data, int& dumps);
  Result<Unit> ack(nlmsghdr* nlh);

  std::unique_ptr<mnl_socket, Closer> sock_;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
};

}  // namespace bulwark::vlan::nl
