#pragma once
// What the HA pieces need of an event loop: one-shot timers and readable file descriptors.
// bulwarkd adapts its EventLoop to this; the tests run a small poll() loop. Everything is
// called on the loop's thread.
#include <chrono>
#include <cstdint>
#include <functional>

namespace bulwark::ha {

using Clock = std::chrono::steady_clock;

class Loop {
 public:
  using TimerId = std::uint64_t;
  virtual ~Loop() = default;
  virtual TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  virtual void cancel(TimerId id) = 0;
  // Calls `fn` whenever `fd` (not owned) is readable, until unwatch(fd).
  virtual bool watchReadable(int fd, std::function<void()> fn) = 0;
  virtual void unwatch(int fd) = 0;
};

}  // namespace bulwark::ha
