#pragma once
// A small HTTP server on threads of its own (cpp-httplib) that serves snapshots the event
// loop publishes: a request never runs on the loop and never waits for it to be free, and a
// slow or malicious client holds one bounded thread for a bounded time, never a scrape.
//
//  * SnapshotBoard: the meeting point. The loop publishes text (any thread may, under its
//    mutex); an HTTP thread takes the latest snapshot if it is recent enough, else asks the
//    loop for a new one (through the refresher, which posts to the loop) and waits for it with
//    a deadline. Requests that arrive together share one refresh.
//  * HttpServer: GET routes on a listening address. At most maxConnections are served at
//    once, each on a thread of its own (more get "503" at once and are closed); the whole
//    request head must arrive within requestDeadline (a client that trickles bytes is cut off
//    there, however slowly it sends), the response must be taken within writeDeadline.
//    Malformed requests (bare LF line ends, HTTP/0.9, garbage) get cpp-httplib's 400; other
//    methods 405, other paths 404. One request per connection (Connection: close).
// /metrics uses it (metrics.h); the web dashboard will add its routes and TLS to the same
// server.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "bulwark/gateway/result.h"
#include "event_loop.h"

namespace bulwark::daemon {

class SnapshotBoard {
 public:
  struct Snapshot {
    std::shared_ptr<const std::string> body;
    std::uint64_t version = 0;  // 0: nothing published yet
    Clock::time_point at;  // when the refresh that made it was asked (its data is younger)
  };
  // Called on an HTTP thread when a new snapshot is wanted: must only hand the work to the
  // loop (EventLoop::post), never do it.
  void setRefresher(std::function<void()> fn);
  // Any thread (the loop, in practice).
  void publish(std::string body);
  // HTTP thread: the latest snapshot if younger than maxAge, else a new one (waiting at most
  // `wait` for it). nullopt: none came in time.
  [[nodiscard]] std::optional<Snapshot> get(std::chrono::milliseconds maxAge, std::chrono::milliseconds wait);

 private:
  std::mutex mutex_;
  std::condition_variable published_;
  Snapshot latest_;                  // guarded by mutex_
  bool refreshing_ = false;          // guarded by mutex_: a refresh was asked for and not yet published
  Clock::time_point askedAt_{};      // guarded by mutex_
  std::function<void()> refresher_;  // guarded by mutex_
};

struct HttpOptions {
  std::string address;  // "127.0.0.1:9469" or "[::1]:9469"; port 0: any free one (port())
  std::size_t maxConnections = 64;
  std::chrono::milliseconds requestDeadline{std::chrono::seconds(5)};
  std::chrono::milliseconds writeDeadline{std::chrono::seconds(10)};
};

struct HttpReply {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  // Runs on the server's threads (any of them, concurrently).
  using Route = std::function<HttpReply()>;
  // Binds now (errors are the caller's), serves on its own threads until destroyed.
  [[nodiscard]] static gateway::Result<std::unique_ptr<HttpServer>> start(const HttpOptions& options,
                                                                          std::map<std::string, Route> getRoutes);
  ~HttpServer();  // stops: the listener and every connection closed, the threads joined
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] int port() const { return port_; }

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  std::thread listener_;
  int port_ = 0;
};

}  // namespace bulwark::daemon
