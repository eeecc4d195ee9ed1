#include "event_loop.h"

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <vector>

namespace bulwark::daemon {

Result<EventLoop> EventLoop::create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return gateway::sysError("epoll_create1", errno);
  return EventLoop(UniqueFd(fd));
}

Status EventLoop::watch(int fd, std::uint32_t events, FdHandler handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  bool known = handlers_.count(fd) != 0;
  if (::epoll_ctl(epoll_.get(), known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
    return gateway::sysError("epoll_ctl", errno);
  }
  handlers_[fd] = std::move(handler);
  return gateway::okStatus();
}

void EventLoop::unwatch(int fd) {
  if (handlers_.erase(fd) != 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  TimerId id = nextTimer_++;
  timers_.emplace(Clock::now() + delay, std::make_pair(id, std::move(fn)));
  return id;
}

void EventLoop::cancel(TimerId id) {
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.first == id) {
      timers_.erase(it);
      return;
    }
  }
}

void EventLoop::reportSlow(Clock::time_point start, const std::string& what) {
  if (!onSlow_) return;
  auto held = Clock::now() - start;
  if (held > slowThreshold_) onSlow_(what, std::chrono::duration<double, std::milli>(held).count());
}

int EventLoop::run() {
  std::array<epoll_event, 64> evs{};
  while (!stopping_) {
    int timeout = -1;
    if (!timers_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(timers_.begin()->first - Clock::now());
      timeout = left.count() < 0 ? 0 : static_cast<int>(left.count()) + 1;
    }
    int n = ::epoll_wait(epoll_.get(), evs.data(), static_cast<int>(evs.size()), timeout);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n && !stopping_; ++i) {
      auto it = handlers_.find(evs[static_cast<std::size_t>(i)].data.fd);
      if (it == handlers_.end()) continue;  // unwatched by an earlier handler in this round
      auto handler = it->second;            // the handler may unwatch itself
      auto start = Clock::now();
      handler(evs[static_cast<std::size_t>(i)].events);
      reportSlow(start, "fd " + std::to_string(evs[static_cast<std::size_t>(i)].data.fd));
    }
    auto now = Clock::now();
    while (!stopping_ && !timers_.empty() && timers_.begin()->first <= now) {
      auto fn = std::move(timers_.begin()->second.second);
      timers_.erase(timers_.begin());
      auto start = Clock::now();
      fn();
      reportSlow(start, "timer");
    }
  }
  return exitCode_;
}

}  // namespace bulwark::daemon
