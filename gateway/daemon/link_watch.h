#pragma once
// rtnetlink change notifications for the links kind's drift repair: links (RTNLGRP_LINK),
// addresses (RTNLGRP_IPV4_IFADDR/IPV6_IFADDR) and per-interface forwarding/rp_filter
// (RTNLGRP_IPV4_NETCONF/IPV6_NETCONF). Every readable batch (or a lost-events overrun,
// ENOBUFS) calls `onChange` once; the caller debounces and re-plans (three dumps: cheap).
// The daemon's own link writes come through too: the re-plan then finds nothing to do.
#include <functional>
#include <memory>

#include "event_loop.h"

struct mnl_socket;

namespace bulwark::daemon {

class LinkWatch {
 public:
  [[nodiscard]] static Result<std::unique_ptr<LinkWatch>> start(EventLoop& loop, std::function<void()> onChange);
  ~LinkWatch();
  LinkWatch(const LinkWatch&) = delete;
  LinkWatch& operator=(const LinkWatch&) = delete;

 private:
  LinkWatch(EventLoop& loop, mnl_socket* nl, std::function<void()> cb) : loop_(loop), nl_(nl), onChange_(std::move(cb)) {}
  void onReadable();
  EventLoop& loop_;
  mnl_socket* nl_;  // owned
  std::function<void()> onChange_;
};

}  // namespace bulwark::daemon
