#pragma once
// A log for lines a client can cause at will (refused connections, timeouts): at most
// `perWindow` lines per window, then one line saying how many were left out. The daemon's
// log (journald) must tell what happened without being the attacker's to fill.
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

#include "event_loop.h"

namespace bulwark::daemon {

class RateLimitedLog {
 public:
  using Log = std::function<void(const std::string&)>;
  explicit RateLimitedLog(Log log, std::size_t perWindow = 20,
                          std::chrono::milliseconds window = std::chrono::seconds(10))
      : log_(std::move(log)), perWindow_(perWindow), window_(window) {}

  void operator()(const std::string& line) {
    if (!log_) return;
    const auto now = Clock::now();
    if (now - windowStart_ > window_) {
      if (suppressed_ > 0) log_(std::to_string(suppressed_) + " similar message(s) suppressed");
      windowStart_ = now;
      lines_ = 0;
      suppressed_ = 0;
    }
    if (lines_ < perWindow_) {
      ++lines_;
      log_(line);
    } else {
      ++suppressed_;
    }
  }

 private:
  Log log_;
  std::size_t perWindow_;
  std::chrono::milliseconds window_;
  Clock::time_point windowStart_{};
  std::size_t lines_ = 0;
  std::size_t suppressed_ = 0;
};

// The same for lines logged from several threads (the HTTP servers' workers).
class ThreadSafeRateLimitedLog {
 public:
  explicit ThreadSafeRateLimitedLog(RateLimitedLog::Log log) : inner_(std::move(log)) {}
  void operator()(const std::string& line) {
    std::lock_guard lock(mutex_);
    inner_(line);
  }

 private:
  std::mutex mutex_;
  RateLimitedLog inner_;
};

}  // namespace bulwark::daemon
