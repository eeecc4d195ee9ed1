#include "bulwark/ha/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace bulwark::ha {

std::string ExitStatus::str() const {
  if (signal != 0) {
    const char* name = sigabbrev_np(signal);
    return std::string("killed by SIG") + (name ? name : std::to_string(signal).c_str());
  }
  return "exit " + std::to_string(code);
}

namespace {

ExitStatus decode(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
}

// In the child between fork and exec: only async-signal-safe calls, no allocation.
[[noreturn]] void becomeChild(char* const* argv, char* const* envp, int logFd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  // bulwarkd blocks SIGTERM/SIGHUP/SIGINT for its signalfd and ignores SIGPIPE: both are
  // inherited across exec and would make the child deaf to `stop`.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0 && devnull != 0) {
    ::dup2(devnull, 0);
    ::close(devnull);
  }
  if (logFd >= 0) {
    ::dup2(logFd, 1);
    ::dup2(logFd, 2);
  }
  ::close_range(3, ~0U, 0);
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

}  // namespace

Result<Child> Child::spawn(const ChildSpec& spec) {
  if (spec.argv.empty()) return Error{spec.name + ": no program"};
  if (::access(spec.argv[0].c_str(), X_OK) != 0) return sysError(spec.name + ": " + spec.argv[0], errno);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  UniqueFd log;
  if (!spec.log.empty()) {
    log = UniqueFd(::open(spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!log.valid()) return sysError(spec.name + ": log " + spec.log.string(), errno);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return sysError(spec.name + ": fork", errno);
  if (pid == 0) becomeChild(argv.data(), envp.data(), log.valid() ? log.get() : -1, parent);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return sysError(spec.name + ": pidfd_open", err);
  }
  return Child(pid, std::move(pidfd));
}

std::optional<ExitStatus> Child::reap() {
  if (exited_) return exited_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = decode(status);
  } else if (r < 0 && errno == ECHILD) {
    exited_ = ExitStatus{};  // reaped elsewhere: gone, status unknown
  }
  return exited_;
}

bool Child::signal(int sig) const {
  if (exited_ || !pidfd_.valid()) return false;
  // Through the pidfd: never a recycled pid.
  return ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) == 0;
}

std::optional<ExitStatus> Child::wait(std::chrono::milliseconds timeout) {
  if (exited_) return exited_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{pidfd_.get(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), INT_MAX)));
  }
  return exited_;
}

}  // namespace bulwark::ha
