#pragma once
// The daemon's EventLoop as the HA module's ha::Loop.
#include <sys/epoll.h>

#include "bulwark/ha/loop.h"
#include "event_loop.h"

namespace bulwark::daemon {

class HaLoop : public ha::Loop {
 public:
  explicit HaLoop(EventLoop& loop) : loop_(loop) {}
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    return loop_.after(delay, std::move(fn));
  }
  void cancel(TimerId id) override { loop_.cancel(id); }
  bool watchReadable(int fd, std::function<void()> fn) override {
    return static_cast<bool>(loop_.watch(fd, EPOLLIN, [fn = std::move(fn)](std::uint32_t) { fn(); }));
  }
  void unwatch(int fd) override { loop_.unwatch(fd); }

 private:
  EventLoop& loop_;
};

}  // namespace bulwark::daemon
