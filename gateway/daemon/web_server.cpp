#include "web_server.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <openssl/err.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "http_bounds.h"
#include "rate_limited_log.h"
#include "tls_listener.h"  // tlsConfigOf: gateway.control's groups
#include "web_assets.h"

namespace bulwark::daemon {

std::optional<WebListenConfig> webConfigOf(const policies::Policy& policy) {
  auto control = tlsConfigOf(policy);  // the same certificate groups
  if (!control || !policy.gateway->web) return std::nullopt;
  const auto& w = *policy.gateway->web;
  return WebListenConfig{w.listen.str(), w.port, control->roles};
}

void WebFeed::publish(std::string snapshotJson) {
  auto s = std::make_shared<const std::string>(std::move(snapshotJson));
  {
    std::lock_guard lock(mutex_);
    latest_ = std::move(s);
    ++seq_;
  }
  cv_.notify_all();
}

std::pair<std::uint64_t, std::shared_ptr<const std::string>> WebFeed::latest() const {
  std::lock_guard lock(mutex_);
  return {seq_, latest_};
}

std::pair<std::uint64_t, std::shared_ptr<const std::string>> WebFeed::waitNewer(std::uint64_t seq,
                                                                                std::chrono::milliseconds timeout,
                                                                                const std::atomic<bool>& stop) const {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return seq_ > seq || stop; });
  return {seq_, latest_};
}

namespace {

constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// A request's path for the log: ours as is, anything else only by its length (no raw client
// bytes in logs).
std::string logPath(const std::string& path) {
  static const std::set<std::string> known = [] {
    std::set<std::string> s{"/", "/api/snapshot", "/api/history", "/api/stream"};
    for (const auto& a : webAssets()) s.insert(a.path);
    return s;
  }();
  if (known.count(path) != 0) return path;
  return "<another path, " + std::to_string(path.size()) + " bytes>";
}


std::string peerOf(const SSL* ssl) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  char host[INET6_ADDRSTRLEN] = "?";
  int fd = SSL_get_fd(ssl);
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, host, sizeof host);
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, host, sizeof host);
  }
  return host;
}

}  // namespace

struct WebServer::Impl {
  Impl(TlsFiles files, WebFeed& f, Log l) : contexts(std::move(files)), feed(f), log(std::move(l)) {}

  // The PKI's current context, shared by the handshakes and the re-checks (mutex held).
  std::mutex tlsMutex;
  TlsContextSource contexts;

  WebFeed& feed;
  // Anyone who reaches the port can cause refusals: at most 20 lines per 10 s.
  ThreadSafeRateLimitedLog log;
  std::mutex rolesMutex;
  CertRoles roles;

  std::unique_ptr<http::Listener<httplib::SSLServer>> server;
  std::thread listener;
  std::atomic<bool> stopping{false};  // ends the streams (WebFeed::waitNewer), set before stop()

  std::mutex streamsMutex;
  std::map<std::string, std::size_t> streamsPerCert;
  std::atomic<std::size_t> streams{0}, requests{0}, refused{0}, badRequests{0}, queueWaits{0};

  std::map<std::string, const WebAsset*> assets = [] {
    std::map<std::string, const WebAsset*> m;
    for (const auto& a : webAssets()) m[a.path] = &a;
    if (m.count("/index.html") != 0) m["/"] = m["/index.html"];
    return m;
  }();

  static int onClientHello(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    // Per connection (the context is swapped below): refusals from here on are logged.
    SSL_set_app_data(ssl, self);
    SSL_set_info_callback(ssl, &Impl::onInfo);
    std::lock_guard lock(self->tlsMutex);
    auto ctx = self->contexts.current();
    if (!ctx) {
      *alert = SSL_AD_INTERNAL_ERROR;  // PKI files missing or not loadable: fail closed
      return SSL_CLIENT_HELLO_ERROR;
    }
    // The certificate, key, trust store (CA + CRL) and client CA list of the current PKI
    // for this connection; the version bounds and verify mode were set on the base context.
    SSL_set_SSL_CTX(ssl, *ctx);
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  bool setupBaseContext(SSL_CTX& ctx) {
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(&ctx, TLS1_3_VERSION) != 1) {
      return false;
    }
    SSL_CTX_set_num_tickets(&ctx, 0);
    SSL_CTX_set_session_cache_mode(&ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    // An event stream writes once a second: no 34 KiB of record buffers held in between.
    SSL_CTX_set_mode(&ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE, nullptr);
    SSL_CTX_set_client_hello_cb(&ctx, &Impl::onClientHello, this);
    return true;
  }

  // Handshake refusals (no certificate, unknown CA, revoked, TLS 1.2 ...) to the log, as the
  // control API does: the alert we send says why.
  static void onInfo(const SSL* ssl, int where, int ret) {
    if ((where & SSL_CB_WRITE_ALERT) == 0 || SSL_is_init_finished(ssl)) return;
    auto* self = static_cast<Impl*>(SSL_get_app_data(ssl));
    if (self == nullptr) return;
    char reason[256] = "";
    unsigned long e = ERR_peek_last_error();
    // A client that closed its connection (a browser's spare connections) refused nothing.
    if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return;
    if (e != 0) ERR_error_string_n(e, reason, sizeof reason);
    self->log("web: handshake refused for " + peerOf(ssl) + ": " + SSL_alert_desc_string_long(ret) +
              (reason[0] != 0 ? std::string(" (") + reason + ")" : std::string()) + " in " +
              SSL_state_string_long(ssl));
  }

  struct Who {
    std::optional<CertIdentity> id;
    gateway::Role role = gateway::Role::None;
    std::string refusal;  // why not, for the log
  };

  // The certificate of this connection, verified again against the current PKI, and its role.
  Who authorize(const httplib::Request& req) {
    Who w;
    if (req.ssl == nullptr) {
      w.refusal = "no TLS session";
      return w;
    }
    auto* ssl = const_cast<SSL*>(req.ssl);  // read-only use: verification and the peer certificate
    {
      std::lock_guard lock(tlsMutex);
      auto ctx = contexts.current();
      if (!ctx) {
        w.refusal = "PKI not loadable: " + ctx.error().message;
        return w;
      }
      if (auto st = verifyPeerAgain(*ctx, ssl); !st) {
        w.refusal = "certificate no longer valid (" + st.error().message + ")";
        return w;
      }
    }
    w.id = certIdentity(SSL_get0_peer_certificate(ssl));
    {
      std::lock_guard lock(rolesMutex);
      w.role = roleForCertificate(w.id, roles);
    }
    if (w.role == gateway::Role::None) {
      w.refusal = w.id ? "group '" + w.id->group + "' has no role in gateway.control" : "certificate has no CN/OU identity";
    }
    return w;
  }

  static std::string describe(const httplib::Request& req, const Who& w) {
    std::string who = w.id ? "CN=" + w.id->cn + ", OU=" + w.id->group + " (certificate " + w.id->serial + ")"
                           : std::string("unidentified client");
    return who + " from " + req.remote_addr + ":" + std::to_string(req.remote_port);
  }

  void plain(httplib::Response& res, int status, const std::string& text) {
    res.status = status;
    res.set_content(text + "\n", "text/plain; charset=utf-8");
  }

  httplib::Server::HandlerResponse route(const httplib::Request& req, httplib::Response& res) {
    ++requests;
    Who w = authorize(req);
    if (w.role == gateway::Role::None) {
      ++refused;
      log("web: refused " + describe(req, w) + ": " + w.refusal);
      plain(res, 403, "forbidden: " + w.refusal);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (http::onlyGetAndHead(req, res) == httplib::Server::HandlerResponse::Handled) {  // after the role
      ++badRequests;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!req.body.empty()) {
      ++badRequests;
      plain(res, 400, "no request body expected");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path == "/api/stream") return stream(req, res, w);
    if (req.path == "/api/snapshot") {
      auto [seq, snap] = feed.latest();
      if (!snap) {
        plain(res, 503, "no snapshot yet");
      } else {
        res.set_content(withYou(*snap, w), "application/json");
      }
    } else if (req.path == "/api/history") {
      res.set_content(feed.series().historyJson(), "application/json");
    } else if (auto it = assets.find(req.path); it != assets.end()) {
      res.set_content(std::string(it->second->body()), it->second->contentType);
      res.set_header("Cache-Control", "no-cache");
    } else {
      ++badRequests;
      log("web: 404 for " + logPath(req.path) + " from " + describe(req, w));
      plain(res, 404, "not found");
    }
    return httplib::Server::HandlerResponse::Handled;
  }

  // The snapshot with "you" (this certificate and its role) added.
  static std::string withYou(const std::string& snap, const Who& w) {
    nlohmann::json you{{"cn", w.id ? w.id->cn : ""},
                       {"group", w.id ? w.id->group : ""},
                       {"role", std::string(gateway::roleName(w.role))}};
    std::string out = snap;
    if (!out.empty() && out.back() == '}') {
      out.pop_back();
      out += ",\"you\":" + you.dump() + "}";
    }
    return out;
  }

  httplib::Server::HandlerResponse stream(const httplib::Request& req, httplib::Response& res, const Who& w) {
    const std::string cert = w.id ? w.id->serial : "";
    {
      std::lock_guard lock(streamsMutex);
      if (streams >= kMaxStreams || streamsPerCert[cert] >= kMaxStreamsPerCert) {
        ++badRequests;
        log("web: refused an event stream for " + describe(req, w) + ": " +
            (streams >= kMaxStreams ? "at most " + std::to_string(kMaxStreams) + " streams"
                                    : "at most " + std::to_string(kMaxStreamsPerCert) + " per certificate"));
        plain(res, 503, "too many event streams");
        return httplib::Server::HandlerResponse::Handled;
      }
      ++streams;
      ++streamsPerCert[cert];
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    auto* ssl = const_cast<SSL*>(req.ssl);
    auto state = std::make_shared<std::pair<std::uint64_t, unsigned>>(0, 0);  // (seq sent, PKI loads checked)
    {
      std::lock_guard lock(tlsMutex);
      state->second = contexts.loads();
    }
    std::string where = describe(req, w);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, state, ssl, where](std::size_t, httplib::DataSink& sink) {
          auto [seq, snap] = feed.waitNewer(state->first, std::chrono::seconds(15), stopping);
          if (stopping) return false;
          {
            // A revocation (or a new CA) ends the stream too.
            std::lock_guard lock(tlsMutex);
            auto ctx = contexts.current();
            if (!ctx) return false;
            if (contexts.loads() != state->second) {
              state->second = contexts.loads();
              if (auto st = verifyPeerAgain(*ctx, ssl); !st) {
                log("web: closed the event stream of " + where + ": " + st.error().message);
                return false;
              }
            }
          }
          std::string msg;
          if (seq > state->first && snap) {
            state->first = seq;
            msg.reserve(snap->size() + 32);
            msg = "event: snapshot\ndata: ";
            msg += *snap;
            msg += "\n\n";
          } else {
            msg = ": keep-alive\n\n";
          }
          // A client that stopped reading: its unsent bytes pile up in the socket. Past
          // kMaxUnsent (seconds of updates) the stream ends; else a write blocks at most
          // kIoTimeout (the socket's send timeout).
          int unsent = 0;
          if (::ioctl(SSL_get_fd(ssl), SIOCOUTQ, &unsent) == 0 && static_cast<std::size_t>(unsent) > kMaxUnsent) {
            log("web: closed the event stream of " + where + ": " + std::to_string(unsent) +
                " bytes unsent (the client does not read)");
            return false;
          }
          if (!sink.write(msg.data(), msg.size())) {
            log("web: closed the event stream of " + where + ": the client did not take the data");
            return false;
          }
          return true;
        },
        [this, cert](bool) {
          std::lock_guard lock(streamsMutex);
          --streams;
          if (--streamsPerCert[cert] == 0) streamsPerCert.erase(cert);
        });
    return httplib::Server::HandlerResponse::Handled;
  }

  void stop() {
    if (!server) return;
    stopping = true;
    feed.wakeAll();
    server->stop();
    if (listener.joinable()) listener.join();
    server.reset();  // joins the workers (their streams end at `stopping`)
    stopping = false;
  }
};

WebServer::WebServer(TlsFiles files, WebFeed& feed, Log log)
    : impl_(std::make_unique<Impl>(std::move(files), feed, std::move(log))) {}

WebServer::~WebServer() { impl_->stop(); }

WebServer::Counts WebServer::counts() const {
  return {impl_->streams.load(), impl_->requests.load(), impl_->refused.load(), impl_->badRequests.load(),
          impl_->queueWaits.load()};
}

gateway::Status WebServer::configure(const std::optional<WebListenConfig>& config) {
  Impl& m = *impl_;
  if (config) {
    std::lock_guard lock(m.rolesMutex);
    m.roles = config->roles;
  }
  const bool rebind = !config || !config_ || config->address != config_->address || config->port != config_->port;
  if (!rebind) {
    config_ = config;
    return gateway::okStatus();
  }
  m.stop();
  config_.reset();
  if (!config) return gateway::okStatus();

  auto server = std::make_unique<http::Listener<httplib::SSLServer>>(
      [&m](SSL_CTX& ctx) { return m.setupBaseContext(ctx); });
  if (!server->is_valid()) return gateway::Error{"web: cannot set up the TLS context"};
  server->new_task_queue = [&m] {
    return new http::BoundedPool(kWorkers, kMaxQueued, http::BoundedPool::WhenFull::Wait, m.queueWaits);
  };
  http::Bounds bounds;
  bounds.io = kIoTimeout;
  bounds.backlog = kBacklog;
  bounds.freeBind = true;  // the address may appear after the daemon starts (as for the control API)
  http::applyBounds(*server, bounds);
  server->set_keep_alive_max_count(1000);
  server->set_default_headers({
      {"Content-Security-Policy", kCsp},
      {"Strict-Transport-Security", "max-age=31536000"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
  });
  server->set_pre_routing_handler([&m](const httplib::Request& req, httplib::Response& res) { return m.route(req, res); });
  server->set_error_handler([&m](const httplib::Request& req, httplib::Response& res) {
    // Errors cpp-httplib found itself (malformed or oversized request lines and headers).
    if (res.status >= 400 && res.status != 403 && res.status != 404 && res.status != 405 && res.status != 503) {
      ++m.badRequests;
      m.log("web: " + std::to_string(res.status) + " (malformed or oversized request)" +
            (req.remote_addr.empty() ? std::string() : " from " + req.remote_addr));
    }
  });
  if (!server->bind_to_port(config->address, config->port)) {
    return gateway::Error{"web: cannot listen on " + config->address + " port " + std::to_string(config->port)};
  }
  if (!server->widenBacklog(kBacklog)) m.log("web: listen backlog stays at cpp-httplib's 5");
  m.server = std::move(server);
  m.listener = std::thread([&m] { m.server->listen_after_bind(); });
  config_ = config;
  return gateway::okStatus();
}

}  // namespace bulwark::daemon
