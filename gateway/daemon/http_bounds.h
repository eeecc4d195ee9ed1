#pragma once
// What bulwarkd's two cpp-httplib servers share: /metrics (http_server.*, plain HTTP on a
// local address) and the web view (web_server.*, HTTPS with client certificates). One task
// queue with a bound, one set of socket and request limits, one method filter; each server
// adds only what is its own (the metrics server its whole-request deadlines, the web view TLS,
// roles and event streams). Includes httplib.h: for those two .cpp files only.
#include <httplib.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace bulwark::daemon::http {

// cpp-httplib's TaskQueue with bounds: `workers` threads with small stacks (each serves one
// connection at a time), at most `maxQueued` accepted connections waiting for one. When all
// are taken, WhenFull::Wait makes the accept thread wait (further clients wait in the kernel's
// listen backlog, not in our memory); WhenFull::Reject runs the job at once on the accept
// thread with rejecting() true, for the server to answer "503" and close without serving.
class BoundedPool final : public httplib::TaskQueue {
 public:
  enum class WhenFull { Wait, Reject };
  static constexpr std::size_t kStackBytes = 256 * 1024;

  // `full`: counts the times the pool was full (waits or rejections).
  BoundedPool(std::size_t workers, std::size_t maxQueued, WhenFull whenFull, std::atomic<std::size_t>& full);
  ~BoundedPool() override = default;  // cpp-httplib calls shutdown() first

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // True on the accept thread while it runs a job the pool rejected.
  [[nodiscard]] static bool rejecting();

 private:
  static void* run(void* self);

  std::size_t maxQueued_;
  WhenFull whenFull_;
  std::atomic<std::size_t>& full_;
  std::mutex mutex_;
  std::condition_variable notEmpty_, notFull_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  std::size_t idle_ = 0;                    // guarded by mutex_: workers not serving a connection
  std::vector<pthread_t> threads_;
  bool stop_ = false;  // guarded by mutex_
};

// Limits both servers apply to every connection and request.
struct Bounds {
  std::chrono::seconds io{5};          // each read and write, keep-alive, the TLS handshake
  std::size_t maxBody = 4096;          // GET/HEAD only: anything bigger is refused
  int backlog = 4096;                  // the kernel caps it at net.core.somaxconn
  bool deferAccept = true;             // a connection that sends nothing never reaches a worker
  int sendBuffer = 256 * 1024;         // what a client can leave unread in the kernel
  bool freeBind = false;               // the address may appear after the daemon starts
};

// Timeouts, the body limit, TCP_NODELAY and the listening socket's options (SO_REUSEADDR,
// TCP_DEFER_ACCEPT, SO_SNDBUF, IP_FREEBIND) as `b` says.
void applyBounds(httplib::Server& server, const Bounds& b);

// A pre-routing step: GET and HEAD go on (Unhandled), anything else gets 405.
httplib::Server::HandlerResponse onlyGetAndHead(const httplib::Request& req, httplib::Response& res);

// cpp-httplib listens with a backlog of 5: 1,000 idle clients would crowd out a real one.
template <class Base>
class Listener : public Base {
 public:
  using Base::Base;
  bool widenBacklog(int backlog) { return ::listen(this->svr_sock_, backlog) == 0; }
};

}  // namespace bulwark::daemon::http
