// The web view's procfs parsers (gateway/daemon/proc_stats.cpp) on arbitrary text: never
// crash, never read out of bounds; a parse either fails or gives numbers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proc_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = bulwark::daemon::parseCpuTimes(text);
  if (a) {
    auto p = bulwark::daemon::cpuPercent(*a, *a);
    if (p.busy != 0) __builtin_trap();  // no time passed: all zero
  }
  (void)bulwark::daemon::parseMemInfo(text);
  (void)bulwark::daemon::parseRssBytes(text);
  return 0;
}
