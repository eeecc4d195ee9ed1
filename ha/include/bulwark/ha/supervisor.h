#pragma once
// The HA daemons as supervised children of bulwarkd, in order: each starts once the one
// before it is ready (conntrackd's UNIX socket accepts connections, then keepalived runs),
// one that exits is started again after a back-off (0.5 s doubling to 30 s; back to 0.5 s
// after a minute of running), and stop() ends them in reverse order (SIGTERM, SIGKILL after
// a bounded wait). Leftover files of a crashed instance (lock, socket, pid files) are removed
// before each start; the caller removes the private directory once everything is stopped.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/ha/child.h"
#include "bulwark/ha/loop.h"

namespace bulwark::ha {

struct SupervisedChild {
  ChildSpec spec;
  std::filesystem::path readySocket;  // ready when it accepts a connection; empty: ready at start
  std::chrono::milliseconds readyTimeout{5000};
  std::vector<std::filesystem::path> leftovers;  // removed before each start
};

struct ChildState {
  std::string name;
  pid_t pid = -1;        // -1: not running
  bool ready = false;
  int restarts = 0;      // unexpected exits that were followed by a restart
  std::string lastExit;  // "exit 1", "killed by SIGKILL", "" (never)
  Clock::time_point since{};  // when the current process started
};

class Supervisor {
 public:
  struct Hooks {
    // Something a human wants to know: started, ready, exited, restarting, gave up waiting.
    std::function<void(const std::string& child, const std::string& what)> event;
    // Every child is running and ready (after start() and after each restart).
    std::function<void()> allReady;
  };
  Supervisor(Loop& loop, std::vector<SupervisedChild> children, Hooks hooks);
  ~Supervisor();  // stops whatever still runs
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  void start();
  // Reverse order; each gets SIGTERM and `grace` to exit, then SIGKILL. Blocks (bounded).
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Stops `name` and starts it again (a changed config); the others keep running (a restarted
  // keepalived would hand the floating addresses to the peer and back).
  void restart(const std::string& name);
  // Sends `sig` to a running child (SIGHUP: keepalived reloads its configuration).
  bool signal(const std::string& name, int sig);

  [[nodiscard]] std::vector<ChildState> states() const;
  [[nodiscard]] bool running() const { return started_; }

 private:
  struct Slot {
    SupervisedChild def;
    std::optional<Child> child;
    ChildState state;
    std::chrono::milliseconds backoff{500};
    Loop::TimerId timer = 0;
    Clock::time_point readyDeadline{};
  };
  void launch(std::size_t i);
  void checkReady(std::size_t i);
  void onExit(std::size_t i);
  void stopOne(Slot& s, std::chrono::milliseconds grace);
  void say(const Slot& s, const std::string& what) const;

  Loop& loop_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Hooks hooks_;
  bool started_ = false;
};

// Does a UNIX stream socket at `path` accept connections?
[[nodiscard]] bool socketAccepts(const std::filesystem::path& path);

}  // namespace bulwark::ha
