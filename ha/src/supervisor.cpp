#include "bulwark/ha/supervisor.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace bulwark::ha {

namespace {

constexpr std::chrono::milliseconds kMinBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{30000};
constexpr std::chrono::seconds kStableRun{60};  // ran this long: the next failure is a new one
constexpr std::chrono::milliseconds kReadyPoll{20};

}  // namespace

bool socketAccepts(const std::filesystem::path& path) {
  sockaddr_un addr{};
  if (path.string().size() >= sizeof addr.sun_path) return false;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

Supervisor::Supervisor(Loop& loop, std::vector<SupervisedChild> children, Hooks hooks)
    : loop_(loop), hooks_(std::move(hooks)) {
  for (auto& c : children) {
    auto s = std::make_unique<Slot>();
    s->state.name = c.spec.name;
    s->def = std::move(c);
    slots_.push_back(std::move(s));
  }
}

Supervisor::~Supervisor() { stop(std::chrono::milliseconds(3000)); }

void Supervisor::say(const Slot& s, const std::string& what) const {
  if (hooks_.event) hooks_.event(s.state.name, what);
}

void Supervisor::start() {
  if (started_) return;
  started_ = true;
  if (!slots_.empty()) launch(0);
}

void Supervisor::launch(std::size_t i) {
  auto& s = *slots_[i];
  s.timer = 0;
  if (!started_ || s.child) return;
  std::error_code ec;
  for (const auto& f : s.def.leftovers) std::filesystem::remove(f, ec);
  auto child = Child::spawn(s.def.spec);
  if (!child) {
    say(s, "cannot start: " + child.error().message + "; again in " + std::to_string(s.backoff.count()) + " ms");
    s.timer = loop_.after(s.backoff, [this, i] { launch(i); });
    s.backoff = std::min(s.backoff * 2, kMaxBackoff);
    return;
  }
  s.child = std::move(*child);
  s.state.pid = s.child->pid();
  s.state.ready = false;
  s.state.since = Clock::now();
  say(s, "started (pid " + std::to_string(s.state.pid) + ")");
  loop_.watchReadable(s.child->pidfd(), [this, i] { onExit(i); });
  s.readyDeadline = Clock::now() + s.def.readyTimeout;
  checkReady(i);
}

void Supervisor::checkReady(std::size_t i) {
  auto& s = *slots_[i];
  s.timer = 0;
  if (!s.child) return;
  if (!s.def.readySocket.empty() && !socketAccepts(s.def.readySocket)) {
    if (Clock::now() > s.readyDeadline) {
      // It runs but does not answer: stop it; the exit handler restarts it with back-off.
      say(s, "not ready after " + std::to_string(s.def.readyTimeout.count()) + " ms (" +
                 s.def.readySocket.string() + " does not accept connections)");
      s.child->signal(SIGKILL);
      return;
    }
    s.timer = loop_.after(kReadyPoll, [this, i] { checkReady(i); });
    return;
  }
  s.state.ready = true;
  say(s, "ready");
  if (i + 1 < slots_.size()) {
    if (!slots_[i + 1]->child && slots_[i + 1]->timer == 0) launch(i + 1);
    return;
  }
  if (hooks_.allReady) hooks_.allReady();
}

void Supervisor::onExit(std::size_t i) {
  auto& s = *slots_[i];
  if (!s.child) return;
  auto st = s.child->reap();
  if (!st) return;  // a spurious wake-up
  loop_.unwatch(s.child->pidfd());
  s.child.reset();
  if (s.timer != 0) loop_.cancel(s.timer);
  s.timer = 0;
  auto ran = Clock::now() - s.state.since;
  s.state.pid = -1;
  s.state.ready = false;
  s.state.lastExit = st->str();
  if (!started_) return;
  if (ran >= kStableRun) s.backoff = kMinBackoff;
  ++s.state.restarts;
  say(s, "exited (" + st->str() + ") after " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(ran).count()) +
             " ms; starting it again in " + std::to_string(s.backoff.count()) + " ms");
  s.timer = loop_.after(s.backoff, [this, i] { launch(i); });
  s.backoff = std::min(s.backoff * 2, kMaxBackoff);
}

void Supervisor::stopOne(Slot& s, std::chrono::milliseconds grace) {
  if (s.timer != 0) loop_.cancel(s.timer);
  s.timer = 0;
  if (!s.child) return;
  loop_.unwatch(s.child->pidfd());
  s.child->signal(SIGTERM);
  auto st = s.child->wait(grace);
  if (!st) {
    s.child->signal(SIGKILL);
    st = s.child->wait(std::chrono::milliseconds(2000));
  }
  s.state.lastExit = st ? st->str() : "did not exit";
  say(s, "stopped (" + s.state.lastExit + ")");
  s.child.reset();
  s.state.pid = -1;
  s.state.ready = false;
}

void Supervisor::stop(std::chrono::milliseconds grace) {
  started_ = false;
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) stopOne(**it, grace);
}

void Supervisor::restart(const std::string& name) {
  if (!started_) return;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->state.name != name) continue;
    stopOne(*slots_[i], std::chrono::milliseconds(5000));
    slots_[i]->backoff = kMinBackoff;
    launch(i);
  }
}

bool Supervisor::signal(const std::string& name, int sig) {
  for (auto& s : slots_) {
    if (s->state.name == name && s->child) return s->child->signal(sig);
  }
  return false;
}

std::vector<ChildState> Supervisor::states() const {
  std::vector<ChildState> out;
  for (const auto& s : slots_) out.push_back(s->state);
  return out;
}

}  // namespace bulwark::ha
