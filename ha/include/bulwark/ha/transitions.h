#pragma once
// What conntrackd must do when this node's role changes, in order (conntrackd(8) and the
// primary-backup.sh of conntrack-tools' doc/sync), run by bulwarkd as keepalived reports
// each change through notify_fifo:
//
//   master   commit (-c)   the peer's state, kept in the external cache, into the kernel
//            flush (-f)    empty both caches (this also cancels a pending purge, see -t)
//            resync (-R)   refill the internal cache from the kernel table, now complete
//            bulk (-B)     send it all to the peer, which is standby now
//   backup   purge (-t)    flush the kernel table after PurgeTimeout (stale if it was active)
//            request (-n)  ask the active peer for its whole state
//   fault    purge (-t)
//
// Each step is timed (a commit returns only once every entry is in the kernel) and bounded;
// a failed step is reported and the next one still runs. Before the commit the size of the
// external cache is read (stats), after it conntrackd's own count ("Committed N new
// entries") from its log: a node that becomes active with nothing to commit while the
// connection table of its peer was not empty is the failure the docs warn about.
// Transitions run one at a time, in the order keepalived reported them.
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/ha/conntrackd_client.h"
#include "bulwark/ha/loop.h"
#include "bulwark/ha/notify.h"
#include "bulwark/ha/render.h"

namespace bulwark::ha {

[[nodiscard]] std::vector<CtdCommand> transitionSteps(VrrpState to);

struct StepResult {
  CtdCommand command = CtdCommand::Stats;
  double millis = 0;
  std::string error;  // empty: done
};

struct TransitionReport {
  VrrpState to = VrrpState::Init;
  double millis = 0;  // all steps
  std::vector<StepResult> steps;
  std::optional<long> externalBefore;  // master: entries in the external cache before the commit
  std::optional<long> committed;       // master: what conntrackd says it committed
  [[nodiscard]] bool ok() const;
  [[nodiscard]] std::string summary() const;  // "commit 3.1 ms (1000 entries), flush 0.1 ms, ..."
};

class TransitionRunner {
 public:
  TransitionRunner(Loop& loop, RuntimePaths paths, std::function<void(const TransitionReport&)> done);
  ~TransitionRunner();
  TransitionRunner(const TransitionRunner&) = delete;
  TransitionRunner& operator=(const TransitionRunner&) = delete;

  void run(VrrpState to);
  [[nodiscard]] bool busy() const { return current_.has_value(); }

 private:
  struct Running {
    TransitionReport report;
    std::vector<CtdCommand> todo;
    std::size_t next = 0;
    Clock::time_point started;
    Clock::time_point stepStarted;
    std::optional<CtdRequest> request;
    Loop::TimerId timeout = 0;
    std::uintmax_t logOffset = 0;
  };
  void startNext();
  void stepStart();
  void onReadable();
  void stepDone(std::string error);
  void finish();

  Loop& loop_;
  RuntimePaths paths_;
  std::function<void(const TransitionReport&)> done_;
  std::optional<Running> current_;
  std::deque<VrrpState> queue_;
  Loop::TimerId advance_ = 0;  // the next step, on the loop's next turn
};

}  // namespace bulwark::ha
