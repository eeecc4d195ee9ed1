#include "http_server.h"

#include "http_bounds.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

namespace bulwark::daemon {

// ---- SnapshotBoard --------------------------------------------------------------------------

void SnapshotBoard::setRefresher(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  refresher_ = std::move(fn);
}

void SnapshotBoard::publish(std::string body) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Its age counts from the ask, not from now: the dump behind it began after the ask and
    // may have taken long (a slow dump published "now" would pass as fresh data for maxAge).
    const auto at = refreshing_ ? askedAt_ : Clock::now();
    latest_ = Snapshot{std::make_shared<const std::string>(std::move(body)), latest_.version + 1, at};
    refreshing_ = false;
  }
  published_.notify_all();
}

std::optional<SnapshotBoard::Snapshot> SnapshotBoard::get(std::chrono::milliseconds maxAge,
                                                          std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  if (latest_.version > 0 && now - latest_.at < maxAge) return latest_;
  const auto seen = latest_.version;
  // One refresh for all who ask meanwhile; asked again if the last one never came.
  if (!refreshing_ || now - askedAt_ > wait) {
    refreshing_ = true;
    askedAt_ = now;
    auto fn = refresher_;
    lock.unlock();
    if (fn) fn();
    lock.lock();
  }
  if (!published_.wait_for(lock, wait, [&] { return latest_.version > seen; })) return std::nullopt;
  return latest_;
}

// ---- HttpServer -----------------------------------------------------------------------------

namespace {

// A socket with deadlines for the whole exchange, not per read: the request head must be in
// by `readBy` however slowly it trickles, the response out within writeFor of its first byte.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int sock, Clock::time_point readBy, std::chrono::milliseconds writeFor)
      : sock_(sock), readBy_(readBy), writeFor_(writeFor) {}
  bool is_readable() const override { return wait(POLLIN, readBy_); }
  bool is_writable() const override { return wait(POLLOUT, writeBy()); }
  ssize_t read(char* ptr, size_t size) override {
    if (!wait(POLLIN, readBy_)) return -1;
    for (;;) {
      ssize_t n = ::recv(sock_, ptr, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!wait(POLLOUT, writeBy())) return -1;
    for (;;) {
      ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(false, ip, port); }
  ::socket_t socket() const override { return sock_; }

 private:
  Clock::time_point writeBy() const {
    if (!writeStart_) writeStart_ = Clock::now();
    return *writeStart_ + writeFor_;
  }
  bool wait(short events, Clock::time_point by) const {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(by - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{sock_, events, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (r == 0) continue;  // re-check the deadline
        return false;
      }
      return (p.revents & (events | POLLHUP | POLLERR)) != 0;
    }
  }
  void address(bool remote, std::string& ip, int& port) const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int r = remote ? ::getpeername(sock_, reinterpret_cast<sockaddr*>(&ss), &len)
                   : ::getsockname(sock_, reinterpret_cast<sockaddr*>(&ss), &len);
    if (r != 0) return;
    char host[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
      ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    } else {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
      ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    }
    ip = host;
  }

  int sock_;
  Clock::time_point readBy_;
  std::chrono::milliseconds writeFor_;
  mutable std::optional<Clock::time_point> writeStart_;
};

bool splitAddress(const std::string& address, std::string& host, int& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  host = address.substr(0, colon);
  auto p = address.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535) return false;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  in6_addr probe{};
  return ::inet_pton(AF_INET, host.c_str(), &probe) == 1 || ::inet_pton(AF_INET6, host.c_str(), &probe) == 1;
}

}  // namespace

class HttpServer::Impl final : public http::Listener<httplib::Server> {
 public:
  explicit Impl(HttpOptions o) : opts_(std::move(o)) {
    // One thread per connection being served, at most maxConnections; over that, 503 at once
    // on the accepting thread (process_and_close_socket below), never a wait.
    new_task_queue = [this] {
      return new http::BoundedPool(opts_.maxConnections, 0, http::BoundedPool::WhenFull::Reject, full_);
    };
  }

  // Ends every connection being served (their threads see EOF/errors and finish).
  void closeAll() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int s : active_) ::shutdown(s, SHUT_RDWR);
  }

 private:
  // cpp-httplib's per-connection entry point (a private virtual of httplib::Server; overriding
  // it is how the deadlines and the connection limit get in without patching the library).
  bool process_and_close_socket(::socket_t sock) override {
    if (http::BoundedPool::rejecting()) {
      static constexpr char k503[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n"
          "Connection: close\r\n\r\ntoo many connections\r\n";
      (void)::send(sock, k503, sizeof k503 - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(sock);
      return true;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      active_.insert(sock);
    }
    DeadlineStream strm(sock, Clock::now() + opts_.requestDeadline, opts_.writeDeadline);
    bool closed = false;
    bool ok = process_request(strm, true, closed, [](httplib::Request&) {});
    {
      std::lock_guard<std::mutex> lock(mutex_);
      active_.erase(sock);
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  HttpOptions opts_;
  std::atomic<std::size_t> full_{0};
  std::mutex mutex_;
  std::set<int> active_;  // guarded by mutex_
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

gateway::Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpOptions& options,
                                                               std::map<std::string, Route> getRoutes) {
  std::string host;
  int port = 0;
  if (!splitAddress(options.address, host, port)) {
    return gateway::Error{"address must be IP:PORT ([IPv6]:PORT): " + options.address};
  }
  auto impl = std::make_unique<Impl>(options);
  http::Bounds bounds;  // the I/O timeouts are the stream's deadlines here (DeadlineStream)
  bounds.io = std::chrono::duration_cast<std::chrono::seconds>(options.requestDeadline);
  http::applyBounds(*impl, bounds);
  impl->set_pre_routing_handler(&http::onlyGetAndHead);
  for (auto& [path, route] : getRoutes) {
    impl->Get(path, [route = std::move(route)](const httplib::Request&, httplib::Response& res) {
      auto r = route();
      res.status = r.status;
      res.set_content(std::move(r.body), r.contentType.c_str());
    });
  }
  impl->set_keep_alive_max_count(1);
  if (port == 0) {  // any free port (tests)
    port = impl->bind_to_any_port(host);
    if (port <= 0) return gateway::sysError("bind " + options.address, errno);
  } else if (!impl->bind_to_port(host, port)) {
    return gateway::sysError("bind " + options.address, errno);
  }
  (void)impl->widenBacklog(bounds.backlog);  // else cpp-httplib's 5 (a full backlog only delays)
  std::unique_ptr<HttpServer> s(new HttpServer(std::move(impl), port));
  auto* raw = s->impl_.get();
  s->listener_ = std::thread([raw] { raw->listen_after_bind(); });
  ::pthread_setname_np(s->listener_.native_handle(), "bulwarkd-http");
  return s;
}

HttpServer::~HttpServer() {
  impl_->stop();  // the listener closes; listen_after_bind() shuts the connection threads down
  impl_->closeAll();  // ... which end sooner with their connections shut
  if (listener_.joinable()) listener_.join();
}

}  // namespace bulwark::daemon
