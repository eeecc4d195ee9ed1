#pragma once
// A wall-clock time as the status, the audit details and the web view write it (ISO 8601,
// UTC, whole seconds: "2026-12-06T09:30:00Z").
#include <chrono>
#include <ctime>
#include <string>

namespace bulwark::daemon {

inline std::string utcString(std::chrono::system_clock::time_point t) {
  auto tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace bulwark::daemon
