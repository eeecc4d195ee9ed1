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
// of the whole table, and that dump runs on the CounterWorker's thread: the event loop only
// renders the text and moves bytes, so a scrape of a 10k-rule table does not hold up status
// requests. Connections are non-blocking; scrapes that arrive together share one dump.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "counter_worker.h"
#include "counters.h"
#include "event_loop.h"
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

// The whole scrape text from a counters sample (and the tunnels, listed now, when `viciUri`
// is set).
[[nodiscard]] std::string metricsText(const CounterWorker::Sample& sample, const Reconciler& r,
                                      const std::string& viciUri = {});

class MetricsServer {
 public:
  static constexpr std::size_t kMaxConnections = 32;  // more are closed at accept
  static constexpr std::chrono::seconds kConnectionDeadline{30};  // request + dump + response

  // "127.0.0.1:9469" or "[::1]:9469". `counters` runs the dumps (shared with other users).
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> listen(EventLoop& loop, const std::string& address,
                                                                     const Reconciler& r, CounterWorker& counters,
                                                                     std::string viciUri = {});
  ~MetricsServer();
  // More series appended to every scrape, rendered on the loop (the web view's monitor, the
  // health checks, the HA pair).
  void addSeries(std::function<std::string()> fn) { extra_.push_back(std::move(fn)); }
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  struct Conn {
    std::uint64_t id = 0;
    UniqueFd fd;
    std::string in;
    std::string out;
    std::size_t sent = 0;
    EventLoop::TimerId deadline = 0;
  };
  MetricsServer(EventLoop& loop, UniqueFd fd, const Reconciler& r, CounterWorker& counters)
      : loop_(loop), fd_(std::move(fd)), r_(r), counters_(counters) {}
  void onAccept();
  void onReadable(int fd);
  void respond(Conn& c, const std::string& status, const std::string& body);
  void flush(int fd);
  void drop(int fd);
  void onSample(const CounterWorker::Sample& s);

  EventLoop& loop_;
  UniqueFd fd_;
  const Reconciler& r_;
  CounterWorker& counters_;
  std::string viciUri_;
  std::vector<std::function<std::string()>> extra_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  std::uint64_t nextId_ = 1;
  std::vector<std::pair<int, std::uint64_t>> waiting_;  // (fd, id) of scrapes awaiting the dump
  bool trimDue_ = false;  // a scrape's heap is to be handed back once its connections are gone
  std::shared_ptr<int> life_ = std::make_shared<int>(0);  // the worker's callback checks it
};

}  // namespace bulwark::daemon
