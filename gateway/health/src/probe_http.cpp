// HTTP(S) GET with cpp-httplib (Debian's libcpp-httplib, built with OpenSSL): no hand-written
// HTTP. One connection per probe (no keep-alive: a probe must see a backend that stopped
// accepting, not a connection it accepted long ago).
#include <httplib.h>

#include <algorithm>
#include <chrono>

#include "bulwark/health/probe.h"
#include "connect.h"

namespace bulwark::health {
namespace {

std::string httplibError(httplib::Error e, const Target& t) {
  switch (e) {
    case httplib::Error::Connection: return "connection failed (refused or " + detail::timedOut(t) + ")";
    case httplib::Error::Read: return "read failed (closed or " + detail::timedOut(t) + ")";
    case httplib::Error::Write: return "write failed";
    case httplib::Error::SSLConnection: return "TLS handshake failed";
    case httplib::Error::SSLServerVerification: return "TLS server verification failed";
    case httplib::Error::ConnectionTimeout: return "connect " + detail::timedOut(t);
    default: return "request failed (" + httplib::to_string(e) + ")";
  }
}

template <typename Client>
ProbeResult get(Client& cli, const Target& t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.timeout).count();
  cli.set_connection_timeout(us / 1000000, us % 1000000);
  cli.set_read_timeout(us / 1000000, us % 1000000);
  cli.set_write_timeout(us / 1000000, us % 1000000);
  cli.set_keep_alive(false);
  cli.set_follow_location(false);
  const auto start = std::chrono::steady_clock::now();
  auto res = cli.Get(t.path);
  ProbeResult r;
  r.latencyMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!res) {
    r.error = httplibError(res.error(), t);
    return r;
  }
  const int status = res->status;
  const bool expected = t.expect.empty() ? status == 200
                                         : std::find(t.expect.begin(), t.expect.end(), status) != t.expect.end();
  r.ok = expected;
  if (!expected) r.error = "status " + std::to_string(status);
  return r;
}

}  // namespace

ProbeResult probeHttp(const Target& t) {
  // With a server name: connect to the address, but say the name (Host header, SNI).
  const std::string addr = t.address.str();
  const std::string host = t.serverName.empty() ? addr : t.serverName;
  if (t.type == CheckType::Https) {
    httplib::SSLClient cli(host, t.port);
    cli.enable_server_certificate_verification(false);
    if (!t.serverName.empty()) cli.set_hostname_addr_map({{host, addr}});
    return get(cli, t);
  }
  httplib::Client cli(host, t.port);
  if (!t.serverName.empty()) cli.set_hostname_addr_map({{host, addr}});
  return get(cli, t);
}

}  // namespace bulwark::health
