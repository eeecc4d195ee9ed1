#pragma once
// The daemon's single thread: epoll over its file descriptors plus one-shot timers on the
// monotonic clock. Handlers run to completion. Everything here runs on the loop's thread,
// except post(): the one way for another thread (a worker) to hand the loop a result.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bulwark/gateway/result.h"
#include "bulwark/base/unique_fd.h"

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

  // Thread-safe: `fn` runs on the loop's thread at its next turn (an eventfd wakes epoll_wait).
  // Posts from one thread run in the order they were posted. Posted after the loop stopped:
  // never run (destroyed with the loop).
  void post(std::function<void()> fn);

  // Called after any handler or timer that held the loop longer than `threshold` (the loop
  // is single-threaded: that long, no request was answered). For the log.
  void onSlow(std::chrono::milliseconds threshold, std::function<void(const std::string& what, double millis)> fn) {
    slowThreshold_ = threshold;
    onSlow_ = std::move(fn);
  }

  // Turns of the loop so far (one epoll_wait and what it reported, then the due timers): for
  // budgets that are shared by everything one turn runs.
  [[nodiscard]] std::uint64_t turn() const { return turn_; }

  // Runs until stop() (called from a handler or timer); returns the reason given to stop().
  // May be called again afterwards.
  int run();
  void stop(int code) {
    stopping_ = true;
    exitCode_ = code;
  }

 private:
  // Shared with posting threads; behind a pointer so that the loop stays movable.
  struct Posted {
    UniqueFd wake;  // eventfd, in epoll_ with data.fd = wake
    std::mutex mutex;
    std::vector<std::function<void()>> queue;  // guarded by mutex
  };
  EventLoop(UniqueFd ep, std::unique_ptr<Posted> posted) : epoll_(std::move(ep)), posted_(std::move(posted)) {}
  void reportSlow(Clock::time_point start, const std::string& what);
  void runPosted();
  UniqueFd epoll_;
  std::unique_ptr<Posted> posted_;
  std::unordered_map<int, FdHandler> handlers_;
  std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>> timers_;
  TimerId nextTimer_ = 1;
  std::chrono::milliseconds slowThreshold_{0};
  std::function<void(const std::string&, double)> onSlow_;
  bool stopping_ = false;
  int exitCode_ = 0;
  std::uint64_t turn_ = 0;
};

}  // namespace bulwark::daemon
