#pragma once
// The conntrack table of the caller's network namespace over ctnetlink (one libmnl socket;
// a dump of both families). dump() reads only the attributes a Flow needs, with libmnl
// attribute callbacks and no allocation per entry; dumpEntries() and destroy() go through
// libnetfilter_conntrack's nfct_nlmsg_parse / nfct_nlmsg_build. One reader keeps its socket;
// use it from one thread at a time (the daemon's top-talkers worker).
#include <memory>
#include <vector>

#include "bulwark/conntrack/entry.h"
#include "bulwark/conntrack/flow.h"
#include "bulwark/conntrack/result.h"

namespace bulwark::conntrack {

class Reader {
 public:
  [[nodiscard]] static Result<Reader> open();
  ~Reader();
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;

  // Every entry into `out` (cleared first; its capacity is kept across calls). At most
  // `limit` entries are kept (the rest of the dump is read and counted in `seen`).
  [[nodiscard]] Status dump(std::vector<Flow>& out, std::size_t limit, std::size_t& seen);
  // The same dump with both tuples of each entry (revocation), at most `limit` kept.
  [[nodiscard]] Status dumpEntries(std::vector<Entry>& out, std::size_t limit, std::size_t& seen);
  // Deletes exactly this entry (ctnetlink by tuple, zone and id; never a flush). An entry
  // already gone (ENOENT) is not an error: `gone` says so.
  [[nodiscard]] Status destroy(const Entry& e, bool& gone);

 private:
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// nf_conntrack_max of this namespace (0: unreadable).
[[nodiscard]] std::size_t tableMax();

// 1 when nf_conntrack_acct is on in this namespace, 0 off, -1 unreadable.
[[nodiscard]] int accountingEnabled();

}  // namespace bulwark::conntrack
