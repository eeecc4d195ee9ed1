#pragma once
// The gateway's resources from procfs for the web view and /metrics: CPU time per mode
// (/proc/stat's first line; softirq included), memory (/proc/meminfo), the daemon's own RSS
// (/proc/self/status). Parsers are pure (tests feed them text); read*() read the files.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::daemon {

struct CpuTimes {  // jiffies (USER_HZ) summed over all CPUs
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  int cpus = 0;  // cpuN lines
  [[nodiscard]] std::uint64_t total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
};

struct CpuPercent {  // of all CPUs together, 0..100
  double busy = 0, user = 0, system = 0, softirq = 0, irq = 0, iowait = 0;
};

struct MemInfo {
  std::uint64_t totalBytes = 0, availableBytes = 0;
};

[[nodiscard]] std::optional<CpuTimes> parseCpuTimes(std::string_view procStat);
[[nodiscard]] std::optional<MemInfo> parseMemInfo(std::string_view procMeminfo);
[[nodiscard]] std::optional<std::uint64_t> parseRssBytes(std::string_view procStatus);  // VmRSS
// Between two readings; all zero when no time passed.
[[nodiscard]] CpuPercent cpuPercent(const CpuTimes& before, const CpuTimes& after);

[[nodiscard]] std::optional<CpuTimes> readCpuTimes();
[[nodiscard]] std::optional<MemInfo> readMemInfo();
[[nodiscard]] std::optional<std::uint64_t> readRssBytes();

}  // namespace bulwark::daemon
