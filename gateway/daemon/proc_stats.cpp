#include "proc_stats.h"

#include <fstream>
#include <sstream>

namespace bulwark::daemon {

namespace {

std::string slurp(const char* path) {
  std::ifstream in(path);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

// The number after `key` at the start of a line ("MemTotal:  123 kB"), in its unit's bytes.
std::optional<std::uint64_t> kbField(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    if (line.substr(0, key.size()) == key) {
      std::istringstream in{std::string(line.substr(key.size()))};
      std::uint64_t v = 0;
      std::string unit;
      if (!(in >> v)) return std::nullopt;
      in >> unit;
      return unit == "kB" ? v * 1024 : v;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<CpuTimes> parseCpuTimes(std::string_view procStat) {
  std::istringstream in{std::string(procStat)};
  std::string line;
  CpuTimes t;
  bool total = false;
  while (std::getline(in, line)) {
    if (line.rfind("cpu ", 0) == 0) {
      std::istringstream f(line.substr(4));
      if (!(f >> t.user >> t.nice >> t.system >> t.idle >> t.iowait >> t.irq >> t.softirq)) return std::nullopt;
      f >> t.steal;  // absent on old kernels
      total = true;
    } else if (line.rfind("cpu", 0) == 0) {
      ++t.cpus;
    }
  }
  if (!total) return std::nullopt;
  return t;
}

std::optional<MemInfo> parseMemInfo(std::string_view text) {
  auto total = kbField(text, "MemTotal:");
  auto avail = kbField(text, "MemAvailable:");
  if (!total || !avail) return std::nullopt;
  return MemInfo{*total, *avail};
}

std::optional<std::uint64_t> parseRssBytes(std::string_view text) { return kbField(text, "VmRSS:"); }

CpuPercent cpuPercent(const CpuTimes& a, const CpuTimes& b) {
  CpuPercent p;
  if (b.total() <= a.total()) return p;
  const double span = static_cast<double>(b.total() - a.total());
  auto pct = [span](std::uint64_t x, std::uint64_t y) { return y >= x ? 100.0 * static_cast<double>(y - x) / span : 0; };
  p.user = pct(a.user + a.nice, b.user + b.nice);
  p.system = pct(a.system, b.system);
  p.softirq = pct(a.softirq, b.softirq);
  p.irq = pct(a.irq, b.irq);
  p.iowait = pct(a.iowait, b.iowait);
  p.busy = 100.0 - pct(a.idle + a.iowait, b.idle + b.iowait);
  return p;
}

std::optional<CpuTimes> readCpuTimes() { return parseCpuTimes(slurp("/proc/stat")); }
std::optional<MemInfo> readMemInfo() { return parseMemInfo(slurp("/proc/meminfo")); }
std::optional<std::uint64_t> readRssBytes() { return parseRssBytes(slurp("/proc/self/status")); }

}  // namespace bulwark::daemon
