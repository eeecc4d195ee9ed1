#pragma once
// A small ha::Loop for the tests: poll() over the watched fds plus timers, run until a
// condition holds or a deadline passes (bulwarkd uses its own EventLoop).
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

#include "bulwark/ha/loop.h"

namespace bulwark::ha::test {

class PollLoop : public Loop {
 public:
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    auto id = next_++;
    timers_.emplace(id, Timer{Clock::now() + delay, std::move(fn)});
    return id;
  }
  void cancel(TimerId id) override { timers_.erase(id); }
  bool watchReadable(int fd, std::function<void()> fn) override {
    fds_[fd] = std::move(fn);
    return true;
  }
  void unwatch(int fd) override { fds_.erase(fd); }
  [[nodiscard]] std::size_t watched() const { return fds_.size(); }

  // Runs until `done()` or `limit` passes; returns done().
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) turn(deadline);
    return done();
  }
  void runFor(std::chrono::milliseconds d) {
    auto deadline = Clock::now() + d;
    while (Clock::now() < deadline) turn(deadline);
  }

 private:
  struct Timer {
    Clock::time_point due;
    std::function<void()> fn;
  };
  void turn(Clock::time_point deadline) {
    auto wake = deadline;
    for (const auto& [id, t] : timers_) wake = std::min(wake, t.due);
    std::vector<pollfd> p;
    for (const auto& [fd, fn] : fds_) p.push_back({fd, POLLIN, 0});
    auto ms = std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count());
    ::poll(p.data(), p.size(), static_cast<int>(std::min<long>(ms, 50)));
    for (const auto& x : p) {
      if ((x.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      auto it = fds_.find(x.fd);
      if (it != fds_.end()) {
        auto fn = it->second;  // the handler may unwatch itself
        fn();
      }
    }
    for (;;) {
      auto due = std::find_if(timers_.begin(), timers_.end(), [](const auto& t) { return t.second.due <= Clock::now(); });
      if (due == timers_.end()) break;
      auto fn = std::move(due->second.fn);
      timers_.erase(due);
      fn();
    }
  }
  std::map<TimerId, Timer> timers_;
  std::map<int, std::function<void()>> fds_;
  TimerId next_ = 1;
};

}  // namespace bulwark::ha::test
