// A TLS handshake (OpenSSL) over a connection made within the deadline; the non-blocking
// handshake is polled until the same deadline.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>
#include <memory>

#include "bulwark/health/probe.h"
#include "connect.h"

namespace bulwark::health {
namespace {

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

std::string sslError(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + (e != 0 ? std::string(": ") + buf : std::string());
}

}  // namespace

ProbeResult probeTls(const Target& t) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + t.timeout;
  ProbeResult r;
  auto done = [&](bool ok, std::string error) {
    r.ok = ok;
    r.error = std::move(error);
    r.latencyMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return r;
  };
  std::string err;
  auto fd = detail::connectWithin(t, deadline, err);
  if (!fd.valid()) return done(false, err);
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return done(false, sslError("SSL_CTX_new"));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) return done(false, sslError("SSL_new"));
  if (!t.serverName.empty()) {
    // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it expands to.
    SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(t.serverName.c_str()));
  }
  for (;;) {
    int rc = SSL_connect(ssl.get());
    if (rc == 1) return done(true, "");
    int e = SSL_get_error(ssl.get(), rc);
    short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) {
      return done(false, e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ? "TLS handshake: connection closed"
                                                                             : sslError("TLS handshake failed"));
    }
    pollfd p{fd.get(), events, 0};
    int n = ::poll(&p, 1, detail::msLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return done(false, "TLS handshake " + detail::timedOut(t));
  }
}

}  // namespace bulwark::health
