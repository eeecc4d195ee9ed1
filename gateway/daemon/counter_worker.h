#pragma once
// The counters dump off the event loop's thread. At 10,000 policy rules one counters-only
// rule dump (collectCounters) takes about half a second; run on the loop it held every
// request (status, the control API) that long. One worker thread runs the dumps, each with
// the netlink socket collectCounters opens for it (firewall::observeCounters: one nl::Socket,
// its RAII owner on the worker's stack), and hands the result back to the loop with
// EventLoop::post().
//
// Requests that arrive while a dump runs share it: concurrent scrapes cost one dump, not N
// queued ones. At most kMaxWaiters requests wait at a time.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "counters.h"
#include "event_loop.h"

namespace bulwark::daemon {

class CounterWorker {
 public:
  struct Sample {
    gateway::Result<CounterReport> counters;
    double seconds = 0;  // wall time of collect() on the worker (bulwark_scrape_duration_seconds)
    // render(counters), made on the worker when a request asked for text before the dump
    // began; unset otherwise (a request that joined later renders on the loop itself).
    std::optional<std::string> series;
  };
  using Done = std::function<void(const Sample&)>;
  using Collect = std::function<gateway::Result<CounterReport>()>;
  using Render = std::function<std::string(const CounterReport&)>;
  static constexpr std::size_t kMaxWaiters = 64;

  // `collect` and `render` run on the worker thread only (tests pass their own).
  explicit CounterWorker(EventLoop& loop, Collect collect = collectCounters, Render render = {});
  ~CounterWorker();  // waits for a dump in progress; callbacks not yet run are dropped
  CounterWorker(const CounterWorker&) = delete;
  CounterWorker& operator=(const CounterWorker&) = delete;

  // Loop thread. `done` runs on the loop thread with the next dump to finish: the one in
  // progress, if any, else a new one. false: kMaxWaiters already wait; `done` is not kept.
  // withText: the sample should carry `series` (metrics: the text is rendered off the loop).
  // fresh: a dump that starts after this call (the `counters` op: counts the caller's traffic
  // so far), the next one when a dump is in progress.
  bool request(Done done, bool withText = false, bool fresh = false);

  // Loop thread: dumps started so far, and callbacks waiting now.
  [[nodiscard]] std::size_t dumpsStarted() const { return state_->dumps; }
  [[nodiscard]] std::size_t waiting() const { return state_->waiters.size() + state_->nextWaiters.size(); }

 private:
  // Shared with the worker thread and with the posted completion (which may outlive this
  // object in the loop's queue; `closed` makes it a no-op then).
  struct State {
    State(EventLoop& l, Collect c, Render r) : loop(l), collect(std::move(c)), render(std::move(r)) {}
    EventLoop& loop;
    Collect collect;
    Render render;
    std::mutex mutex;
    std::condition_variable wake;
    bool want = false;  // guarded by mutex: a dump was asked for
    bool text = false;  // guarded by mutex: ... with text (until the worker takes the job)
    bool stop = false;  // guarded by mutex
    // Loop thread only:
    std::vector<Done> waiters;
    std::vector<Done> nextWaiters;  // fresh requests that came during a dump: the next one
    bool nextText = false;          // ... one of them wants text
    bool inFlight = false;
    bool closed = false;
    std::size_t dumps = 0;
  };
  static void work(const std::shared_ptr<State>& st);
  static void finish(State& st, const Sample& s);
  static void start(State& st, bool withText);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace bulwark::daemon
