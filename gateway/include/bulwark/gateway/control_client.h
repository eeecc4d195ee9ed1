#pragma once
// A blocking client of the control socket: one request at a time, replies matched by id;
// events read one by one after subscribe.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "bulwark/gateway/result.h"

namespace bulwark::gateway {

// The remote API (bulwarkd's gateway.control listener): TLS 1.3 with a client certificate
// from Bulwark's CA.
struct TlsClientOptions {
  std::string host;            // address or name of the daemon's control listener
  std::uint16_t port = 9443;
  std::string cert;            // PKCS#12 (.p12/.pfx) bundle, or a PEM certificate with `key`
  std::string key;             // PEM private key (PEM certificates only)
  std::string password;        // PKCS#12 password
  std::string ca;              // PEM CA certificate to verify the daemon with (Bulwark's CA);
                               // empty: the CA certificate inside the PKCS#12 bundle
  std::string serverName;      // name or address the daemon's certificate must carry
                               // (its vpn.local_id); empty: `host`
  std::chrono::milliseconds connectTimeout{10000};
  // > 0: the TLS handshake and every send are bounded by this too (SO_RCVTIMEO during the
  // handshake, SO_SNDTIMEO throughout); replies are bounded by call()'s timeout. 0: unbounded
  // (bulwarkctl: a busy daemon may take long to read a large request).
  std::chrono::milliseconds ioTimeout{0};
};

struct TlsState;
struct TlsStateDelete {
  void operator()(TlsState* s) const;
};

class ControlClient {
 public:
  [[nodiscard]] static Result<ControlClient> connect(const std::string& socketPath);
  // Connects, completes the TLS handshake (the daemon's certificate checked against the CA
  // and serverName) and returns a client that speaks the same protocol.
  [[nodiscard]] static Result<ControlClient> connectTls(const TlsClientOptions& options);
  ControlClient(ControlClient&& o) noexcept;
  ControlClient& operator=(ControlClient&& o) noexcept;
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;
  ~ControlClient();

  // Sends {"id": n, "op": op, ...args} and waits for the reply with that id (events arriving
  // meanwhile are dropped). Transport errors are Errors; a reply with ok=false is a value.
  [[nodiscard]] Result<nlohmann::json> call(std::string_view op, nlohmann::json args = nlohmann::json::object(),
                                            std::chrono::milliseconds timeout = std::chrono::minutes(5));
  // The next message (after an "events" call). Error on EOF or timeout.
  [[nodiscard]] Result<nlohmann::json> readMessage(std::chrono::milliseconds timeout);

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  [[nodiscard]] Result<std::size_t> sendSome(const char* data, std::size_t size);
  [[nodiscard]] Result<std::size_t> recvSome(char* data, std::size_t size);  // 0 = closed
  int fd_ = -1;
  std::unique_ptr<TlsState, TlsStateDelete> tls_;  // null: the Unix socket, plain
  long nextId_ = 1;
  LineFramer framer_;
};

}  // namespace bulwark::gateway
