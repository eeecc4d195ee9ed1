// ControlClient over TLS 1.3 (the daemon's gateway.control listener), OpenSSL 3. Blocking:
// the client does one thing at a time. The daemon is authenticated by Bulwark's CA and the
// name (or address) its certificate carries; we authenticate with an admin certificate.
#include <netdb.h>
#include <sys/time.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <memory>

#include "bulwark/base/openssl.h"
#include "bulwark/gateway/control_client.h"

namespace bulwark::gateway {

struct TlsState {
  ossl::SslCtxPtr ctx;
  ossl::SslPtr ssl;  // declared after ctx: freed first
  ~TlsState() {
    if (ssl) SSL_shutdown(ssl.get());  // one close_notify; not waiting for the daemon's
  }
};

void TlsStateDelete::operator()(TlsState* s) const { delete s; }

namespace {

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct AddrFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

std::string sslErrors() {
  auto msg = ossl::errorQueueText();
  return msg.empty() ? "unknown TLS error" : msg;
}

bool endsWith(const std::string& s, const char* suffix) {
  std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

Status loadIdentity(SSL_CTX* ctx, const TlsClientOptions& o, bool& caFromBundle) {
  caFromBundle = false;
  if (endsWith(o.cert, ".p12") || endsWith(o.cert, ".pfx")) {
    std::unique_ptr<FILE, FileClose> f(std::fopen(o.cert.c_str(), "rb"));
    if (!f) return sysError("cannot read " + o.cert, errno);
    ossl::P12Ptr p12(d2i_PKCS12_fp(f.get(), nullptr));
    if (!p12) return Error{o.cert + ": not a PKCS#12 file: " + sslErrors()};
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* chain = nullptr;
    if (PKCS12_parse(p12.get(), o.password.c_str(), &key, &cert, &chain) != 1) {
      return Error{o.cert + ": cannot open the PKCS#12 bundle (wrong password?): " + sslErrors()};
    }
    ossl::PkeyPtr k(key);
    ossl::X509Ptr c(cert);
    ossl::X509StackOwnPtr ch(chain);
    if (SSL_CTX_use_certificate(ctx, c.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, k.get()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return Error{o.cert + ": " + sslErrors()};
    }
    if (o.ca.empty() && ch) {  // the bundle's CA (bulwarkctl pki issue puts it there)
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      for (int i = 0; i < sk_X509_num(ch.get()); ++i) X509_STORE_add_cert(store, sk_X509_value(ch.get(), i));
      caFromBundle = sk_X509_num(ch.get()) > 0;
    }
    return okStatus();
  }
  if (o.key.empty()) return Error{"--cert " + o.cert + " is not a .p12/.pfx bundle: give its PEM key with --key"};
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return Error{o.cert + " / " + o.key + ": " + sslErrors()};
  }
  return okStatus();
}

Result<int> connectTcp(const TlsClientOptions& o) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &res);
  if (rc != 0) return Error{"cannot resolve " + o.host + ": " + gai_strerror(rc)};
  std::unique_ptr<addrinfo, AddrFree> list(res);
  std::string lastError = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      r = ::poll(&p, 1, static_cast<int>(o.connectTimeout.count()));
      int soErr = 0;
      socklen_t len = sizeof soErr;
      if (r == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr == 0) {
        r = 0;
      } else {
        errno = r == 0 ? ETIMEDOUT : soErr;
        r = -1;
      }
    }
    if (r == 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // blocking from here on
      int one = 1;  // small request after the handshake's last flight: no Nagle wait for an ACK
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    lastError = std::strerror(errno);
    ::close(fd);
  }
  return Error{"cannot connect to bulwarkd at " + o.host + ":" + std::to_string(o.port) + ": " + lastError};
}

}  // namespace

Result<ControlClient> ControlClient::connectTls(const TlsClientOptions& o) {
  auto state = std::unique_ptr<TlsState, TlsStateDelete>(new TlsState);
  state->ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!state->ctx) return Error{"SSL_CTX_new: " + sslErrors()};
  SSL_CTX_set_min_proto_version(state->ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(state->ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_verify(state->ctx.get(), SSL_VERIFY_PEER, nullptr);
  bool caFromBundle = false;
  auto id = loadIdentity(state->ctx.get(), o, caFromBundle);
  if (!id) return id.error();
  if (!o.ca.empty()) {
    if (SSL_CTX_load_verify_file(state->ctx.get(), o.ca.c_str()) != 1) return Error{"CA " + o.ca + ": " + sslErrors()};
  } else if (!caFromBundle) {
    return Error{"no CA to check bulwarkd's certificate with: give --ca (Bulwark's ca.crt)"};
  }

  auto fd = connectTcp(o);
  if (!fd) return fd.error();
  ControlClient client(*fd);
  state->ssl.reset(SSL_new(state->ctx.get()));
  if (!state->ssl || SSL_set_fd(state->ssl.get(), *fd) != 1) return Error{"SSL_new: " + sslErrors()};
  std::string name = o.serverName.empty() ? o.host : o.serverName;
  in6_addr probe{};
  bool isAddress = ::inet_pton(AF_INET, name.c_str(), &probe) == 1 || ::inet_pton(AF_INET6, name.c_str(), &probe) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(state->ssl.get());
  if (isAddress) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) return Error{"bad address " + name};
  } else {
    // SNI by SSL_ctrl: SSL_set_tlsext_host_name is a macro with a C cast (-Wold-style-cast).
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(state->ssl.get(), name.c_str()) != 1 || SSL_ctrl(state->ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str())) != 1) {
      return Error{"bad server name " + name};
    }
  }
  auto setTimeout = [fd = *fd](int opt, std::chrono::milliseconds t) {
    timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
  };
  if (o.ioTimeout.count() > 0) {
    setTimeout(SO_RCVTIMEO, o.ioTimeout);
    setTimeout(SO_SNDTIMEO, o.ioTimeout);
  }
  ERR_clear_error();
  const int connected = SSL_connect(state->ssl.get());
  const bool timedOut = connected != 1 && SSL_get_error(state->ssl.get(), connected) == SSL_ERROR_SYSCALL &&
                        (errno == EAGAIN || errno == EWOULDBLOCK);
  if (o.ioTimeout.count() > 0) setTimeout(SO_RCVTIMEO, std::chrono::milliseconds(0));  // reads: poll() bounds them
  if (connected != 1) {
    long v = SSL_get_verify_result(state->ssl.get());
    if (v != X509_V_OK) {
      return Error{"bulwarkd's certificate at " + o.host + " is not trusted: " + X509_verify_cert_error_string(v) +
                   " (expected name " + name + (o.serverName.empty() ? "; give --server-name: the name in its certificate, the "
                                                                  "policy's vpn.local_id)"
                                                                : ")")};
    }
    if (timedOut) {
      return Error{"TLS handshake with bulwarkd at " + o.host + " timed out after " +
                   std::to_string(o.ioTimeout.count()) + " ms"};
    }
    return Error{"TLS handshake with bulwarkd at " + o.host + " failed: " + sslErrors()};
  }
  client.tls_ = std::move(state);
  return client;
}

bool tlsPending(TlsState& s) { return SSL_pending(s.ssl.get()) > 0; }

Result<std::size_t> tlsSend(TlsState& s, const char* data, std::size_t size) {
  ERR_clear_error();
  int n = SSL_write(s.ssl.get(), data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (n > 0) return static_cast<std::size_t>(n);
  int err = SSL_get_error(s.ssl.get(), n);
  if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    // TLS 1.3: our handshake ended before the daemon checked our certificate; it refused it
    // and hung up before we could read its alert.
    return Error{"bulwarkd closed the TLS connection: it refused this certificate (revoked, expired, or not "
                 "from Bulwark's CA; the daemon's log says which)"};
  }
  return Error{"send to bulwarkd: " + sslErrors()};
}

Result<std::size_t> tlsRecv(TlsState& s, char* data, std::size_t size) {
  ERR_clear_error();
  int n = SSL_read(s.ssl.get(), data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (n > 0) return static_cast<std::size_t>(n);
  int err = SSL_get_error(s.ssl.get(), n);
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) return std::size_t{0};
  // In TLS 1.3 the daemon checks our certificate after our handshake finished: a refusal
  // (revoked, unknown CA) arrives here as an alert.
  return Error{"bulwarkd refused the TLS connection: " + sslErrors()};
}

}  // namespace bulwark::gateway
