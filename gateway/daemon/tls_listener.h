#pragma once
// The remote control API: TCP + TLS 1.3 with client certificates from Bulwark's CA, on the
// one address the policy names (gateway.control), speaking the same newline-delimited JSON
// protocol as the Unix socket (bulwark/gateway/protocol.h). The role comes from the
// certificate's group (OU) through the policy's change/view lists (tls_context.h); the
// audit trail and history name the certificate (Peer::who()).
//
// This file adds to the connection core (connection.h) only what TLS needs: the handshake and
// the certificate re-checks. Handshakes have a pool of their own, small and short-lived
// (kMaxHandshakes, kMaxHandshakesPerAddress, kHandshakeTimeout; when it is full the oldest
// handshake that has been pending for a while gives way), so unauthenticated connections never
// hold a slot of an authenticated session. Only a verified certificate gets a slot in the core;
// one whose group has no role gets one refusal line and is closed (audited, rate-limited:
// refusal_log.h). Everything runs on the daemon's epoll loop (non-blocking SSL_accept,
// SSL_read, SSL_write).
//
// Revocation reaches open connections too: while connections are open the PKI files are
// checked once a second (stat), and after each reload (ca.crt, crl.pem, gateway.*) every
// established connection's client certificate is verified again against the new CA and CRL
// (verifyPeerAgain). One that no longer verifies gets a last error line, a close_notify, and
// is closed; the log and the audit trail (a "denied" entry through the DeniedHandler) name
// the certificate's CN, group, serial and address, and OpenSSL's reason. PKI files that do
// not load close nothing (the check runs again when they do); new connections are refused
// meanwhile. Time ends certificates too: every 10 s the open connections are verified again
// as of now, so a certificate that expires, or a CRL past its nextUpdate, ends them within
// 10 s without any file changing. A day before the CRL's nextUpdate the log warns (then once
// an hour), and says when it has passed: from then on every client is refused until
// `bulwarkctl pki crl` (bulwark-crl.timer) renews it. Both become audit entries too
// (crl-expiring, crl-expired: onCrlNotice, CrlAuditGate), once each per CRL.
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "bulwark/policies/model.h"
#include "connection.h"
#include "event_loop.h"
#include "dispatch.h"
#include "peer_auth.h"
#include "rate_limited_log.h"
#include "refusal_log.h"
#include "tls_context.h"

namespace bulwark::daemon {

inline constexpr std::chrono::seconds kHandshakeTimeout{10};
inline constexpr std::size_t kMaxHandshakes = 16;
inline constexpr std::size_t kMaxHandshakesPerAddress = 4;

struct TlsListenConfig {
  std::string address;  // an IP address literal (v4 or v6), from the policy
  std::uint16_t port = 9443;
  CertRoles roles;
  bool operator==(const TlsListenConfig&) const = default;
};

// gateway.control of a loaded policy; nullopt when the policy has none.
[[nodiscard]] std::optional<TlsListenConfig> tlsConfigOf(const policies::Policy& policy);

// The connection core's bounds for TLS: fewer slots than the local socket, per source address.
[[nodiscard]] ConnectionLimits tlsConnectionLimits();

// What the listener says about the CRL's end: nothing while it is more than a day away, a
// warning within the last day, and once it has passed that every TLS client is refused.
struct CrlNotice {
  bool expired = false;
  std::time_t nextUpdate = 0;
  std::string text;  // the log line (no file contents, only the date)
};
[[nodiscard]] std::optional<CrlNotice> crlNoticeAt(std::time_t nextUpdate, std::time_t now);

// The audit trail gets one entry per state of one CRL (expiring, then expired), not the log's
// hourly repetition, and not one per listener (the admin and the peer listener share the PKI).
class CrlAuditGate {
 public:
  // True when `n` is news: another CRL (nextUpdate) or another state of the same one.
  [[nodiscard]] bool news(const CrlNotice& n);

 private:
  std::optional<std::pair<std::time_t, bool>> last_;
};

class TlsControlServer {
 public:
  using Log = std::function<void(const std::string&)>;
  TlsControlServer(EventLoop& loop, TlsFiles files, DispatchContext ctx, JobWorker* parser, Log log,
                   ConnectionLimits limits = tlsConnectionLimits());
  ~TlsControlServer();
  TlsControlServer(const TlsControlServer&) = delete;
  TlsControlServer& operator=(const TlsControlServer&) = delete;

  // Listen as `config` says (nullopt: stop listening). A changed address or port re-binds;
  // connections already authenticated stay (their role was granted by the policy in force
  // when they connected). Changed roles apply to new connections.
  gateway::Status configure(const std::optional<TlsListenConfig>& config);
  [[nodiscard]] const std::optional<TlsListenConfig>& config() const { return config_; }

  // Called with each CRL warning the log gets (see crlNoticeAt), for the audit trail.
  void onCrlNotice(std::function<void(const CrlNotice&)> fn) { crlNotice_ = std::move(fn); }

  void broadcast(const nlohmann::json& event) { conns_.broadcast(event); }
  [[nodiscard]] std::size_t subscribers() const { return conns_.subscribers(); }
  [[nodiscard]] std::size_t connections() const { return conns_.size() + handshakes_.size(); }
  [[nodiscard]] std::size_t handshakes() const { return handshakes_.size(); }

 private:
  struct Handshake {
    UniqueFd fd;
    SslPtr ssl;
    std::string address;
    std::string localAddress;  // the listener's end (revocation keeps this connection)
    unsigned pkiLoad = 0;    // contexts_.loads() of the context the handshake uses
    Clock::time_point since;
    bool heard = false;      // the peer has sent something
    bool draining = false;   // refused after the handshake: our last line is out, reading to EOF
  };
  void onAccept();
  // "" when a new handshake from `host` may start (evicting a stale one if the pool is full),
  // else why not.
  std::string makeRoom(const std::string& host);
  void onHandshakeEvent(int fd, std::uint32_t events);
  void handshake(int fd);
  void established(int fd);
  void drain(int fd);
  void dropHandshake(int fd);
  void closeListener();
  void scheduleSweep();
  void sweep();
  // contexts_.current(), and after a reload the re-check of the open connections.
  gateway::Result<SSL_CTX*> context();
  // `why`: what made the check ("after the PKI reload", "as time passed").
  void recheckConnections(SSL_CTX* ctx, const std::string& why);
  // The log's warning before (and after) the CRL's nextUpdate.
  void warnAboutCrl();

  EventLoop& loop_;
  TlsContextSource contexts_;
  DispatchContext ctx_;
  Log log_;
  RateLimitedLog note_;  // what any host that reaches the port can cause
  std::optional<TlsListenConfig> config_;
  UniqueFd listenFd_;
  std::map<int, std::unique_ptr<Handshake>> handshakes_;
  RefusalLog refusals_;
  ControlConnections conns_;
  std::optional<EventLoop::TimerId> sweepTimer_;
  unsigned checkedLoads_ = 0;  // contexts_.loads() the open connections were last checked against
  Clock::time_point lastTimeCheck_{};   // the last re-check as time passed
  Clock::time_point lastCrlWarning_{};  // the last warning about the CRL's nextUpdate
  bool lastCrlExpired_ = false;         // whether that warning said "expired"
  std::optional<EventLoop::TimerId> crlTimer_;
  std::function<void(const CrlNotice&)> crlNotice_;
};

}  // namespace bulwark::daemon
