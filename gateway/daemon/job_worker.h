#pragma once
// Work that must not hold the event loop -- loading, validating and compiling a policy for
// plan/apply/rollback/reload, parsing a large request line, talking to charon for
// tunnels/terminate -- runs here, on one thread of its own, one job at a time; its result
// comes back to the loop with EventLoop::post(). status, confirm and the confirm timer stay
// on the loop and are answered while a 16 MiB policy compiles.
//
// Bounded and fair: at most kMaxQueued jobs wait or run, at most kMaxPerKey of them for one
// key (a uid, a TLS source address); change-role (High) jobs run before view-role (Normal)
// ones, and the last kReservedHigh places are theirs alone, so viewers cannot make an
// administrator's apply or rollback "busy". A refused submit() is the caller's "busy" reply.
// Jobs hold at most one request's data each, so what waits here is bounded too.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "event_loop.h"

namespace bulwark::daemon {

// The calling thread runs below the loop from now on: SCHED_OTHER, nice kWorkerNice (the
// workers' threads call it first thing).
void lowerThisThreadsPriority();

class JobWorker {
 public:
  static constexpr std::size_t kMaxQueued = 8;
  static constexpr std::size_t kMaxPerKey = 2;
  static constexpr std::size_t kReservedHigh = 2;
  static constexpr int kWorkerNice = 10;  // the worker thread's nice value (the loop's is the process's)
  enum class Priority { High, Normal };
  // Runs on the worker thread; what it returns then runs on the loop thread.
  using Job = std::function<std::function<void()>()>;

  JobWorker(EventLoop& loop, std::string threadName);
  ~JobWorker();  // waits for the job in progress; completions not yet run are dropped
  JobWorker(const JobWorker&) = delete;
  JobWorker& operator=(const JobWorker&) = delete;

  // Loop thread. false: the queue or the key's share is full; nothing was queued.
  [[nodiscard]] bool submit(const std::string& key, Priority priority, Job job);
  // Loop thread: jobs waiting or running.
  [[nodiscard]] std::size_t pending() const { return state_->pending; }
  // Runs on the worker thread after each job (main: hand the job's freed heap back to the
  // system there, not on the loop). Set before the first submit().
  void afterEachJob(std::function<void()> fn) { state_->afterJob = std::move(fn); }

 private:
  struct State {
    explicit State(EventLoop& l) : loop(l) {}
    EventLoop& loop;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Job> high, normal;  // guarded by mutex
    bool stop = false;             // guarded by mutex
    std::function<void()> afterJob;  // worker thread; set before the first job
    // Loop thread only:
    std::size_t pending = 0;
    std::map<std::string, std::size_t> perKey;
    bool closed = false;
  };
  static void work(const std::shared_ptr<State>& st);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace bulwark::daemon
