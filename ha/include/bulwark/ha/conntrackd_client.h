#pragma once
// conntrackd's control socket, spoken directly: the client sends one int (the request code,
// host byte order), the daemon answers with text (stats) or nothing and closes the
// connection when the request is done — for a commit only once every entry is in the kernel,
// so the time to EOF is the commit time. The codes are conntrackd's own (include/conntrackd.h
// of conntrack-tools, unchanged since 1.0); `conntrackd -C CONF -x` sends the same ints.
// No exec per step, and the reply is bounded in size and time.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bulwark/base/unique_fd.h"
#include "bulwark/ha/result.h"

namespace bulwark::ha {

enum class CtdCommand : int {
  Stats = 21,          // -s
  SendBulk = 22,       // -B: send the internal cache to the peer
  RequestResync = 23,  // -n: ask the peer for its whole state
  ResetTimers = 26,    // -t: flush the kernel table after PurgeTimeout
  StatsNetwork = 28,   // -s network
  ResyncMaster = 44,   // -R: fill the internal cache from the kernel table
  FlushCaches = 45,    // -f: empty the internal and external caches
  Commit = 46,         // -c: the external cache into the kernel table
};
[[nodiscard]] std::string_view commandName(CtdCommand c);  // "commit", "flush", ...
[[nodiscard]] std::string_view commandFlag(CtdCommand c);  // "-c", "-f", ...

inline constexpr std::size_t kMaxReply = 1 << 20;

// One request in flight, non-blocking: connect and send at start(), then read() whenever the
// socket is readable until it returns true (the daemon closed: done).
class CtdRequest {
 public:
  [[nodiscard]] static Result<CtdRequest> start(const std::filesystem::path& socket, CtdCommand command);
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] CtdCommand command() const { return command_; }
  [[nodiscard]] Result<bool> read();
  [[nodiscard]] const std::string& reply() const { return reply_; }

 private:
  CtdRequest(UniqueFd fd, CtdCommand c) : fd_(std::move(fd)), command_(c) {}
  UniqueFd fd_;
  CtdCommand command_;
  std::string reply_;
};

// The same, blocking, within `timeout` (tools, tests).
[[nodiscard]] Result<std::string> conntrackdRequest(const std::filesystem::path& socket, CtdCommand command,
                                                    std::chrono::milliseconds timeout);

// From a `Stats` reply: "current active connections" of the internal or the external cache.
[[nodiscard]] std::optional<long> cacheActive(std::string_view statsReply, std::string_view cache);
// From a `Stats` reply: packets received from the peer over the sync link (state updates and
// FTFW's alive messages: it grows every second while the link and the peer work).
[[nodiscard]] std::optional<long> packetsReceived(std::string_view statsReply);
// The number in conntrackd's log line "Committed N new entries" last found in `logText`.
[[nodiscard]] std::optional<long> committedEntries(std::string_view logText);

}  // namespace bulwark::ha
