#include "job_worker.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace bulwark::daemon {

JobWorker::JobWorker(EventLoop& loop, std::string threadName) : state_(std::make_shared<State>(loop)) {
  // Created on the loop's thread after main blocked SIGHUP/SIGTERM/SIGINT: the worker
  // inherits that mask, so those signals still only reach the loop's signalfd.
  thread_ = std::thread([st = state_] { work(st); });
  threadName.resize(std::min<std::size_t>(threadName.size(), 15));
  ::pthread_setname_np(thread_.native_handle(), threadName.c_str());
}

JobWorker::~JobWorker() {
  state_->closed = true;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
    state_->high.clear();
    state_->normal.clear();
  }
  state_->wake.notify_one();
  thread_.join();
}

bool JobWorker::submit(const std::string& key, Priority priority, Job job) {
  auto& st = *state_;
  if (st.closed || st.pending >= kMaxQueued) return false;
  if (priority == Priority::Normal && st.pending >= kMaxQueued - kReservedHigh) return false;
  auto& mine = st.perKey[key];
  if (mine >= kMaxPerKey) return false;
  ++mine;
  ++st.pending;
  // The completion runs on the loop: account the slot back, then hand over the result.
  auto wrapped = [job = std::move(job), key, weak = std::weak_ptr<State>(state_)]() -> std::function<void()> {
    auto done = job();
    return [done = std::move(done), key, weak] {
      auto state = weak.lock();
      if (!state || state->closed) return;
      --state->pending;
      if (auto it = state->perKey.find(key); it != state->perKey.end() && --it->second == 0) {
        state->perKey.erase(it);
      }
      if (done) done();
    };
  };
  {
    std::lock_guard<std::mutex> lock(st.mutex);
    (priority == Priority::High ? st.high : st.normal).push_back(std::move(wrapped));
  }
  st.wake.notify_one();
  return true;
}

void lowerThisThreadsPriority() {
  // Below the loop's priority: on a busy machine the loop (status, confirm, the confirm timer)
  // gets the CPU before the compile of a large policy does. Per thread on Linux; lowering needs
  // no privilege. A daemon started with a real-time policy keeps it on the loop only.
  sched_param normal{};
  ::pthread_setschedparam(::pthread_self(), SCHED_OTHER, &normal);
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), JobWorker::kWorkerNice);
}

void JobWorker::work(const std::shared_ptr<State>& st) {
  lowerThisThreadsPriority();
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(st->mutex);
      st->wake.wait(lock, [&] { return st->stop || !st->high.empty() || !st->normal.empty(); });
      if (st->stop) return;
      auto& q = st->high.empty() ? st->normal : st->high;
      job = std::move(q.front());
      q.pop_front();
    }
    auto done = job();
    // Freed here, on the worker: a job's captures (a 16 MiB request) must not be destroyed
    // on the loop.
    job = nullptr;
    st->loop.post(std::move(done));
    if (st->afterJob) st->afterJob();
  }
}

}  // namespace bulwark::daemon
