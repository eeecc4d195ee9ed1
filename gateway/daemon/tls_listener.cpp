#include "tls_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

namespace bulwark::daemon {

namespace {

// A handshake pending this long without finishing may give way to a new connection when the
// handshake pool is full (a real client finishes in milliseconds).
constexpr auto kEvictableAfter = std::chrono::milliseconds(500);
// A refused peer (no role) gets this long to read our last line before the socket closes.
constexpr auto kDrainFor = std::chrono::seconds(2);
constexpr int kAcceptsPerTurn = 64;
// Open connections are verified again this often as time passes (expiry, the CRL's nextUpdate).
constexpr auto kTimeRecheckEvery = std::chrono::seconds(10);
// The CRL is looked at this often while listening; the log warns this long before its end.
constexpr auto kCrlCheckEvery = std::chrono::minutes(1);
constexpr auto kCrlWarnAhead = std::chrono::hours(24);
constexpr auto kCrlWarnEvery = std::chrono::hours(1);

// TLS over a connected TCP socket, after the handshake (SSL_read / SSL_write, non-blocking).
class TlsStream final : public ByteStream {
 public:
  TlsStream(UniqueFd fd, SslPtr ssl) : fd_(std::move(fd)), ssl_(std::move(ssl)) {}
  ~TlsStream() override { ssl_.reset(); }  // SSL_free before the fd closes
  [[nodiscard]] int fd() const override { return fd_.get(); }
  [[nodiscard]] SSL* ssl() const { return ssl_.get(); }
  [[nodiscard]] Result read(char* buf, std::size_t cap) override {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buf, static_cast<int>(std::min<std::size_t>(cap, INT_MAX)));
    if (n > 0) return {Io::Done, static_cast<std::size_t>(n)};
    return outcome(n);
  }
  [[nodiscard]] Result write(const char* data, std::size_t len) override {
    ERR_clear_error();
    int n = SSL_write(ssl_.get(), data, static_cast<int>(std::min<std::size_t>(len, INT_MAX / 2)));
    if (n > 0) return {Io::Done, static_cast<std::size_t>(n)};
    return outcome(n);
  }
  [[nodiscard]] bool buffered() const override { return SSL_pending(ssl_.get()) > 0; }
  void goodbye() override {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());  // one close_notify; we do not wait for the peer's
    ERR_clear_error();
  }

 private:
  Result outcome(int n) {
    int err = SSL_get_error(ssl_.get(), n);
    ERR_clear_error();
    if (err == SSL_ERROR_WANT_READ) return {Io::WantRead, 0};
    if (err == SSL_ERROR_WANT_WRITE) return {Io::WantWrite, 0};
    if (err == SSL_ERROR_ZERO_RETURN) return {Io::Closed, 0};
    return {Io::Failed, 0};
  }
  UniqueFd fd_;
  SslPtr ssl_;
};

// "10.99.0.5:51234" / "[2001:db8::5]:51234" -> the address part.
std::string hostOf(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

std::string peerAddress(int fd, bool local = false) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if ((local ? ::getsockname(fd, sa, &len) : ::getpeername(fd, sa, &len)) != 0) return "?";
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

ConnectionLimits tlsConnectionLimits() {
  ConnectionLimits l;
  l.viewSlots = 32;
  l.changeSlots = 16;
  l.slotsPerKey = 8;
  l.viewPoolBytes = 32u << 20;
  l.changePoolBytes = 64u << 20;
  return l;
}

TlsControlServer::TlsControlServer(EventLoop& loop, TlsFiles files, DispatchContext ctx, JobWorker* parser, Log log,
                                   ConnectionLimits limits)
    : loop_(loop), contexts_(std::move(files)), ctx_(ctx), log_(log), note_(log),
      conns_(loop, "tls", limits, std::move(ctx), parser, std::move(log)) {}

TlsControlServer::~TlsControlServer() {
  if (sweepTimer_) loop_.cancel(*sweepTimer_);
  if (crlTimer_) loop_.cancel(*crlTimer_);
  for (auto& [fd, h] : handshakes_) loop_.unwatch(fd);
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
  if (!config) {
    if (crlTimer_) loop_.cancel(*crlTimer_);
    crlTimer_.reset();
    return gateway::okStatus();
  }

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
  if (crlTimer_) loop_.cancel(*crlTimer_);
  warnAboutCrl();  // now, then every kCrlCheckEvery while the daemon runs
  return gateway::okStatus();
}

void TlsControlServer::onAccept() {
  for (int i = 0; i < kAcceptsPerTurn; ++i) {
    UniqueFd fd(::accept4(listenFd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN, or a transient error: try again on the next event
    std::string address = peerAddress(fd.get());
    if (auto full = makeRoom(hostOf(address)); !full.empty()) {
      note_("tls: refusing " + address + ": " + full);
      continue;  // closed by UniqueFd: no slot, no TLS, no bytes read
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
    auto h = std::make_unique<Handshake>();
    h->ssl.reset(SSL_new(*ctx));
    if (!h->ssl || SSL_set_fd(h->ssl.get(), fd.get()) != 1) {
      log_("tls: SSL_new: " + ossl::errorQueueText());
      continue;
    }
    h->address = address;
    h->localAddress = peerAddress(fd.get(), true);
    h->pkiLoad = contexts_.loads();
    h->since = Clock::now();
    const int raw = fd.get();
    h->fd = std::move(fd);
    handshakes_[raw] = std::move(h);
    auto w = loop_.watch(raw, EPOLLIN, [this, raw](std::uint32_t ev) { onHandshakeEvent(raw, ev); });
    if (!w) {
      handshakes_.erase(raw);
      continue;
    }
    scheduleSweep();
    handshake(raw);  // the ClientHello may already be there
  }
}

std::string TlsControlServer::makeRoom(const std::string& host) {
  std::size_t fromHost = 0;
  for (const auto& [fd, h] : handshakes_) fromHost += hostOf(h->address) == host ? 1 : 0;
  if (fromHost >= kMaxHandshakesPerAddress) {
    return std::to_string(fromHost) + " handshakes from it already pending";
  }
  if (handshakes_.size() < kMaxHandshakes) return {};
  // Full: the oldest handshake that has been pending for a while gives way (a client that
  // connects and sends nothing loses its place to one that is about to authenticate).
  auto victim = handshakes_.end();
  for (auto it = handshakes_.begin(); it != handshakes_.end(); ++it) {
    if (Clock::now() - it->second->since < kEvictableAfter) continue;
    if (victim == handshakes_.end() || it->second->since < victim->second->since) victim = it;
  }
  if (victim == handshakes_.end()) return "the handshake pool (" + std::to_string(kMaxHandshakes) + ") is full";
  dropHandshake(victim->first);
  return {};
}

void TlsControlServer::onHandshakeEvent(int fd, std::uint32_t events) {
  auto it = handshakes_.find(fd);
  if (it == handshakes_.end()) return;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) it->second->heard = true;
  if (it->second->draining) {
    drain(fd);
    return;
  }
  handshake(fd);
}

void TlsControlServer::handshake(int fd) {
  auto it = handshakes_.find(fd);
  if (it == handshakes_.end()) return;
  Handshake& h = *it->second;
  ERR_clear_error();
  int r = SSL_accept(h.ssl.get());
  if (r != 1) {
    int err = SSL_get_error(h.ssl.get(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      auto w = loop_.watch(fd, err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN,
                           [this, fd](std::uint32_t ev) { onHandshakeEvent(fd, ev); });
      if (!w) dropHandshake(fd);
      return;
    }
    long verify = SSL_get_verify_result(h.ssl.get());
    std::string why = verify != X509_V_OK ? std::string("client certificate: ") + X509_verify_cert_error_string(verify)
                                          : ossl::errorQueueText();
    if (why.empty()) why = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ? "connection closed" : "failed";
    note_("tls: " + h.address + " refused at the handshake: " + why);
    dropHandshake(fd);
    return;
  }
  established(fd);
}

void TlsControlServer::established(int fd) {
  auto it = handshakes_.find(fd);
  if (it == handshakes_.end()) return;
  Handshake& h = *it->second;
  // The handshake verified the certificate against the context it started with; if the PKI
  // files were reloaded meanwhile, verify it against the current ones (else a certificate
  // revoked during its own handshake would get in).
  auto now = context();
  if (handshakes_.count(fd) == 0) return;
  if (!now || h.pkiLoad != contexts_.loads()) {
    auto ok = now ? verifyPeerAgain(*now, h.ssl.get()) : gateway::Status(now.error());
    if (!ok) {
      log_("tls: " + h.address + " refused at the handshake: client certificate: " + ok.error().message +
           " (the PKI files changed during the handshake)");
      dropHandshake(fd);
      return;
    }
  }
  Peer peer;
  peer.tls = true;
  peer.uid = static_cast<uid_t>(-1);
  peer.gid = static_cast<gid_t>(-1);
  peer.address = h.address;
  peer.localAddress = h.localAddress;
  X509* cert = SSL_get0_peer_certificate(h.ssl.get());  // verified (chain, CRL, purpose) by now
  auto id = certIdentity(cert);
  if (id) {
    peer.certCn = id->cn;
    peer.certGroup = id->group;
    peer.certSerial = id->serial;
    peer.user = id->cn;
  } else {
    peer.certCn = "?";
    peer.certGroup = "?";
  }
  peer.role = roleForCertificate(id, config_ ? config_->roles : CertRoles{});
  if (peer.role == gateway::Role::None) {
    // Verified, but its group has no role: told why, audited (rate-limited), never a slot.
    note_("tls: " + peer.who() + " has no role (group not in gateway.control)");
    auto line = gateway::frame(gateway::errorReply(nullptr, gateway::ErrorCode::Denied,
                                                   deniedMessage(ctx_, peer, "connect")));
    ERR_clear_error();
    (void)SSL_write(h.ssl.get(), line.data(), static_cast<int>(line.size()));
    SSL_shutdown(h.ssl.get());
    ERR_clear_error();
    // Our side is done; reading on until the peer closes (or kDrainFor) keeps its unread
    // request from turning our close into a reset that would destroy the refusal in flight.
    ::shutdown(fd, SHUT_WR);
    h.draining = true;
    h.since = Clock::now();
    refusals_.refused(peer, ctx_.denied);
    drain(fd);
    return;
  }
  loop_.unwatch(fd);
  auto stream = std::make_unique<TlsStream>(std::move(h.fd), std::move(h.ssl));
  handshakes_.erase(it);
  (void)conns_.admit(std::move(stream), std::move(peer));
}

void TlsControlServer::drain(int fd) {
  auto it = handshakes_.find(fd);
  if (it == handshakes_.end()) return;
  // At most 64 KiB per turn; the rest on the next (kDrainFor bounds the whole): closing with
  // unread bytes would send a reset, which destroys the refusal still on its way.
  std::array<char, 4096> sink{};
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(fd, sink.data(), sink.size(), 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    dropHandshake(fd);  // EOF or an error: done
    return;
  }
  auto w = loop_.watch(fd, EPOLLIN, [this, fd](std::uint32_t ev) { onHandshakeEvent(fd, ev); });
  if (!w) dropHandshake(fd);
}

void TlsControlServer::dropHandshake(int fd) {
  loop_.unwatch(fd);
  handshakes_.erase(fd);  // SSL_free, then close(): the members' destructors in reverse order
}

gateway::Result<SSL_CTX*> TlsControlServer::context() {
  auto ctx = contexts_.current();
  if (contexts_.loads() == checkedLoads_) return ctx;
  checkedLoads_ = contexts_.loads();
  if (!ctx) {
    // Nothing to check against: keep the open connections (their certificates verified
    // against the last PKI that loaded) and check them when the files load again.
    if (conns_.size() > 0) {
      log_("tls: the PKI files changed but do not load (" + ctx.error().message + "); new connections are refused, " +
           std::to_string(conns_.size()) + " open connection(s) are checked again once they load");
    }
    return ctx;
  }
  recheckConnections(*ctx, "after the PKI reload");
  return ctx;
}

void TlsControlServer::recheckConnections(SSL_CTX* ctx, const std::string& why) {
  struct Failed {
    ControlConnections::ConnId id;
    Peer peer;
    std::string why;
  };
  std::vector<Failed> failed;
  conns_.forEach([&](ControlConnections::ConnId id, const Peer& peer, ByteStream& stream) {
    auto* tls = dynamic_cast<TlsStream*>(&stream);
    if (tls == nullptr) return;
    auto ok = verifyPeerAgain(ctx, tls->ssl());
    if (!ok) failed.push_back({id, peer, ok.error().message});
  });
  // Close them all first: the audit entries below are broadcast to subscribers, and a
  // revoked subscriber must not receive them.
  for (const auto& f : failed) {
    conns_.closeWithNotice(f.id, gateway::errorReply(nullptr, gateway::ErrorCode::Denied,
                                                     "permission denied: " + f.peer.who() +
                                                         ": certificate no longer valid (" + f.why +
                                                         "); connection closed"));
  }
  for (const auto& f : failed) {
    // who(): "CN=alice, OU=netops (certificate <serial>, <address>)"; no key material.
    log_("tls: closed the connection of " + f.peer.who() +
         ": its certificate no longer verifies " + why + " (" + f.why + ")");
    if (ctx_.denied) ctx_.denied(f.peer, "open connection (certificate: " + f.why + ")");
  }
}

std::optional<CrlNotice> crlNoticeAt(std::time_t nextUpdate, std::time_t now) {
  const auto left = std::chrono::seconds(nextUpdate - now);
  if (left > kCrlWarnAhead) return std::nullopt;
  char at[32];
  struct tm tm {};
  ::gmtime_r(&nextUpdate, &tm);
  std::strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S UTC", &tm);
  CrlNotice n;
  n.nextUpdate = nextUpdate;
  n.expired = left <= std::chrono::seconds(0);
  if (n.expired) {
    n.text = std::string("the CRL expired at ") + at +
             ": every TLS client is refused until it is renewed (bulwarkctl pki crl; bulwark-crl.timer)";
  } else {
    n.text = std::string("the CRL expires at ") + at + " (in " +
             std::to_string(std::chrono::duration_cast<std::chrono::minutes>(left).count()) +
             " min): renew it (bulwarkctl pki crl; bulwark-crl.timer) or every TLS client is refused then";
  }
  return n;
}

bool CrlAuditGate::news(const CrlNotice& n) {
  const std::pair<std::time_t, bool> state{n.nextUpdate, n.expired};
  if (last_ == state) return false;
  last_ = state;
  return true;
}

void TlsControlServer::warnAboutCrl() {
  crlTimer_ = loop_.after(kCrlCheckEvery, [this] { warnAboutCrl(); });
  // The CRL in use, reloaded (and the open connections re-checked) if its files changed.
  if (!context()) return;  // not loadable: new connections are refused, and the log says so
  auto next = contexts_.crlNextUpdate();
  if (!next) return;
  auto notice = crlNoticeAt(*next, std::time(nullptr));
  if (!notice) return;
  // Every check goes to the audit hook (its CrlAuditGate records each state once); the log
  // repeats once an hour, and at once when the warning turns into "expired".
  if (crlNotice_) crlNotice_(*notice);
  const auto now = Clock::now();
  if (lastCrlWarning_ != Clock::time_point{} && now - lastCrlWarning_ < kCrlWarnEvery &&
      notice->expired == lastCrlExpired_) {
    return;
  }
  lastCrlWarning_ = now;
  lastCrlExpired_ = notice->expired;
  log_("tls: " + notice->text);
}

void TlsControlServer::scheduleSweep() {
  if (sweepTimer_) return;
  sweepTimer_ = loop_.after(std::chrono::seconds(1), [this] {
    sweepTimer_.reset();
    sweep();
  });
}

void TlsControlServer::sweep() {
  // A revocation must also end the sessions opened before it, without waiting for the next
  // new connection to notice the changed files: four stat() calls a second.
  auto ctx = context();
  auto now = Clock::now();
  if (ctx && conns_.size() > 0 && now - lastTimeCheck_ >= kTimeRecheckEvery) {
    lastTimeCheck_ = now;
    recheckConnections(*ctx, "as time passed");
  }
  std::vector<int> expired;
  for (const auto& [fd, h] : handshakes_) {
    if (h->draining && now - h->since > kDrainFor) {
      expired.push_back(fd);
    } else if (!h->draining && now - h->since > kHandshakeTimeout) {
      note_("tls: " + h->address + " did not finish the handshake in " + std::to_string(kHandshakeTimeout.count()) +
            " s");
      expired.push_back(fd);
    }
  }
  for (int fd : expired) dropHandshake(fd);
  if (!handshakes_.empty() || conns_.size() > 0) scheduleSweep();
}

}  // namespace bulwark::daemon
