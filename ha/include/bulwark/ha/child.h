#pragma once
// One child process: spawned in the foreground with a pidfd (so its exit is an event on the
// loop, not a SIGCHLD), its own signal state, only stdin/stdout/stderr open, and
// PR_SET_PDEATHSIG: if bulwarkd dies, the child is told to stop too (keepalived then gives
// up the floating addresses and the peer takes over) — nothing of it outlives its parent.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/base/unique_fd.h"
#include "bulwark/ha/result.h"

namespace bulwark::ha {

struct ChildSpec {
  std::string name;               // "conntrackd", "keepalived"
  std::vector<std::string> argv;  // argv[0]: the absolute path of the program
  std::vector<std::string> env;   // its whole environment ("KEY=VALUE")
  std::filesystem::path log;      // stdout and stderr appended here; empty: the parent's stderr
};

struct ExitStatus {
  int code = -1;   // exit code, or -1 when killed by a signal
  int signal = 0;  // the signal that ended it, or 0
  [[nodiscard]] std::string str() const;  // "exit 0", "killed by SIGKILL"
};

class Child {
 public:
  [[nodiscard]] static Result<Child> spawn(const ChildSpec& spec);
  Child(Child&&) = default;
  Child& operator=(Child&&) = default;
  ~Child() = default;  // does not kill: the supervisor decides (and always reaps)

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] int pidfd() const { return pidfd_.get(); }  // readable once it has exited
  // Non-blocking: nullopt while it runs; its status once it has exited (reaped, once).
  [[nodiscard]] std::optional<ExitStatus> reap();
  bool signal(int sig) const;
  // Waits up to `timeout` for it to exit (poll on the pidfd), then reaps.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);

 private:
  Child(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> exited_;
};

}  // namespace bulwark::ha
