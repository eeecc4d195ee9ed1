#include "counter_worker.h"
#include "job_worker.h"

#include <pthread.h>

#include <chrono>

namespace bulwark::daemon {

CounterWorker::CounterWorker(EventLoop& loop, Collect collect, Render render)
    : state_(std::make_shared<State>(loop, std::move(collect), std::move(render))) {
  // Created on the loop's thread after main blocked SIGHUP/SIGTERM/SIGINT: the worker
  // inherits that mask, so those signals still only reach the loop's signalfd.
  thread_ = std::thread([st = state_] { work(st); });
  ::pthread_setname_np(thread_.native_handle(), "bulwarkd-dump");
}

CounterWorker::~CounterWorker() {
  state_->closed = true;
  state_->waiters.clear();
  state_->nextWaiters.clear();
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_one();
  thread_.join();
}

bool CounterWorker::request(Done done, bool withText, bool fresh) {
  auto& st = *state_;
  if (st.waiters.size() + st.nextWaiters.size() >= kMaxWaiters) return false;
  if (st.inFlight && fresh) {
    st.nextWaiters.push_back(std::move(done));
    st.nextText = st.nextText || withText;
    return true;
  }
  st.waiters.push_back(std::move(done));
  if (st.inFlight) {  // joins the dump in progress (gets text if the worker has not begun yet)
    if (withText) {
      std::lock_guard<std::mutex> lock(st.mutex);
      if (st.want) st.text = true;
    }
    return true;
  }
  start(st, withText);
  return true;
}

void CounterWorker::start(State& st, bool withText) {
  st.inFlight = true;
  ++st.dumps;
  {
    std::lock_guard<std::mutex> lock(st.mutex);
    st.want = true;
    st.text = withText;
  }
  st.wake.notify_one();
}

void CounterWorker::work(const std::shared_ptr<State>& st) {
  lowerThisThreadsPriority();  // below the loop, as the policy worker (job_worker.h)
  for (;;) {
    bool text = false;
    {
      std::unique_lock<std::mutex> lock(st->mutex);
      st->wake.wait(lock, [&] { return st->want || st->stop; });
      if (st->stop) return;
      st->want = false;
      text = st->text;
    }
    auto start = std::chrono::steady_clock::now();
    auto sample = std::make_shared<Sample>(Sample{st->collect(), 0, std::nullopt});
    sample->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (text && st->render && sample->counters) sample->series = st->render(*sample->counters);
    st->loop.post([st, sample] { finish(*st, *sample); });
  }
}

void CounterWorker::finish(State& st, const Sample& s) {
  if (st.closed) return;
  // Taken out first: a callback may ask for the next dump.
  auto waiters = std::move(st.waiters);
  st.waiters.clear();
  st.inFlight = false;
  if (!st.nextWaiters.empty()) {
    // Those who asked for a dump that starts after them: it starts now.
    st.waiters = std::move(st.nextWaiters);
    st.nextWaiters.clear();
    start(st, st.nextText);
    st.nextText = false;
  }
  for (auto& w : waiters) w(s);
}

}  // namespace bulwark::daemon
