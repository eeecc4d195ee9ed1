#pragma once
// The web view's server: HTTPS (TLS 1.3) with client certificates from Bulwark's CA, on the
// one address the policy names (gateway.web), serving
//
//   /, /index.html, /app.js, ...   the page, from the table compiled in (web_assets.h): no
//                                  path a client names is ever opened
//   /api/snapshot                  the newest snapshot (JSON) plus who you are
//   /api/history                   the last hour of every series (SeriesStore)
//   /api/stream                    Server-Sent Events: each snapshot as it is published (1/s)
//
// cpp-httplib's SSLServer on threads of its own: the daemon's loop only publishes snapshots
// into the WebFeed (a string swap under a mutex) and never waits for a client. The TLS
// context is the control API's (tls_context.h: the same PKI files, reloaded when they change,
// TLS 1.3 only, no tickets); the role comes from the certificate through the policy's
// gateway.control groups, and the view role suffices. Every request is authorized again
// against the current CA and CRL (verifyPeerAgain), and an open stream is re-checked after
// each PKI reload, so a revocation ends a dashboard too.
//
// Bounds: kWorkers threads (small stacks) serve connections; at most kMaxQueued accepted
// connections wait for one, after which the accept thread itself waits (the kernel's backlog
// takes the rest); reads, writes, keep-alive and the TLS handshake time out after
// kIoTimeout, and a connection that sends nothing is never accepted (TCP_DEFER_ACCEPT); an
// event stream whose client leaves more than kMaxUnsent bytes unread is closed; at most
// kMaxStreams event streams (kMaxStreamsPerCert per certificate);
// request line and headers at most 8 KiB (cpp-httplib); GET and HEAD only, no body.
// Responses carry a strict CSP (no inline script or style, nothing third-party), HSTS,
// frame-ancestors 'none', nosniff, no-referrer.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "bulwark/gateway/result.h"
#include "bulwark/policies/model.h"
#include "series_store.h"
#include "tls_context.h"

namespace bulwark::daemon {

struct WebListenConfig {
  std::string address;  // an IP address literal, from the policy
  std::uint16_t port = 8443;
  CertRoles roles;      // gateway.control's groups: change or view may open the page
  bool operator==(const WebListenConfig&) const = default;
};

// gateway.web of a loaded policy (with control's groups); nullopt when it has none.
[[nodiscard]] std::optional<WebListenConfig> webConfigOf(const policies::Policy& policy);

// What the daemon's loop publishes for the web server's threads.
class WebFeed {
 public:
  // Loop thread: a new snapshot (a JSON object).
  void publish(std::string snapshotJson);
  // Any thread: the newest snapshot and its number (0: none yet).
  [[nodiscard]] std::pair<std::uint64_t, std::shared_ptr<const std::string>> latest() const;
  // Any thread: waits until a snapshot newer than `seq` is published, `stop` turns true, or
  // `timeout` passes; returns latest().
  std::pair<std::uint64_t, std::shared_ptr<const std::string>> waitNewer(std::uint64_t seq,
                                                                         std::chrono::milliseconds timeout,
                                                                         const std::atomic<bool>& stop) const;
  // Wakes every waiter (after a `stop` flag was set: the lock makes the wake-up certain).
  void wakeAll() const {
    { std::lock_guard lock(mutex_); }
    cv_.notify_all();
  }
  // The history (written by the loop, read by the server's threads).
  SeriesStore& series() { return series_; }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::uint64_t seq_ = 0;
  std::shared_ptr<const std::string> latest_;
  SeriesStore series_;
};

class WebServer {
 public:
  static constexpr std::size_t kWorkers = 64;
  static constexpr std::size_t kMaxQueued = 64;
  static constexpr int kBacklog = 4096;  // the kernel caps it at net.core.somaxconn
  static constexpr std::size_t kMaxStreams = 56;  // leaves workers for the page's other requests
  static constexpr std::size_t kMaxStreamsPerCert = 8;
  static constexpr std::chrono::seconds kIoTimeout{5};
  static constexpr std::size_t kMaxUnsent = 64 * 1024;  // per event stream, in the socket

  using Log = std::function<void(const std::string&)>;
  WebServer(TlsFiles files, WebFeed& feed, Log log);
  ~WebServer();  // stops listening, ends the streams, joins the threads
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Listen as `config` says (nullopt: stop). A changed address or port re-binds (open
  // connections end); changed roles apply to the next request.
  gateway::Status configure(const std::optional<WebListenConfig>& config);
  [[nodiscard]] const std::optional<WebListenConfig>& config() const { return config_; }

  struct Counts {
    std::size_t streams = 0;       // open event streams
    std::size_t requests = 0;      // answered so far
    std::size_t refused = 0;       // 403: no role, or the certificate no longer verifies
    std::size_t badRequests = 0;   // 4xx other than 403
    std::size_t queueWaits = 0;    // times the accept thread waited for a free worker
  };
  [[nodiscard]] Counts counts() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::optional<WebListenConfig> config_;
};

}  // namespace bulwark::daemon
