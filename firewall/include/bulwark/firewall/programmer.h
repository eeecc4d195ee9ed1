#pragma once
// Ruleset IR → the kernel, over nfnetlink. apply() replaces Bulwark's table `inet bulwark`
// in ONE batch (create-if-missing, delete, define again: all sets with their elements, all
// chains, all rules), so the kernel commits everything or nothing and conntrack entries of
// established connections are untouched. applyElementChanges() adds/removes elements of
// named sets in one batch without replacing the table; deleteTable() removes it. No other
// table is ever touched. reconcile.h runs these as the plan says, and reads back.
//
// Errors are values (kernel_error.h): every failing batch message is mapped back to the IR
// object it came from.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/kernel_error.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

struct ApplyOptions {
  // Optimistic lock: the ruleset generation the plan was made against (NFNL_BATCH_GENID).
  // If another process changed the ruleset since, the kernel refuses the whole batch.
  std::optional<std::uint32_t> expectedGenId;
};

struct ApplyReport {
  std::size_t messages = 0;  // batch messages including BEGIN/END
  std::size_t bytes = 0;     // batch size
};

// Replace table inet bulwark with `rs` atomically.
[[nodiscard]] KernelResult<ApplyReport> apply(const Ruleset& rs, const ApplyOptions& options = {});

// NEWSETELEM / DELSETELEM for named sets of the table, in one batch. `defs` supplies the
// set definitions (key types, interval flag); its elements are ignored.
[[nodiscard]] KernelResult<ApplyReport> applyElementChanges(const Ruleset& defs,
                                                            const std::vector<ElementChange>& additions,
                                                            const std::vector<ElementChange>& removals,
                                                            const ApplyOptions& options = {});

// The rules of `chains` (chains of `rs` that exist in the kernel) rewritten in one batch:
// each chain flushed and its rules of `rs` appended again, after the element changes. For a
// plan whose diff is rules of existing chains (Diff::rulesOnly()): a foreign rule in one chain
// is repaired by rewriting that chain instead of the table (~2 s at 10,000 rules). The
// rewritten rules' counters restart, as all of them do in a replacement.
[[nodiscard]] KernelResult<ApplyReport> applyChainRewrites(const Ruleset& rs, const std::vector<std::string>& chains,
                                                           const std::vector<ElementChange>& additions,
                                                           const std::vector<ElementChange>& removals,
                                                           const ApplyOptions& options = {});

// applyElementChanges() on a netlink socket that stays open: for callers that update
// elements again and again (bulwarkd's DNAT maps on health changes). Closing an nfnetlink
// socket after a batch that deleted elements waits for the kernel (10-25 ms on this
// machine, off-CPU), while the batch itself takes ~0.1 ms; an open socket skips that wait.
namespace nl {
class Socket;
}
class ElementWriter {
 public:
  [[nodiscard]] static KernelResult<ElementWriter> open();
  ElementWriter(ElementWriter&&) noexcept;
  ElementWriter& operator=(ElementWriter&&) noexcept;
  ~ElementWriter();
  [[nodiscard]] KernelResult<ApplyReport> apply(const Ruleset& defs, const std::vector<ElementChange>& additions,
                                                const std::vector<ElementChange>& removals,
                                                const ApplyOptions& options = {});

 private:
  explicit ElementWriter(std::unique_ptr<nl::Socket> s);
  std::unique_ptr<nl::Socket> sock_;
};

// Remove table inet bulwark in one batch (Bulwark owns nothing of the firewall any more);
// not an error when it is already absent.
[[nodiscard]] KernelResult<ApplyReport> deleteTable(const ApplyOptions& options = {});

// The current ruleset generation (NFT_MSG_GETGEN), for ApplyOptions::expectedGenId.
[[nodiscard]] KernelResult<std::uint32_t> currentGenId();

}  // namespace bulwark::firewall
