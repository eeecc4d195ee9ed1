#pragma once
// Split brain: both nodes active. With the adverts on the sync link, a cut sync link makes
// the standby take over while the active node still holds everything. Both then answer for
// the floating addresses; the neighbours follow whichever announced itself last (keepalived's
// gratuitous ARP at a takeover), i.e. the new one — which also holds the connection state
// synced until the cut. So the node that sees ANOTHER machine announce its floating addresses
// while it is active stands down (keepalived's stand-down file: FAULT, the addresses go), and
// stays down while someone else answers for them. It comes back (to standby) when the sync
// link carries the peer's packets again, or takes over again when nobody answers its probes
// any more (the peer died meanwhile). If both announced within a moment of each other (both
// started with the link cut), the node listed second gives way.
//
// Pure: the caller feeds what it sees (role changes, ARP claims, probe results, sync traffic)
// with the time, and carries out the decisions.
#include <chrono>
#include <optional>
#include <string>

#include "bulwark/ha/loop.h"
#include "bulwark/ha/notify.h"

namespace bulwark::ha {

class SplitBrainGuard {
 public:
  static constexpr std::chrono::milliseconds kSimultaneous{2000};  // both announced "at once"
  static constexpr int kUnansweredProbes = 3;                      // nobody holds the addresses

  enum class Action { None, StandDown, Resume };
  struct Decision {
    Action action = Action::None;
    std::string why;
  };

  explicit SplitBrainGuard(bool preferred) : preferred_(preferred) {}

  void roleChanged(VrrpState s, Clock::time_point t);
  // Another machine announced (gratuitous) or answered for a floating address.
  [[nodiscard]] Decision claimSeen(bool gratuitous, const std::string& who, Clock::time_point t);
  // While standing down, once per probe round: did anyone answer for the addresses?
  [[nodiscard]] Decision probeRound(bool answered);
  // The sync link's state (the peer's conntrackd packets arrive).
  [[nodiscard]] Decision syncLink(bool up);

  [[nodiscard]] bool standingDown() const { return standingDown_; }
  [[nodiscard]] bool splitBrain() const { return splitBrain_; }
  [[nodiscard]] int detected() const { return detected_; }

 private:
  bool preferred_;
  VrrpState role_ = VrrpState::Init;
  Clock::time_point masterSince_{};
  bool standingDown_ = false;
  bool splitBrain_ = false;
  bool syncUp_ = true;
  int detected_ = 0;
  int unanswered_ = 0;
};

}  // namespace bulwark::ha
