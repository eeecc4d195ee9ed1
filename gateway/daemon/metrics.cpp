#include "metrics.h"

#include <malloc.h>

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
             "Packets forwarded in a zone pair: decided by its own rules or its default drop (rules shared by "
             "several pairs are not split), and established in both directions.",
             [](const PairTotal& p) { return p.packets; });
  pairSeries("bulwark_zone_bytes_total", "Bytes forwarded in a zone pair (as bulwark_zone_packets_total).",
             [](const PairTotal& p) { return p.bytes; });
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
  scalar("bulwark_revoked_connections_total", "counter",
         "Established connections cut because a change no longer allows them.", s.revokedConnections);
  scalar("bulwark_revocations_total", "counter", "Revocation passes after firewall changes.", s.revocations);
  scalar("bulwark_revocation_failures_total", "counter", "Revocation passes that failed (in part).",
         s.revocationFailures);
  scalar("bulwark_last_revocation_seconds", "gauge", "Dump, judgement and deletes of the last revocation.",
         s.lastRevocationSeconds);
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

std::string tunnelSeries(const std::string& viciUri) {
  if (viciUri.empty()) return {};
  auto tunnels = tunnelRows(viciUri);
  return tunnels ? renderTunnelMetrics(*tunnels) : "# tunnels unavailable: " + tunnels.error().message + "\n";
}

std::string metricsText(const CounterWorker::Sample& sample, const Reconciler& r) {
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
  return text;
}

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(EventLoop& loop, const std::string& address,
                                                                 const Reconciler& r, CounterWorker& counters) {
  std::unique_ptr<MetricsEndpoint> m(new MetricsEndpoint(r, counters));
  auto* raw = m.get();
  // From an HTTP thread: only a post to the loop (thread-safe); the loop does the asking.
  m->board_.setRefresher([raw, &loop, alive = std::weak_ptr<int>(m->life_)] {
    loop.post([raw, alive] {
      if (!alive.expired()) raw->refresh();
    });
  });
  HttpOptions o;
  o.address = address;
  o.maxConnections = kMaxConnections;
  std::map<std::string, HttpServer::Route> routes;
  routes["/metrics"] = [raw]() {
    auto snap = raw->board_.get(kMaxAge, kWait);
    if (!snap) return HttpReply{503, "text/plain; charset=utf-8", "counters not available in time; try again\n"};
    return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", *snap->body};
  };
  auto http = HttpServer::start(o, std::move(routes));
  if (!http) return gateway::Error{"metrics " + http.error().message};
  m->http_ = std::move(*http);
  return m;
}

MetricsEndpoint::~MetricsEndpoint() {
  http_.reset();  // no HTTP thread can ask for a refresh any more
  life_.reset();
}

void MetricsEndpoint::refresh() {
  // A dump that starts now (not one under way), with its text rendered on the worker.
  const bool asked = counters_.request(
      [this, alive = std::weak_ptr<int>(life_)](const CounterWorker::Sample& s) {
        if (alive.expired()) return;
        std::string body = metricsText(s, r_);
        for (const auto& f : extra_) body += f();
        board_.publish(std::move(body));
        ::malloc_trim(0);  // the dump and the text of a large ruleset are freed by now
      },
      true, true);
  if (!asked) board_.publish("# counters unavailable: too many counter dumps waiting\n");
}

}  // namespace bulwark::daemon
