#pragma once
// Prometheus text exposition (version 0.0.4) and a tiny HTTP/1.1 responder for GET /metrics.
//
//   bulwark_rule_packets_total{rule,origin}      per policy rule (kernel rules with the same
//   bulwark_rule_bytes_total{rule,origin}        comment add up); built-ins have origin=""
//   bulwark_zone_packets_total{from,to}          decided in a zone pair (see counters.h)
//   bulwark_zone_bytes_total{from,to}
//   bulwark_zone_drop_packets_total{from,to}     the default drop at the end of each zone pair
//   bulwark_zone_drop_bytes_total{from,to}
//   bulwark_applies_total, bulwark_apply_failures_total, bulwark_apply_duration_seconds_{sum,count},
//   bulwark_last_apply_duration_seconds, bulwark_rollbacks_total,
//   bulwark_drift_detected_total, bulwark_drift_repairs_total,
//   bulwark_revision, bulwark_confirm_pending,
//   bulwark_conntrack_entries, bulwark_conntrack_limit, bulwark_scrape_duration_seconds
//   with --vici: bulwark_tunnels_up, bulwark_tunnel_bytes_{in,out}_total{user,group,virtual_ip}
//
// The counters come from one counters-only rule dump (counters.h), never from a read-back
// of the whole table: a scrape of a 10k-rule table holds the event loop for milliseconds.
#include <memory>
#include <string>
#include <vector>

#include "counters.h"
#include "event_loop.h"
#include "reconciler.h"

namespace bulwark::daemon {

// Pure: the exposition text.
[[nodiscard]] std::string renderMetrics(const CounterReport& counters, const ReconcilerStats& s, int revision,
                                        bool pending, double scrapeSeconds);

// Pure: the tunnel series from `tunnels` rows (vpn_kind.h: tunnelRows).
[[nodiscard]] std::string renderTunnelMetrics(const nlohmann::json& tunnels);

// Dumps the counters (and lists the tunnels when `viciUri` is set) and renders.
[[nodiscard]] std::string collectMetrics(const Reconciler& r, const std::string& viciUri = {});

class MetricsServer {
 public:
  // "127.0.0.1:9469" or "[::1]:9469".
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> listen(EventLoop& loop, const std::string& address,
                                                                     const Reconciler& r,
                                                                     std::string viciUri = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  MetricsServer(EventLoop& loop, UniqueFd fd, const Reconciler& r) : loop_(loop), fd_(std::move(fd)), r_(r) {}
  void onAccept();
  EventLoop& loop_;
  UniqueFd fd_;
  const Reconciler& r_;
  std::string viciUri_;
};

}  // namespace bulwark::daemon
