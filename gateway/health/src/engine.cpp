#include "bulwark/health/engine.h"

#include <algorithm>
#include <optional>

namespace bulwark::health {

using SteadyClock = std::chrono::steady_clock;

Engine::Engine(Options options, TransitionFn onTransition)
    : options_(std::move(options)), onTransition_(std::move(onTransition)) {
  if (!options_.prober) options_.prober = probe;
  const std::size_t n = std::max<std::size_t>(options_.workers, 1);
  scheduler_ = std::thread([this] { schedulerLoop(); });
  for (std::size_t i = 0; i < n; ++i) workers_.emplace_back([this] { workerLoop(); });
}

Engine::~Engine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  workReady_.notify_all();
  scheduler_.join();
  for (auto& w : workers_) w.join();
}

std::size_t Engine::configure(std::vector<Target> targets) {
  std::size_t taken = 0;
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    std::map<std::string, Slot> next;
    const auto now = SteadyClock::now();
    for (auto& t : targets) {
      if (taken >= options_.maxTargets) break;
      auto key = t.key();
      if (next.count(key) != 0) continue;
      ++taken;
      auto old = slots_.find(key);
      Slot s;
      if (old != slots_.end()) {
        s = std::move(old->second);  // same target: state, counts and schedule kept
      } else {
        s.due = now;
      }
      s.status.target = std::move(t);
      s.generation = generation_;
      s.running = false;  // a result still in flight for the old slot is dropped (generation)
      next.emplace(std::move(key), std::move(s));
    }
    slots_ = std::move(next);
    queue_.clear();
  }
  wake_.notify_all();
  return taken;
}

std::vector<Status> Engine::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<Status> out;
  out.reserve(slots_.size());
  for (const auto& [key, s] : slots_) {
    Status st = s.status;
    st.state = s.counter.state;
    st.okRun = s.counter.okRun;
    st.failRun = s.counter.failRun;
    out.push_back(std::move(st));
  }
  return out;
}

std::size_t Engine::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

void Engine::schedulerLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = SteadyClock::now();
    auto next = SteadyClock::time_point::max();
    bool queued = false;
    for (auto& [key, s] : slots_) {
      if (s.running) continue;
      if (s.due <= now) {
        s.running = true;
        queue_.emplace_back(key, s.generation);
        queued = true;
      } else {
        next = std::min(next, s.due);
      }
    }
    if (queued) workReady_.notify_all();
    if (next == SteadyClock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, next);
    }
  }
}

void Engine::workerLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    workReady_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto [key, generation] = queue_.front();
    queue_.erase(queue_.begin());
    auto it = slots_.find(key);
    if (it == slots_.end() || it->second.generation != generation) continue;
    const Target target = it->second.status.target;
    const auto started = SteadyClock::now();
    lock.unlock();
    ProbeResult r = options_.prober(target);
    lock.lock();
    auto again = slots_.find(key);
    if (again != slots_.end() && again->second.generation == generation) {
      // The next probe is due one interval after this one started: a steady cadence, and a
      // probe that ran into its timeout is not followed by a burst of catch-up probes.
      again->second.due = std::max(started + target.interval, SteadyClock::now());
    }
    lock.unlock();
    finish(key, generation, r);
    lock.lock();
  }
}

void Engine::finish(const std::string& key, std::uint64_t generation, const ProbeResult& r) {
  std::optional<Transition> tr;
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(key);
    if (it == slots_.end() || it->second.generation != generation) return;
    auto& s = it->second;
    s.running = false;
    const auto now = std::chrono::system_clock::now();
    s.status.latencyMs = r.latencyMs;
    s.status.lastProbe = now;
    s.status.lastError = r.ok ? std::string() : r.error;
    ++s.status.probes;
    if (!r.ok) ++s.status.failures;
    const State before = s.counter.state;
    if (s.counter.record(r.ok, s.status.target.rise, s.status.target.fall)) {
      s.status.lastChange = now;
      ++s.status.transitions;
      tr = Transition{s.status.target, before, s.counter.state, r.ok ? std::string() : r.error, r.latencyMs, now};
    }
  }
  wake_.notify_all();
  if (tr && onTransition_) onTransition_(*tr);
}

}  // namespace bulwark::health
