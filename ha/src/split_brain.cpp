#include "bulwark/ha/split_brain.h"

namespace bulwark::ha {

void SplitBrainGuard::roleChanged(VrrpState s, Clock::time_point t) {
  if (s == VrrpState::Master && role_ != VrrpState::Master) masterSince_ = t;
  role_ = s;
  if (s != VrrpState::Master) splitBrain_ = false;  // at most one of us is active now
}

SplitBrainGuard::Decision SplitBrainGuard::claimSeen(bool gratuitous, const std::string& who, Clock::time_point t) {
  if (role_ != VrrpState::Master || standingDown_) return {};
  if (!splitBrain_) ++detected_;
  splitBrain_ = true;
  if (!gratuitous) return {};  // an answer: the other one is active too; its announcement decides
  bool older = t - masterSince_ > kSimultaneous;
  if (older || !preferred_) {
    standingDown_ = true;
    unanswered_ = 0;
    return {Action::StandDown,
            older ? who + " took over the floating addresses while this node was active (split brain): standing down"
                  : "both nodes became active at once (split brain); the first node listed stays: standing down"};
  }
  return {};
}

SplitBrainGuard::Decision SplitBrainGuard::probeRound(bool answered) {
  if (!standingDown_) return {};
  unanswered_ = answered ? 0 : unanswered_ + 1;
  if (unanswered_ < kUnansweredProbes) return {};
  standingDown_ = false;
  return {Action::Resume, "nobody answers for the floating addresses any more: this node may take over again"};
}

SplitBrainGuard::Decision SplitBrainGuard::syncLink(bool up) {
  bool back = up && !syncUp_;
  syncUp_ = up;
  if (!back || !standingDown_) return {};
  standingDown_ = false;
  return {Action::Resume, "the sync link carries the peer's packets again: back to standby"};
}

}  // namespace bulwark::ha
