#pragma once
// The health-check engine: probes every target at its interval from the calling process's
// network namespace (bulwarkd: the gateway's), on threads of its own, never on the caller's
// event loop. Bounded: at most `workers` probes at a time, each within its target's timeout
// (a probe never outlives its timeout by more than the socket calls' granularity), at most
// `maxTargets` targets; a target whose probe is still running is not probed again.
//
// Results: snapshot() (thread-safe copy: state, latency, last change, last error,
// consecutive counts, per target) and the transition callback, called on an engine thread
// after the state changed (bulwarkd hands it to its loop with EventLoop::post).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bulwark/health/probe.h"
#include "bulwark/health/target.h"

namespace bulwark::health {

class Engine {
 public:
  struct Options {
    std::size_t workers = 4;
    std::size_t maxTargets = 1024;
    Prober prober = probe;  // tests may substitute a fake prober; bulwarkd uses the real one
  };
  using TransitionFn = std::function<void(const Transition&)>;

  explicit Engine(Options options, TransitionFn onTransition = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();  // stops the threads (waits for running probes, each bounded by its timeout)

  // Replace the targets. A target whose key() is unchanged keeps its state and counts; new
  // targets start unknown and are probed at once; removed ones are forgotten. Targets beyond
  // maxTargets are refused (the return value says how many were taken).
  std::size_t configure(std::vector<Target> targets);

  [[nodiscard]] std::vector<Status> snapshot() const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct Slot {
    Status status;
    Counter counter;
    std::chrono::steady_clock::time_point due;
    bool running = false;
    std::uint64_t generation = 0;  // configure() round that made it (results of older rounds are dropped)
  };
  void schedulerLoop();
  void workerLoop();
  void finish(const std::string& key, std::uint64_t generation, const ProbeResult& r);

  Options options_;
  TransitionFn onTransition_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;       // scheduler: targets changed, a probe finished, stop
  std::condition_variable workReady_;  // workers: the queue has work, stop
  std::map<std::string, Slot> slots_;  // by Target::key()
  std::vector<std::pair<std::string, std::uint64_t>> queue_;  // keys due, in order
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace bulwark::health
