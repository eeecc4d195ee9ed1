#include "http_bounds.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace bulwark::daemon::http {

namespace {
thread_local bool tlRejecting = false;
}  // namespace

BoundedPool::BoundedPool(std::size_t workers, std::size_t maxQueued, WhenFull whenFull,
                         std::atomic<std::size_t>& full)
    : maxQueued_(maxQueued), whenFull_(whenFull), full_(full) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackBytes);
  // Idle from the start, not from when each thread first runs: a connection right after the
  // server starts must not be taken for one over the limit.
  idle_ = workers;
  for (std::size_t i = 0; i < workers; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, &BoundedPool::run, this) == 0) {
      threads_.push_back(t);
    } else {
      std::lock_guard lock(mutex_);
      --idle_;
    }
  }
  pthread_attr_destroy(&attr);
}

bool BoundedPool::rejecting() { return tlRejecting; }

void BoundedPool::enqueue(std::function<void()> fn) {
  std::unique_lock lock(mutex_);
  // Taken: every idle worker has a job waiting for it, and the queue beyond them is full.
  auto taken = [&] { return jobs_.size() >= idle_ + maxQueued_; };
  if (taken() || stop_) {
    ++full_;
    if (whenFull_ == WhenFull::Reject || stop_) {
      lock.unlock();
      tlRejecting = true;
      fn();  // the server answers 503 and closes, without blocking
      tlRejecting = false;
      return;
    }
    notFull_.wait(lock, [&] { return !taken() || stop_; });
  }
  jobs_.push_back(std::move(fn));
  notEmpty_.notify_one();
}

void BoundedPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  notEmpty_.notify_all();
  notFull_.notify_all();
  for (auto t : threads_) pthread_join(t, nullptr);
  threads_.clear();
}

void* BoundedPool::run(void* self) {
  auto* p = static_cast<BoundedPool*>(self);
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(p->mutex_);
      p->notEmpty_.wait(lock, [&] { return !p->jobs_.empty() || p->stop_; });
      if (p->jobs_.empty()) return nullptr;  // stopping and drained
      fn = std::move(p->jobs_.front());
      p->jobs_.pop_front();
      --p->idle_;
    }
    fn();
    {
      std::lock_guard lock(p->mutex_);
      ++p->idle_;
    }
    p->notFull_.notify_one();  // a worker free again is room for one more
  }
}

void applyBounds(httplib::Server& server, const Bounds& b) {
  const auto io = static_cast<time_t>(b.io.count());
  server.set_read_timeout(io, 0);
  server.set_write_timeout(io, 0);
  server.set_keep_alive_timeout(io);
  server.set_payload_max_length(b.maxBody);
  server.set_tcp_nodelay(true);
  server.set_socket_options([b](int sock) {
    int one = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (b.freeBind) {
      ::setsockopt(sock, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
      ::setsockopt(sock, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
    }
    if (b.deferAccept) {
      // The kernel keeps a connection until its first bytes arrive, and drops it if they
      // do not within the I/O timeout: an idle client never holds a worker.
      int defer = static_cast<int>(b.io.count());
      ::setsockopt(sock, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
    }
    // Accepted sockets inherit it: what a client leaves unread in the kernel is bounded.
    int sndbuf = b.sendBuffer;
    ::setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  });
}

httplib::Server::HandlerResponse onlyGetAndHead(const httplib::Request& req, httplib::Response& res) {
  if (req.method == "GET" || req.method == "HEAD") return httplib::Server::HandlerResponse::Unhandled;
  res.status = 405;
  res.set_header("Allow", "GET, HEAD");
  res.set_content("read-only: GET and HEAD only\n", "text/plain; charset=utf-8");
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace bulwark::daemon::http
