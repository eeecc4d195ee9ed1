#pragma once
// Interface counters for monitoring: one RTM_GETLINK dump of the namespace with the
// kernel's 64-bit statistics (IFLA_STATS64, struct rtnl_link_stats64) per link. Read-only:
// nothing here changes a link. The reconciler's own dumps skip the statistics
// (RTEXT_FILTER_SKIP_STATS); this reader asks for them.
//
// One LinkStatsReader keeps its NETLINK_ROUTE socket open (the web view reads once a second);
// it belongs to one thread at a time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bulwark/vlan/result.h"

namespace bulwark::vlan {

struct LinkStats {
  int index = 0;
  std::string name;
  bool up = false;        // IFF_UP
  bool running = false;   // IFF_RUNNING (carrier)
  std::uint64_t rxBytes = 0, txBytes = 0;
  std::uint64_t rxPackets = 0, txPackets = 0;
  std::uint64_t rxErrors = 0, txErrors = 0;
  std::uint64_t rxDropped = 0, txDropped = 0;
};

class LinkStatsReader {
 public:
  [[nodiscard]] static Result<LinkStatsReader> open();
  ~LinkStatsReader();
  LinkStatsReader(LinkStatsReader&&) noexcept;
  LinkStatsReader& operator=(LinkStatsReader&&) noexcept;

  // Every link of the namespace, sorted by name. A dump the kernel marks interrupted
  // (NLM_F_DUMP_INTR) is repeated (at most 3 times).
  [[nodiscard]] Result<std::vector<LinkStats>> read();

 private:
  struct Impl;
  explicit LinkStatsReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::vlan
