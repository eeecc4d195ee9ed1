#pragma once
// The remote control API: TCP + TLS 1.3 with client certificates from Bulwark's CA, on the
// one address the policy names (gateway.control), speaking the same newline-delimited JSON
// protocol as the Unix socket (bulwark/gateway/protocol.h). The role comes from the
// certificate's group (OU) through the policy's change/view lists (tls_context.h); the
// audit trail and history name the certificate (Peer::who()).
//
// Everything runs on the daemon's epoll loop: non-blocking accept, SSL_accept driven by
// EPOLLIN/EPOLLOUT, SSL_read/SSL_write with partial writes. Bounds: a handshake must finish
// within kHandshakeTimeout, a connection that sends nothing for kIdleTimeout is closed
// (subscribers of "events" excepted: they only listen), a request line is at most
// gateway::kMaxMessageBytes, unsent replies/events at most 16 MiB, at most 64 connections
// and at most 4 unfinished handshakes per source address.
//
// Revocation reaches open connections too: while connections are open the PKI files are
// checked once a second (stat), and after each reload (ca.crt, crl.pem, gateway.*) every
// established connection's client certificate is verified again against the new CA and CRL
// (verifyPeerAgain). One that no longer verifies gets a last error line, a close_notify, and
// is closed; the log and the audit trail (a "denied" entry through the DeniedHandler) name
// the certificate's CN, group, serial and address, and OpenSSL's reason. PKI files that do
// not load close nothing (the check runs again when they do); new connections are refused
// meanwhile.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "bulwark/policies/model.h"
#include "event_loop.h"
#include "handlers.h"  // dispatchRequest: the request path shared with the Unix socket
#include "peer_auth.h"
#include "tls_context.h"

namespace bulwark::daemon {

inline constexpr std::chrono::seconds kHandshakeTimeout{10};
inline constexpr std::chrono::seconds kIdleTimeout{300};

struct TlsListenConfig {
  std::string address;  // an IP address literal (v4 or v6), from the policy
  std::uint16_t port = 9443;
  CertRoles roles;
  bool operator==(const TlsListenConfig&) const = default;
};

// gateway.control of a loaded policy; nullopt when the policy has none.
[[nodiscard]] std::optional<TlsListenConfig> tlsConfigOf(const policies::Policy& policy);

class TlsControlServer {
 public:
  using Log = std::function<void(const std::string&)>;
  TlsControlServer(EventLoop& loop, TlsFiles files, RequestHandler handler, DeniedHandler denied, Log log);
  ~TlsControlServer();
  TlsControlServer(const TlsControlServer&) = delete;
  TlsControlServer& operator=(const TlsControlServer&) = delete;

  // Listen as `config` says (nullopt: stop listening). A changed address or port re-binds;
  // connections already authenticated stay (their role was granted by the policy in force
  // when they connected). Changed roles apply to new connections.
  gateway::Status configure(const std::optional<TlsListenConfig>& config);
  [[nodiscard]] const std::optional<TlsListenConfig>& config() const { return config_; }

  void broadcast(const nlohmann::json& event);
  [[nodiscard]] std::size_t subscribers() const;
  [[nodiscard]] std::size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    UniqueFd fd;
    SslPtr ssl;
    Peer peer;
    gateway::LineFramer in;
    std::string out;
    bool established = false;  // handshake done
    bool subscribed = false;
    bool closeAfterWrite = false;
    unsigned pkiLoad = 0;            // contexts_.loads() of the context the handshake uses
    Clock::time_point since;         // accept time (handshake timeout)
    Clock::time_point lastActivity;  // idle timeout
  };
  void onAccept();
  void onEvent(int fd, std::uint32_t events);
  void handshake(Conn& c);
  void readRequests(Conn& c);
  void send(Conn& c, const nlohmann::json& msg);
  void flush(Conn& c);
  void rearm(Conn& c, bool wantWrite);
  void drop(int fd);
  void sweep();
  void closeListener();
  // contexts_.current(), and after a reload the re-check of the open connections.
  gateway::Result<SSL_CTX*> context();
  void recheckConnections(SSL_CTX* ctx);
  void closeNoLongerValid(int fd, const std::string& why);

  EventLoop& loop_;
  TlsContextSource contexts_;
  RequestHandler handler_;
  DeniedHandler denied_;
  Log log_;
  std::optional<TlsListenConfig> config_;
  UniqueFd listenFd_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  std::optional<EventLoop::TimerId> sweepTimer_;
  unsigned checkedLoads_ = 0;  // contexts_.loads() the open connections were last checked against
};

}  // namespace bulwark::daemon
