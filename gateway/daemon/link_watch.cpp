#include "link_watch.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/epoll.h>

#include <cerrno>
#include <vector>

namespace bulwark::daemon {

Result<std::unique_ptr<LinkWatch>> LinkWatch::start(EventLoop& loop, std::function<void()> onChange) {
  mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (!nl) return gateway::sysError("rtnetlink socket", errno);
  std::unique_ptr<LinkWatch> w(new LinkWatch(loop, nl, std::move(onChange)));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) return gateway::sysError("rtnetlink bind", errno);
  for (int group : {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_NETCONF,
                    RTNLGRP_IPV6_NETCONF}) {
    if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
      return gateway::sysError("subscribe to rtnetlink group " + std::to_string(group), errno);
    }
  }
  auto* raw = w.get();
  auto s = loop.watch(mnl_socket_get_fd(nl), EPOLLIN, [raw](std::uint32_t) { raw->onReadable(); });
  if (!s) return s.error();
  return w;
}

LinkWatch::~LinkWatch() {
  loop_.unwatch(mnl_socket_get_fd(nl_));
  mnl_socket_close(nl_);
}

void LinkWatch::onReadable() {
  // Which link changed does not matter: the re-plan compares every owned link (and a
  // foreign link taking an owned name or VLAN id matters as much as an owned one changing).
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  bool any = false;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0 && errno == ENOBUFS) {
      any = true;  // events were lost: re-plan
      continue;
    }
    if (n <= 0) break;  // EAGAIN: drained
    any = true;
  }
  if (any) onChange_();
}

}  // namespace bulwark::daemon
