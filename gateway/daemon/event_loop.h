#pragma once
// The daemon's single thread: epoll over its file descriptors plus one-shot timers on the
// monotonic clock. Handlers run to completion; nothing here is thread-safe or needs to be.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

#include "bulwark/gateway/result.h"
#include "unique_fd.h"

namespace bulwark::daemon {

using gateway::Result;
using gateway::Status;
using Clock = std::chrono::steady_clock;

class EventLoop {
 public:
  using FdHandler = std::function<void(std::uint32_t events)>;
  using TimerId = std::uint64_t;

  [[nodiscard]] static Result<EventLoop> create();

  // Watch `fd` (not owned) for `events` (EPOLLIN/EPOLLOUT...). Re-adding modifies.
  [[nodiscard]] Status watch(int fd, std::uint32_t events, FdHandler handler);
  void unwatch(int fd);

  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel(TimerId id);

  // Called after any handler or timer that held the loop longer than `threshold` (the loop
  // is single-threaded: that long, no request was answered). For the log.
  void onSlow(std::chrono::milliseconds threshold, std::function<void(const std::string& what, double millis)> fn) {
    slowThreshold_ = threshold;
    onSlow_ = std::move(fn);
  }

  // Runs until stop(); returns the reason given to stop().
  int run();
  void stop(int code) {
    stopping_ = true;
    exitCode_ = code;
  }

 private:
  explicit EventLoop(UniqueFd ep) : epoll_(std::move(ep)) {}
  void reportSlow(Clock::time_point start, const std::string& what);
  UniqueFd epoll_;
  std::unordered_map<int, FdHandler> handlers_;
  std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>> timers_;
  TimerId nextTimer_ = 1;
  std::chrono::milliseconds slowThreshold_{0};
  std::function<void(const std::string&, double)> onSlow_;
  bool stopping_ = false;
  int exitCode_ = 0;
};

}  // namespace bulwark::daemon
