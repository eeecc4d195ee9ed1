#pragma once
// keepalived's notify_fifo: one line per state change,
//   INSTANCE "bulwark_eth0" MASTER 150
//   GROUP "bulwark" BACKUP 0
//   MASTER_RX_LOWER_PRI "bulwark_eth0" MASTER 150   (a master heard a lower-priority advert)
// bulwarkd creates the FIFO (0600, in its private directory) before keepalived starts and
// keeps a write end of its own open, so a restarting keepalived never makes it read EOF.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/base/unique_fd.h"
#include "bulwark/ha/result.h"

namespace bulwark::ha {

enum class VrrpState { Init, Backup, Master, Fault, Stop };
[[nodiscard]] std::string_view stateName(VrrpState s);  // "master", "backup", ...

struct NotifyLine {
  enum class Kind { Instance, Group, MasterRxLowerPriority } kind = Kind::Instance;
  std::string name;
  VrrpState state = VrrpState::Init;
  int priority = 0;
};

// nullopt for anything else (a newer keepalived's line types are ignored, not guessed at).
[[nodiscard]] std::optional<NotifyLine> parseNotifyLine(std::string_view line);

class NotifyFifo {
 public:
  [[nodiscard]] static Result<NotifyFifo> open(const std::filesystem::path& path);
  [[nodiscard]] int fd() const { return read_.get(); }
  // Every complete line available now (non-blocking). Lines longer than 512 bytes are dropped.
  [[nodiscard]] std::vector<std::string> readLines();

 private:
  NotifyFifo(UniqueFd r, UniqueFd w) : read_(std::move(r)), write_(std::move(w)) {}
  UniqueFd read_;
  UniqueFd write_;  // held open only so that the reader never sees EOF
  std::string partial_;
};

}  // namespace bulwark::ha
