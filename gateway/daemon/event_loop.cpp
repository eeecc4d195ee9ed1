#include "event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <array>
#include <cerrno>
#include <vector>

namespace bulwark::daemon {

Result<EventLoop> EventLoop::create() {
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep.valid()) return gateway::sysError("epoll_create1", errno);
  auto posted = std::make_unique<Posted>();
  posted->wake = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!posted->wake.valid()) return gateway::sysError("eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = posted->wake.get();
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, posted->wake.get(), &ev) != 0) return gateway::sysError("epoll_ctl", errno);
  return EventLoop(std::move(ep), std::move(posted));
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(posted_->mutex);
    posted_->queue.push_back(std::move(fn));
  }
  // Adds 1 to the eventfd's counter; it cannot overflow in practice (2^64 - 2).
  const std::uint64_t one = 1;
  ssize_t n = ::write(posted_->wake.get(), &one, sizeof one);
  (void)n;
}

void EventLoop::runPosted() {
  std::uint64_t count = 0;
  ssize_t n = ::read(posted_->wake.get(), &count, sizeof count);  // resets the counter
  (void)n;
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(posted_->mutex);
    batch.swap(posted_->queue);
  }
  for (auto& fn : batch) {
    if (stopping_) return;
    auto start = Clock::now();
    fn();
    reportSlow(start, "posted");
  }
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
  stopping_ = false;  // a loop may run again after it stopped (tests drive it in steps)
  std::array<epoll_event, 64> evs{};
  while (!stopping_) {
    int timeout = -1;
    if (!timers_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(timers_.begin()->first - Clock::now());
      timeout = left.count() < 0 ? 0 : static_cast<int>(left.count()) + 1;
    }
    int n = ::epoll_wait(epoll_.get(), evs.data(), static_cast<int>(evs.size()), timeout);
    if (n < 0 && errno != EINTR) return 1;
    ++turn_;
    for (int i = 0; i < n && !stopping_; ++i) {
      if (evs[static_cast<std::size_t>(i)].data.fd == posted_->wake.get()) {
        runPosted();
        continue;
      }
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
