#include "metrics.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
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
  return renderCounterSeries(c) + renderDaemonSeries(c, s, revision, pending, scrapeSeconds);
}

std::string renderCounterSeries(const CounterReport& c) {
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
  return o.str();
}

std::string renderDaemonSeries(const CounterReport& c, const ReconcilerStats& s, int revision, bool pending,
                               double scrapeSeconds) {
  std::ostringstream o;
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

std::string metricsText(const CounterWorker::Sample& sample, const Reconciler& r, const std::string& viciUri) {
  const auto& counters = sample.counters;
  std::string text;
  if (counters && sample.series) {
    // The bulk was rendered on the worker: only the daemon's own series are left for the loop.
    text.reserve(sample.series->size() + 4096);
    text = *sample.series;
    text += renderDaemonSeries(*counters, r.stats(), r.currentRevision(), r.pendingConfirm(), sample.seconds);
  } else {
    text = renderMetrics(counters ? *counters : CounterReport{}, r.stats(), r.currentRevision(), r.pendingConfirm(),
                         sample.seconds);
  }
  if (!counters) text += "# counters unavailable: " + counters.error().message + "\n";
  if (!viciUri.empty()) {
    auto tunnels = tunnelRows(viciUri);
    text += tunnels ? renderTunnelMetrics(*tunnels) : "# tunnels unavailable: " + tunnels.error().message + "\n";
  }
  return text;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(EventLoop& loop, const std::string& address,
                                                             const Reconciler& r, CounterWorker& counters,
                                                             std::string viciUri) {
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
  std::unique_ptr<MetricsServer> s(new MetricsServer(loop, std::move(fd), r, counters));
  s->viciUri_ = std::move(viciUri);
  auto* raw = s.get();
  auto w = loop.watch(raw->fd_.get(), EPOLLIN, [raw](std::uint32_t) { raw->onAccept(); });
  if (!w) return w.error();
  return s;
}

MetricsServer::~MetricsServer() {
  loop_.unwatch(fd_.get());
  for (auto& [fd, c] : conns_) {
    loop_.unwatch(fd);
    loop_.cancel(c->deadline);
  }
}

void MetricsServer::onAccept() {
  for (;;) {
    UniqueFd fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;
    if (conns_.size() >= kMaxConnections) continue;  // closed: Prometheus retries next interval
    const int n = fd.get();
    auto c = std::make_unique<Conn>();
    c->id = nextId_++;
    c->fd = std::move(fd);
    // One deadline for the whole exchange: a silent or stalled client is dropped, never waited on.
    c->deadline = loop_.after(kConnectionDeadline, [this, n, id = c->id] {
      auto it = conns_.find(n);
      if (it != conns_.end() && it->second->id == id) {
        it->second->deadline = 0;
        drop(n);
      }
    });
    conns_[n] = std::move(c);
    if (!loop_.watch(n, EPOLLIN, [this, n](std::uint32_t) { onReadable(n); })) drop(n);
  }
}

void MetricsServer::onReadable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  char buf[2048];
  bool complete = false;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {  // closed or failed before a whole request
      drop(fd);
      return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
    if (c.in.find("\r\n\r\n") != std::string::npos || c.in.size() >= 8192) {
      complete = true;
      break;
    }
  }
  if (!complete) return;
  // One request per connection: no more reading (level-triggered epoll would keep waking us).
  loop_.unwatch(fd);
  if (c.in.rfind("GET /metrics ", 0) == 0 || c.in.rfind("GET /metrics?", 0) == 0) {
    const bool first = waiting_.empty();
    waiting_.emplace_back(fd, c.id);
    if (!first) return;  // the request already made covers this one too
    std::weak_ptr<int> alive = life_;
    if (!counters_.request(
            [this, alive](const CounterWorker::Sample& s) {
              if (!alive.expired()) onSample(s);
            },
            true)) {
      waiting_.clear();
      respond(c, "503 Service Unavailable", "too many counter dumps waiting\n");
    }
  } else if (c.in.rfind("GET ", 0) == 0) {
    respond(c, "404 Not Found", "try /metrics\n");
  } else {
    respond(c, "405 Method Not Allowed", "GET /metrics only\n");
  }
}

void MetricsServer::onSample(const CounterWorker::Sample& s) {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  std::string body;
  bool rendered = false;
  for (const auto& [fd, id] : waiting) {
    auto it = conns_.find(fd);
    if (it == conns_.end() || it->second->id != id) continue;  // gone (deadline) meanwhile
    if (!rendered) {
      // Once for all the scrapes that shared this dump (the same sample and daemon state).
      body = metricsText(s, r_, viciUri_);
      for (const auto& f : extra_) body += f();
      rendered = true;
    }
    respond(*it->second, "200 OK", body);
  }
  trimDue_ = true;
  if (conns_.empty()) {
    trimDue_ = false;
    ::malloc_trim(0);
  }
}

void MetricsServer::respond(Conn& c, const std::string& status, const std::string& body) {
  c.out = "HTTP/1.1 " + status + "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  c.sent = 0;
  flush(c.fd.get());
}

void MetricsServer::flush(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The rest when the client has read some: the loop serves others meanwhile.
      if (!loop_.watch(fd, EPOLLOUT, [this, fd](std::uint32_t) { flush(fd); })) drop(fd);
      return;
    }
    if (n <= 0) break;  // the client went away
    c.sent += static_cast<std::size_t>(n);
  }
  drop(fd);
}

void MetricsServer::drop(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  loop_.unwatch(fd);
  if (it->second->deadline != 0) loop_.cancel(it->second->deadline);
  conns_.erase(it);  // closes
  if (conns_.empty() && trimDue_) {
    // The rendered text and the dump of a large ruleset are freed by now; hand the heap back.
    trimDue_ = false;
    ::malloc_trim(0);
  }
}

}  // namespace bulwark::daemon
