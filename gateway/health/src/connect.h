#pragma once
// A TCP connection to a target within a deadline (non-blocking connect + poll), and the one
// owner of its descriptor. Shared by the TCP and TLS probes.
#include <chrono>
#include <string>

#include "bulwark/health/target.h"

namespace bulwark::health::detail {

using Deadline = std::chrono::steady_clock::time_point;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// Milliseconds left until `d` (0 when past), for poll().
[[nodiscard]] int msLeft(Deadline d);
// "timed out after 300 ms"
[[nodiscard]] std::string timedOut(const Target& t);

// A connected non-blocking socket, or an invalid Fd and `error` set.
[[nodiscard]] Fd connectWithin(const Target& t, Deadline deadline, std::string& error);

}  // namespace bulwark::health::detail
