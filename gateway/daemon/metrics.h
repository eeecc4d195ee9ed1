#pragma once
// Prometheus text exposition (version 0.0.4) and a tiny HTTP/1.1 responder for GET /metrics.
//
//   bulwark_rule_packets_total{rule,origin}      per policy rule (kernel rules with the same
//   bulwark_rule_bytes_total{rule,origin}        comment add up); built-ins have origin=""
//   bulwark_zone_packets_total{from,to}          forwarded in a zone pair, established traffic
//                                                and replies included (see counters.h)
//   bulwark_zone_bytes_total{from,to}
//   bulwark_zone_drop_packets_total{from,to}     the default drop at the end of each zone pair
//   bulwark_zone_drop_bytes_total{from,to}
//   bulwark_applies_total, bulwark_apply_failures_total, bulwark_apply_duration_seconds_{sum,count},
//   bulwark_last_apply_duration_seconds, bulwark_rollbacks_total,
//   bulwark_drift_detected_total, bulwark_drift_repairs_total,
//   bulwark_revoked_connections_total, bulwark_revocations_total, bulwark_revocation_failures_total,
//   bulwark_last_revocation_seconds,
//   bulwark_revision, bulwark_confirm_pending,
//   bulwark_conntrack_entries, bulwark_conntrack_limit, bulwark_scrape_duration_seconds
//   with --vici: bulwark_tunnels_up, bulwark_tunnel_bytes_{in,out}_total{user,group,virtual_ip}
//
// The counters come from one counters-only rule dump (counters.h), never from a read-back
// of the whole table, and that dump (and the bulk of the text, and the tunnels) runs on the
// CounterWorker's thread. The HTTP side is http_server.h: cpp-httplib on threads of its own,
// serving the snapshot the loop publishes (a scrape never runs on the loop or waits for it to
// be free; the loop only adds the daemon's own series); scrapes that arrive together share one
// dump, and a snapshot younger than kMaxAge is served as it is.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "counter_worker.h"
#include "counters.h"
#include "event_loop.h"
#include "http_server.h"
#include "reconciler.h"

namespace bulwark::daemon {

// Pure: the exposition text = renderCounterSeries + renderDaemonSeries.
[[nodiscard]] std::string renderMetrics(const CounterReport& counters, const ReconcilerStats& s, int revision,
                                        bool pending, double scrapeSeconds);
// The per-rule and per-zone-pair series (the bulk: 1.4 MB at 10,000 rules; rendered on the
// counter worker's thread for scrapes) ...
[[nodiscard]] std::string renderCounterSeries(const CounterReport& counters);
// ... and the rest (daemon state, conntrack, scrape time), rendered on the loop.
[[nodiscard]] std::string renderDaemonSeries(const CounterReport& counters, const ReconcilerStats& s, int revision,
                                             bool pending, double scrapeSeconds);

// Pure: the tunnel series from `tunnels` rows (vpn_kind.h: tunnelRows).
[[nodiscard]] std::string renderTunnelMetrics(const nlohmann::json& tunnels);

// The tunnel series as listed now (the counter worker's render step runs it, off the loop);
// a comment when charon cannot be asked.
[[nodiscard]] std::string tunnelSeries(const std::string& viciUri);

// The whole scrape text from a counters sample: the worker's text (rule and zone series, and
// the tunnels when it renders them) plus the daemon's own series, rendered now (loop).
[[nodiscard]] std::string metricsText(const CounterWorker::Sample& sample, const Reconciler& r);

// GET /metrics: an HttpServer with one route, fed by the loop through a SnapshotBoard.
class MetricsEndpoint {
 public:
  static constexpr std::chrono::milliseconds kMaxAge{250};  // served as it is when younger
  static constexpr std::chrono::milliseconds kWait{20000};  // a scrape waits this long for a dump
  static constexpr std::size_t kMaxConnections = 64;        // served at once; more get 503

  // "127.0.0.1:9469" or "[::1]:9469". `counters` runs the dumps (shared with other users).
  [[nodiscard]] static Result<std::unique_ptr<MetricsEndpoint>> start(EventLoop& loop, const std::string& address,
                                                                      const Reconciler& r, CounterWorker& counters);
  ~MetricsEndpoint();
  // More series appended to every scrape, rendered on the loop (the web view's monitor, the
  // health checks, the HA pair).
  void addSeries(std::function<std::string()> fn) { extra_.push_back(std::move(fn)); }
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

 private:
  MetricsEndpoint(const Reconciler& r, CounterWorker& counters) : r_(r), counters_(counters) {}
  void refresh();  // loop thread: ask for a dump, publish the text when it is there

  const Reconciler& r_;
  CounterWorker& counters_;
  std::vector<std::function<std::string()>> extra_;
  SnapshotBoard board_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);  // posted refreshes check it
  std::unique_ptr<HttpServer> http_;  // stopped (its threads joined) first, in the destructor
};

}  // namespace bulwark::daemon
