#pragma once
// A kernel change watch of a module (firewall::TableWatch, vlan::LinkWatch) on the event
// loop: its socket is watched for readability; each readable round drains it and calls
// `onChange` once when it reported something (or lost notifications). The caller debounces
// and re-plans; the notifications of the daemon's own writes come through too, and the
// re-plan then finds nothing to do. `args` go to Watch::open() (the table watch's journal).
#include <sys/epoll.h>

#include <functional>
#include <memory>
#include <utility>

#include "event_loop.h"

namespace bulwark::daemon {

template <typename Watch>
class KernelWatch {
 public:
  template <typename... Args>
  [[nodiscard]] static Result<std::unique_ptr<KernelWatch>> start(EventLoop& loop, std::function<void()> onChange,
                                                                  Args&&... args) {
    auto w = Watch::open(std::forward<Args>(args)...);
    if (!w) return gateway::Error{w.error().message, w.error().sysErrno};
    std::unique_ptr<KernelWatch> out(new KernelWatch(loop, std::move(w.value()), std::move(onChange)));
    auto* raw = out.get();
    auto s = loop.watch(raw->watch_.fd(), EPOLLIN, [raw](std::uint32_t) {
      if (raw->watch_.drain()) raw->onChange_();
    });
    if (!s) return s.error();
    raw->watching_ = true;
    return out;
  }
  ~KernelWatch() {
    if (watching_) loop_.unwatch(watch_.fd());
  }
  KernelWatch(const KernelWatch&) = delete;
  KernelWatch& operator=(const KernelWatch&) = delete;

 private:
  KernelWatch(EventLoop& loop, Watch w, std::function<void()> cb)
      : loop_(loop), watch_(std::move(w)), onChange_(std::move(cb)) {}
  EventLoop& loop_;
  Watch watch_;
  std::function<void()> onChange_;
  bool watching_ = false;
};

}  // namespace bulwark::daemon
