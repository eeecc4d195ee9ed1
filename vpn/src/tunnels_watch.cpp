// ConfigWatcher: reconnect to charon after it went away and load the config again.
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "bulwark/vpn/tunnels.h"

namespace bulwark::vpn {

ConfigWatcher::ConfigWatcher(std::string uri, CharonConfig desired, WatchOptions options)
    : uri_(std::move(uri)), desired_(std::move(desired)), options_(std::move(options)) {}

void ConfigWatcher::setDesired(CharonConfig desired) { desired_ = std::move(desired); }

int ConfigWatcher::fd() const { return events_ ? events_->fd() : -1; }

WatchStep ConfigWatcher::step(int timeoutMs) {
  WatchStep s;
  if (!events_) {
    // Subscribe first, then reconcile: a restart between the two is then seen as EOF.
    auto ev = ViciEventStream::open(uri_, options_.events);
    if (!ev) {
      s.kind = ev.error().isTransport() ? WatchStepKind::Unreachable : WatchStepKind::Failed;
      s.error = ev.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeoutMs, options_.retryMs)));
      return s;
    }
    auto client = ViciClient::connect(uri_);
    if (!client) {
      s.kind = WatchStepKind::Unreachable;
      s.error = client.error();
      return s;
    }
    auto r = reconcile(**client, desired_);
    if (!r) {
      s.kind = r.error().isTransport() ? WatchStepKind::Unreachable : WatchStepKind::Failed;
      s.error = r.error();
      return s;
    }
    events_ = std::move(*ev);
    ++reloads_;
    s.kind = r->ok() ? WatchStepKind::Reloaded : WatchStepKind::Failed;
    if (!r->ok()) {
      s.error = r->errors.front();
    }
    s.result = std::move(*r);
    return s;
  }
  auto e = events_->next(timeoutMs);
  if (e) {
    s.kind = WatchStepKind::Event;
    s.event = std::move(*e);
    return s;
  }
  if (e.error().isTransport() && e.error().sysErrno == ETIMEDOUT) {
    return s;  // Idle
  }
  // EOF, a socket error or garbage: drop the connection; the next step reconnects.
  events_.reset();
  s.kind = WatchStepKind::Disconnected;
  s.error = e.error();
  return s;
}

void ConfigWatcher::run(const std::atomic<bool>& stop, const std::function<void(const WatchStep&)>& onStep) {
  while (!stop.load()) {
    WatchStep s = step(500);
    if (onStep && s.kind != WatchStepKind::Idle) {
      onStep(s);
    }
  }
}

}  // namespace bulwark::vpn
