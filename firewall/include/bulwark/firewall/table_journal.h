#pragma once
// What the nftables events said about table inet bulwark, per ruleset generation: the chains
// whose rules and the sets whose elements each committed generation touched. The drift check
// then reads again only those (observeSince(), reconcile.h) on top of its last verified reading
// of the kernel, instead of the whole table. The journal only answers when it can account for
// every generation since that reading: anything it cannot name by chain or set (a table, chain,
// set or object created or deleted, a message it cannot parse), a lost notification (ENOBUFS:
// nothing is known until the watch reads the generation again) or a generation whose NEWGEN it
// did not see makes it say "read everything".
//
// Fed by TableWatch::drain() on the event loop, asked by the firewall kind's observe(), which
// also runs on the policy worker: the journal locks itself.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bulwark::firewall {

// The chains and sets of the table the generations after a reading touched, and the last of
// those generations (the one the kernel must be at for them to be all that changed).
struct TouchedNames {
  std::vector<std::string> chains;  // rules added or deleted
  std::vector<std::string> sets;    // elements added or deleted
  std::uint32_t genId = 0;
};

class TableJournal {
 public:
  // The watch subscribed, then read generation `genId`: every later generation is seen; the
  // earlier ones are not known (and nothing noted before is kept).
  void restart(std::uint32_t genId);
  // One nfnetlink message of the subscription (one nlmsghdr).
  void note(const void* nlh);
  // Notifications were lost (ENOBUFS): nothing is known until the next restart().
  void lost();
  // What the generations after `genId` (a reading of the kernel at that generation) touched,
  // up to the last NEWGEN seen; nullopt when the journal cannot say (see above).
  [[nodiscard]] std::optional<TouchedNames> since(std::uint32_t genId) const;
  // The generations up to `genId` are no longer asked about (a newer verified reading).
  void forget(std::uint32_t genId);

  // Generations kept at most; beyond, the oldest are dropped (and so no longer known).
  static constexpr std::size_t kMaxGenerations = 4096;

 private:
  struct Generation {
    std::set<std::string> chains;
    std::set<std::string> sets;
    bool whole = false;  // something not nameable by chain or set: read the whole table
  };
  void close(std::uint32_t genId);

  mutable std::mutex mutex_;
  bool started_ = false;  // restart() was called, and nothing was lost since
  std::uint32_t known_ = 0;  // generations up to this one are not known
  Generation open_;          // events after the last NEWGEN (their own NEWGEN not yet seen)
  bool openHasEvents_ = false;
  std::map<std::uint32_t, Generation> closed_;  // by generation, each closed by its NEWGEN
};

}  // namespace bulwark::firewall
