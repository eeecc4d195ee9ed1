#pragma once
// Ruleset IR → the kernel, over nfnetlink. apply() replaces Bulwark's table `inet bulwark`
// in ONE batch (create-if-missing, delete, define again: all sets with their elements, all
// chains, all rules), so the kernel commits everything or nothing and conntrack entries of
// established connections are untouched. applyElementChanges() adds/removes elements of
// named sets in one batch without replacing the table. No other table is ever touched.
//
// Errors are values: every failing batch message is mapped back to the IR object it came
// from and that object's Origin ("campus.yaml:72:5: kernel rejected rule 'public-web' in
// chain 'internet__dmz': Invalid argument").
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

struct KernelError {
  std::string message;              // every problem, one per line
  int sysErrno = 0;                 // errno of the first failure (0 = not a system error)
  std::vector<std::string> items;   // one entry per failing message / object
};

// A small expected<T, KernelError>.
template <typename T>
class [[nodiscard]] KernelResult {
 public:
  KernelResult(T value) : v_(std::move(value)) {}             // NOLINT(implicit)
  KernelResult(KernelError error) : v_(std::move(error)) {}   // NOLINT(implicit)
  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] T& value() { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const KernelError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, KernelError> v_;
};

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

// One element of one named set (definition looked up in the Ruleset passed alongside).
struct ElementChange {
  std::string set;
  SetElement element;
};

// NEWSETELEM / DELSETELEM for named sets of the table, in one batch. `defs` supplies the
// set definitions (key types, interval flag); its elements are ignored.
[[nodiscard]] KernelResult<ApplyReport> applyElementChanges(const Ruleset& defs,
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

// The current ruleset generation (NFT_MSG_GETGEN), for ApplyOptions::expectedGenId.
[[nodiscard]] KernelResult<std::uint32_t> currentGenId();

}  // namespace bulwark::firewall
