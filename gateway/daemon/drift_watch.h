#pragma once
// nftables change notifications (NFNLGRP_NFTABLES). Each message of a transaction that
// touches table inet bulwark (or a lost-events overrun, ENOBUFS) calls `onChange` — at most
// once per readable batch; the caller debounces and re-observes. The notifications of the
// daemon's own writes come through too: the re-observe then finds nothing to do.
#include <functional>
#include <memory>

#include "event_loop.h"
#include "bulwark/base/unique_fd.h"

struct mnl_socket;

namespace bulwark::daemon {

class DriftWatch {
 public:
  [[nodiscard]] static Result<std::unique_ptr<DriftWatch>> start(EventLoop& loop, std::function<void()> onChange);
  ~DriftWatch();
  DriftWatch(const DriftWatch&) = delete;
  DriftWatch& operator=(const DriftWatch&) = delete;

 private:
  DriftWatch(EventLoop& loop, mnl_socket* nl, std::function<void()> cb) : loop_(loop), nl_(nl), onChange_(std::move(cb)) {}
  void onReadable();
  EventLoop& loop_;
  mnl_socket* nl_;  // owned
  std::function<void()> onChange_;
};

// Pure, for tests: does this nfnetlink message (one nlmsghdr) concern table inet bulwark?
[[nodiscard]] bool concernsBulwarkTable(const void* nlh);

}  // namespace bulwark::daemon
