#include "tls_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

namespace bulwark::daemon {

namespace {

constexpr std::size_t kMaxConnections = 64;
constexpr std::size_t kMaxPendingOut = 16u << 20;  // a subscriber that stops reading is dropped
// Unauthenticated connections (handshake not done) per source address: one host cannot take
// every slot with idle handshakes and lock the administrators out.
constexpr std::size_t kMaxHandshakesPerAddress = 4;

// "10.99.0.5:51234" / "[2001:db8::5]:51234" -> the address part.
std::string hostOf(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

std::string peerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
}

}  // namespace

std::optional<TlsListenConfig> tlsConfigOf(const policies::Policy& policy) {
  if (!policy.gateway || !policy.gateway->control) return std::nullopt;
  const auto& c = *policy.gateway->control;
  TlsListenConfig out;
  out.address = c.listen.str();
  out.port = c.port;
  for (const auto& g : c.change) out.roles.change.insert(g.name);
  for (const auto& g : c.view) out.roles.view.insert(g.name);
  return out;
}

TlsControlServer::TlsControlServer(EventLoop& loop, TlsFiles files, RequestHandler handler, DeniedHandler denied,
                                   Log log)
    : loop_(loop), contexts_(std::move(files)), handler_(std::move(handler)), denied_(std::move(denied)),
      log_(std::move(log)) {}

TlsControlServer::~TlsControlServer() {
  if (sweepTimer_) loop_.cancel(*sweepTimer_);
  for (auto& [fd, c] : conns_) loop_.unwatch(fd);
  closeListener();
}

void TlsControlServer::closeListener() {
  if (listenFd_.valid()) loop_.unwatch(listenFd_.get());
  listenFd_.reset();
}

gateway::Status TlsControlServer::configure(const std::optional<TlsListenConfig>& config) {
  bool sameSocket = config && config_ && config->address == config_->address && config->port == config_->port &&
                    listenFd_.valid();
  if (sameSocket) {
    config_ = config;
    return gateway::okStatus();
  }
  closeListener();
  config_.reset();
  if (!config) return gateway::okStatus();

  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, config->address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(config->port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, config->address.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(config->port);
    len = sizeof *v6;
  } else {
    return gateway::Error{"control listen address '" + config->address + "' is not an IP address"};
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return gateway::sysError("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  // The management address may appear after the daemon starts (the links are reconciled,
  // or the VLAN interface comes up later): bind to it regardless. The socket still accepts
  // only on that one address.
  ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  std::string where = (family == AF_INET6 ? "[" + config->address + "]" : config->address) + ":" +
                      std::to_string(config->port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) return gateway::sysError("bind " + where, errno);
  if (::listen(fd.get(), 32) != 0) return gateway::sysError("listen " + where, errno);
  auto w = loop_.watch(fd.get(), EPOLLIN, [this](std::uint32_t) { onAccept(); });
  if (!w) return w.error();
  listenFd_ = std::move(fd);
  config_ = config;
  // Load the certificates now, so a broken PKI shows at startup rather than at the first client.
  auto ctx = context();
  if (!ctx) log_("tls: " + where + ": no usable certificates yet (connections are refused until they load): " +
                 ctx.error().message);
  return gateway::okStatus();
}

void TlsControlServer::onAccept() {
  for (;;) {
    UniqueFd fd(::accept4(listenFd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN, or a transient error: try again on the next event
    if (conns_.size() >= kMaxConnections) continue;  // closed by UniqueFd
    std::string address = peerAddress(fd.get());
    std::size_t handshaking = 0;
    for (const auto& [other, oc] : conns_) {
      if (!oc->established && hostOf(oc->peer.address) == hostOf(address)) ++handshaking;
    }
    if (handshaking >= kMaxHandshakesPerAddress) {
      log_("tls: refusing " + address + ": " + std::to_string(handshaking) + " handshakes from it already pending");
      continue;
    }
    auto ctx = context();  // reloads ca.crt / crl.pem / gateway.* when they changed
    if (!ctx) {
      log_("tls: refusing " + address + ": " + ctx.error().message);
      continue;
    }
    // Requests and replies are single small messages: no Nagle delay (with the client's
    // delayed ACK it would add ~40 ms to every exchange that follows a partial segment).
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->ssl.reset(SSL_new(*ctx));
    if (!c->ssl || SSL_set_fd(c->ssl.get(), fd.get()) != 1) {
      log_("tls: SSL_new: " + ossl::errorQueueText());
      continue;
    }
    c->peer.tls = true;
    c->peer.uid = static_cast<uid_t>(-1);
    c->peer.gid = static_cast<gid_t>(-1);
    c->peer.address = address;
    c->pkiLoad = contexts_.loads();
    c->since = c->lastActivity = Clock::now();
    int raw = fd.get();
    c->fd = std::move(fd);
    Conn& ref = *c;
    conns_[raw] = std::move(c);
    auto w = loop_.watch(raw, EPOLLIN, [this, raw](std::uint32_t ev) { onEvent(raw, ev); });
    if (!w) {
      conns_.erase(raw);
      continue;
    }
    if (!sweepTimer_) sweepTimer_ = loop_.after(std::chrono::seconds(1), [this] { sweep(); });
    handshake(ref);  // the ClientHello may already be there
  }
}

void TlsControlServer::onEvent(int fd, std::uint32_t events) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (!c.established) {
    handshake(c);
    return;
  }
  if (events & EPOLLOUT) flush(c);
  if (conns_.count(fd) == 0) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readRequests(c);
}

void TlsControlServer::handshake(Conn& c) {
  int fd = c.fd.get();
  ERR_clear_error();
  int r = SSL_accept(c.ssl.get());
  if (r != 1) {
    int err = SSL_get_error(c.ssl.get(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      rearm(c, err == SSL_ERROR_WANT_WRITE);
      return;
    }
    long verify = SSL_get_verify_result(c.ssl.get());
    std::string why = verify != X509_V_OK ? std::string("client certificate: ") + X509_verify_cert_error_string(verify)
                                          : ossl::errorQueueText();
    if (why.empty()) why = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ? "connection closed" : "failed";
    log_("tls: " + c.peer.address + " refused at the handshake: " + why);
    drop(fd);
    return;
  }
  // The handshake verified the certificate against the context it started with; if the PKI
  // files were reloaded meanwhile, verify it against the current ones (else a certificate
  // revoked during its own handshake would get in).
  auto now = context();
  if (conns_.count(fd) == 0) return;
  if (!now || c.pkiLoad != contexts_.loads()) {
    auto ok = now ? verifyPeerAgain(*now, c.ssl.get()) : gateway::Status(now.error());
    if (!ok) {
      log_("tls: " + c.peer.address + " refused at the handshake: client certificate: " + ok.error().message +
           " (the PKI files changed during the handshake)");
      drop(fd);
      return;
    }
  }
  c.established = true;
  c.lastActivity = Clock::now();
  X509* cert = SSL_get0_peer_certificate(c.ssl.get());  // verified (chain, CRL, purpose) by now
  auto id = certIdentity(cert);
  if (id) {
    c.peer.certCn = id->cn;
    c.peer.certGroup = id->group;
    c.peer.certSerial = id->serial;
    c.peer.user = id->cn;
  } else {
    c.peer.certCn = "?";
    c.peer.certGroup = "?";
  }
  c.peer.role = roleForCertificate(id, config_ ? config_->roles : CertRoles{});
  if (c.peer.role == gateway::Role::None) {
    // Refused at the first request (with the reason), as on the Unix socket.
    log_("tls: " + c.peer.who() + " has no role (group not in gateway.control)");
  }
  readRequests(c);  // a request may have come with the handshake's last flight
}

void TlsControlServer::readRequests(Conn& c) {
  int fd = c.fd.get();
  std::array<char, 65536> buf{};
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(c.ssl.get(), buf.data(), static_cast<int>(buf.size()));
    if (n <= 0) {
      int err = SSL_get_error(c.ssl.get(), n);
      if (err == SSL_ERROR_WANT_READ) break;
      if (err == SSL_ERROR_WANT_WRITE) {  // a key update needs to send first
        rearm(c, true);
        return;
      }
      drop(fd);  // closed (close_notify or EOF) or a TLS error
      return;
    }
    c.lastActivity = Clock::now();
    if (!c.in.append(std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
      c.closeAfterWrite = true;
      send(c, gateway::errorReply(nullptr, gateway::ErrorCode::BadRequest, "message too large"));
      return;
    }
    while (auto line = c.in.next()) {
      if (line->empty()) continue;
      auto d = dispatchRequest(c.peer, *line, handler_, denied_);
      // The handler may have run for a while (apply): the connection may be gone.
      if (conns_.count(fd) == 0) return;
      if (d.subscribe) c.subscribed = true;
      if (d.close) c.closeAfterWrite = true;
      send(c, d.reply);
      if (conns_.count(fd) == 0 || c.closeAfterWrite) return;
    }
  }
  rearm(c, !c.out.empty());
}

void TlsControlServer::send(Conn& c, const nlohmann::json& msg) {
  c.out += gateway::frame(msg);
  flush(c);
}

void TlsControlServer::flush(Conn& c) {
  int fd = c.fd.get();
  while (!c.out.empty()) {
    ERR_clear_error();
    int chunk = static_cast<int>(std::min<std::size_t>(c.out.size(), INT_MAX / 2));
    int n = SSL_write(c.ssl.get(), c.out.data(), chunk);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    int err = SSL_get_error(c.ssl.get(), n);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) break;
    drop(fd);
    return;
  }
  if (c.out.empty() && c.closeAfterWrite) {
    SSL_shutdown(c.ssl.get());  // best effort close_notify; we do not wait for the peer's
    drop(fd);
    return;
  }
  if (c.out.size() > kMaxPendingOut) {
    drop(fd);
    return;
  }
  rearm(c, !c.out.empty());
}

void TlsControlServer::rearm(Conn& c, bool wantWrite) {
  int fd = c.fd.get();
  auto w = loop_.watch(fd, EPOLLIN | (wantWrite ? static_cast<std::uint32_t>(EPOLLOUT) : 0u),
                       [this, fd](std::uint32_t ev) { onEvent(fd, ev); });
  if (!w) drop(fd);
}

void TlsControlServer::drop(int fd) {
  loop_.unwatch(fd);
  conns_.erase(fd);  // SSL_free, then close(): the members' destructors in reverse order
}

gateway::Result<SSL_CTX*> TlsControlServer::context() {
  auto ctx = contexts_.current();
  if (contexts_.loads() == checkedLoads_) return ctx;
  checkedLoads_ = contexts_.loads();
  if (!ctx) {
    // Nothing to check against: keep the open connections (their certificates verified
    // against the last PKI that loaded) and check them when the files load again.
    if (!conns_.empty()) {
      log_("tls: the PKI files changed but do not load (" + ctx.error().message + "); new connections are refused, " +
           std::to_string(conns_.size()) + " open connection(s) are checked again once they load");
    }
    return ctx;
  }
  recheckConnections(*ctx);
  return ctx;
}

void TlsControlServer::recheckConnections(SSL_CTX* ctx) {
  struct Failed {
    int fd;
    Peer peer;
    std::string why;
  };
  std::vector<Failed> failed;
  for (const auto& [fd, c] : conns_) {
    if (!c->established) continue;  // verified at the end of its handshake (handshake())
    auto ok = verifyPeerAgain(ctx, c->ssl.get());
    if (!ok) failed.push_back({fd, c->peer, ok.error().message});
  }
  // Close them all first: the audit entries below are broadcast to subscribers, and a
  // revoked subscriber must not receive them.
  for (const auto& f : failed) closeNoLongerValid(f.fd, f.why);
  for (const auto& f : failed) {
    // who(): "CN=alice, OU=netops (certificate <serial>, <address>)"; no key material.
    log_("tls: closed the connection of " + f.peer.who() +
         ": its certificate no longer verifies after the PKI reload (" + f.why + ")");
    if (denied_) denied_(f.peer, "open connection (certificate: " + f.why + ")");
  }
}

void TlsControlServer::closeNoLongerValid(int fd, const std::string& why) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  // One last line and a close_notify, best effort: undelivered replies and events are
  // dropped, and a client that does not read cannot hold the connection open.
  auto notice = gateway::frame(gateway::errorReply(
      nullptr, gateway::ErrorCode::Denied,
      "permission denied: " + c.peer.who() + ": certificate no longer valid (" + why + "); connection closed"));
  ERR_clear_error();
  if (c.out.empty()) (void)SSL_write(c.ssl.get(), notice.data(), static_cast<int>(notice.size()));
  SSL_shutdown(c.ssl.get());
  ERR_clear_error();
  drop(fd);
}

void TlsControlServer::sweep() {
  sweepTimer_.reset();
  // A revocation must also end the sessions opened before it, without waiting for the next
  // new connection to notice the changed files: four stat() calls a second.
  (void)context();
  auto now = Clock::now();
  std::vector<int> expired;
  for (const auto& [fd, c] : conns_) {
    if (!c->established && now - c->since > kHandshakeTimeout) {
      log_("tls: " + c->peer.address + " did not finish the handshake in " +
           std::to_string(kHandshakeTimeout.count()) + " s");
      expired.push_back(fd);
    } else if (c->established && !c->subscribed && now - c->lastActivity > kIdleTimeout) {
      expired.push_back(fd);
    }
  }
  for (int fd : expired) drop(fd);
  if (!conns_.empty()) sweepTimer_ = loop_.after(std::chrono::seconds(1), [this] { sweep(); });
}

void TlsControlServer::broadcast(const nlohmann::json& event) {
  std::vector<int> targets;
  for (auto& [fd, c] : conns_) {
    if (c->subscribed && c->established) targets.push_back(fd);
  }
  for (int fd : targets) {
    auto it = conns_.find(fd);
    if (it != conns_.end()) send(*it->second, event);
  }
}

std::size_t TlsControlServer::subscribers() const {
  std::size_t n = 0;
  for (const auto& [fd, c] : conns_) n += c->subscribed ? 1 : 0;
  return n;
}

}  // namespace bulwark::daemon
