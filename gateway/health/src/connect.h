#pragma once
// A TCP connection to a target within a deadline (non-blocking connect + poll), and its descriptor's
// owner (base/unique_fd.h). Shared by the TCP and TLS probes.
#include <chrono>
#include <string>

#include "bulwark/base/unique_fd.h"
#include "bulwark/health/target.h"

namespace bulwark::health::detail {

using Deadline = std::chrono::steady_clock::time_point;

// Milliseconds left until `d` (0 when past), for poll().
[[nodiscard]] int msLeft(Deadline d);
// "timed out after 300 ms"
[[nodiscard]] std::string timedOut(const Target& t);

// A connected non-blocking socket, or an invalid UniqueFd and `error` set.
[[nodiscard]] UniqueFd connectWithin(const Target& t, Deadline deadline, std::string& error);

}  // namespace bulwark::health::detail
