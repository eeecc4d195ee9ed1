#include "metrics.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "vpn_kind.h"

namespace bulwark::daemon {

namespace {

std::string esc(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string renderMetrics(const CounterReport& c, const ReconcilerStats& s, int revision, bool pending,
                          double scrapeSeconds) {
  std::ostringstream o;
  auto series = [&o](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  series("bulwark_rule_packets_total", "counter", "Packets matched per policy rule (origin = policy file:line).");
  for (const auto& r : c.rules) {
    o << "bulwark_rule_packets_total{rule=\"" << esc(r.rule) << "\",origin=\"" << esc(r.origin) << "\"} " << r.packets
      << '\n';
  }
  series("bulwark_rule_bytes_total", "counter", "Bytes matched per policy rule.");
  for (const auto& r : c.rules) {
    o << "bulwark_rule_bytes_total{rule=\"" << esc(r.rule) << "\",origin=\"" << esc(r.origin) << "\"} " << r.bytes
      << '\n';
  }
  auto pairSeries = [&](const char* name, const char* help, auto field) {
    series(name, "counter", help);
    for (const auto& p : c.pairs) {
      o << name << "{from=\"" << esc(p.from) << "\",to=\"" << esc(p.to) << "\"} " << field(p) << '\n';
    }
  };
  pairSeries("bulwark_zone_packets_total",
             "Packets decided in a zone pair (its own rules and its default drop; rules shared by several pairs "
             "are not split).",
             [](const PairTotal& p) { return p.packets; });
  pairSeries("bulwark_zone_bytes_total", "Bytes decided in a zone pair.", [](const PairTotal& p) { return p.bytes; });
  pairSeries("bulwark_zone_drop_packets_total", "Packets dropped by the default deny of a zone pair.",
             [](const PairTotal& p) { return p.dropPackets; });
  pairSeries("bulwark_zone_drop_bytes_total", "Bytes dropped by the default deny of a zone pair.",
             [](const PairTotal& p) { return p.dropBytes; });
  const auto& ct = c.conntrack;
  auto scalar = [&o](const char* name, const char* type, const char* help, auto value) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
  };
  scalar("bulwark_applies_total", "counter", "Applies that changed the kernel.", s.appliesOk);
  scalar("bulwark_apply_failures_total", "counter", "Applies the kernel refused.", s.appliesFailed);
  o << "# HELP bulwark_apply_duration_seconds Time spent writing applies.\n"
       "# TYPE bulwark_apply_duration_seconds summary\n"
    << "bulwark_apply_duration_seconds_sum " << s.applySecondsSum << "\nbulwark_apply_duration_seconds_count "
    << s.appliesOk << '\n';
  scalar("bulwark_last_apply_duration_seconds", "gauge", "Duration of the last apply.", s.lastApplySeconds);
  scalar("bulwark_rollbacks_total", "counter", "Rollbacks (confirm timeouts and rollback requests).", s.rollbacks);
  scalar("bulwark_drift_detected_total", "counter", "Foreign changes to Bulwark's state detected.", s.driftDetected);
  scalar("bulwark_drift_repairs_total", "counter", "Foreign changes reverted.", s.driftRepairs);
  scalar("bulwark_revision", "gauge", "Current policy revision.", revision);
  scalar("bulwark_confirm_pending", "gauge", "1 while an apply awaits confirmation.", pending ? 1 : 0);
  if (ct.entries >= 0) scalar("bulwark_conntrack_entries", "gauge", "Conntrack entries in use.", ct.entries);
  if (ct.limit >= 0) scalar("bulwark_conntrack_limit", "gauge", "Conntrack table limit (nf_conntrack_max).", ct.limit);
  scalar("bulwark_scrape_duration_seconds", "gauge", "Time to read the counters from the kernel.", scrapeSeconds);
  return o.str();
}

std::string renderTunnelMetrics(const nlohmann::json& tunnels) {
  std::ostringstream o;
  std::size_t up = 0;
  for (const auto& t : tunnels) up += t.value("state", std::string()) == "ESTABLISHED" ? 1 : 0;
  o << "# HELP bulwark_tunnels_up Admin tunnels established.\n# TYPE bulwark_tunnels_up gauge\nbulwark_tunnels_up " << up
    << '\n';
  for (const char* dir : {"in", "out"}) {
    std::string name = std::string("bulwark_tunnel_bytes_") + dir + "_total";
    o << "# HELP " << name << " Bytes " << dir << " per admin tunnel (ESP payload, summed over its CHILD_SAs).\n"
      << "# TYPE " << name << " counter\n";
    for (const auto& t : tunnels) {
      o << name << "{user=\"" << esc(t.value("user", std::string())) << "\",group=\""
        << esc(t.value("group", std::string())) << "\",virtual_ip=\"" << esc(t.value("virtual_ip", std::string()))
        << "\"} " << t.value(std::string("bytes_") + dir, std::uint64_t{0}) << '\n';
    }
  }
  return o.str();
}

std::string collectMetrics(const Reconciler& r, const std::string& viciUri) {
  auto start = std::chrono::steady_clock::now();
  auto counters = collectCounters();
  CounterReport report;
  if (counters) report = std::move(*counters);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto text = renderMetrics(report, r.stats(), r.currentRevision(), r.pendingConfirm(), secs);
  if (!counters) text += "# counters unavailable: " + counters.error().message + "\n";
  if (!viciUri.empty()) {
    auto tunnels = tunnelRows(viciUri);
    text += tunnels ? renderTunnelMetrics(*tunnels) : "# tunnels unavailable: " + tunnels.error().message + "\n";
  }
  return text;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(EventLoop& loop, const std::string& address,
                                                             const Reconciler& r, std::string viciUri) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return gateway::Error{"metrics address must be HOST:PORT: " + address};
  std::string host = address.substr(0, colon);
  int port = std::atoi(address.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return gateway::Error{"bad metrics port in " + address};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *v6;
  } else {
    return gateway::Error{"metrics address must be a literal IP: " + address};
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return gateway::sysError("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return gateway::sysError("bind " + address, errno);
  if (::listen(fd.get(), 16) != 0) return gateway::sysError("listen " + address, errno);
  std::unique_ptr<MetricsServer> s(new MetricsServer(loop, std::move(fd), r));
  s->viciUri_ = std::move(viciUri);
  auto* raw = s.get();
  auto w = loop.watch(raw->fd_.get(), EPOLLIN, [raw](std::uint32_t) { raw->onAccept(); });
  if (!w) return w.error();
  return s;
}

MetricsServer::~MetricsServer() { loop_.unwatch(fd_.get()); }

void MetricsServer::onAccept() {
  for (;;) {
    UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c.valid()) return;
    timeval tv{2, 0};
    ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    // One short request per connection, read with a small deadline so a silent client cannot
    // hold the loop (the scrape itself is what takes time).
    std::string req;
    char buf[2048];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{c.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
    }
    std::string status = "200 OK", body, type = "text/plain; version=0.0.4; charset=utf-8";
    if (req.rfind("GET /metrics ", 0) == 0 || req.rfind("GET /metrics?", 0) == 0) {
      body = collectMetrics(r_, viciUri_);
      ::malloc_trim(0);  // the observed table of a large ruleset is freed again right away
    } else if (req.rfind("GET ", 0) == 0) {
      status = "404 Not Found";
      body = "try /metrics\n";
    } else {
      status = "405 Method Not Allowed";
      body = "GET /metrics only\n";
    }
    std::string resp = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                       "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    std::size_t off = 0;
    while (off < resp.size()) {
      ssize_t n = ::send(c.get(), resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  }
}

}  // namespace bulwark::daemon
