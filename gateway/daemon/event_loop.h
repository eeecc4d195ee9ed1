#pragma once
// The daemon's single thread: epoll over its file descriptors plus one-shot timers on the
// monotonic clock. Handlers run to completion; nothing here is thread-safe or needs to be.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
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

  // Runs until stop(); returns the reason given to stop().
  int run();
  void stop(int code) {
    stopping_ = true;
    exitCode_ = code;
  }

 private:
  explicit EventLoop(UniqueFd ep) : epoll_(std::move(ep)) {}
  UniqueFd epoll_;
  std::unordered_map<int, FdHandler> handlers_;
  std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>> timers_;
  TimerId nextTimer_ = 1;
  bool stopping_ = false;
  int exitCode_ = 0;
};

}  // namespace bulwark::daemon
