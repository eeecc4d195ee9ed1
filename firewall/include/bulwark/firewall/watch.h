#pragma once
// nftables change notifications (NFNLGRP_NFTABLES) for table inet bulwark, loop-agnostic:
// poll fd() for readability, then drain() reads every queued notification without waiting
// and says whether any concerned the table, or whether some were lost (ENOBUFS: the caller
// must re-observe as if they had). The notifications of Bulwark's own writes come through too.
// With a journal, every message is also noted there by generation (table_journal.h).
#include <memory>

#include "bulwark/firewall/kernel_error.h"
#include "bulwark/firewall/table_journal.h"

namespace bulwark::firewall {

class TableWatch {
 public:
  // `journal` (may be null): restarted at the generation read after subscribing, then fed.
  [[nodiscard]] static KernelResult<TableWatch> open(std::shared_ptr<TableJournal> journal = nullptr);
  TableWatch(TableWatch&&) noexcept;
  TableWatch& operator=(TableWatch&&) noexcept;
  ~TableWatch();

  [[nodiscard]] int fd() const;
  // true: table inet bulwark changed (or notifications were lost).
  [[nodiscard]] bool drain();

 private:
  struct Impl;
  explicit TableWatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Pure, for tests: does this nfnetlink message (one nlmsghdr) concern table inet bulwark?
[[nodiscard]] bool concernsBulwarkTable(const void* nlh);

}  // namespace bulwark::firewall
