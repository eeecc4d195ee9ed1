#pragma once
// The web view's data. A worker thread (MonitorWorker) reads, once a second, what may take
// time or block: the interface counters (vlan::LinkStatsReader, IFLA_STATS64), /proc (CPU
// with softirq, memory, the daemon's RSS), conntrack count/max, the admin tunnels (VICI
// list-sas) and, on its own slower cadence, the conntrack table for the top talkers
// (conntrack::Reader; every max(2 s, 10 x the last dump's time), so that at 100k entries
// the dumps stay a small part of a core). It posts each sample to the loop.
//
// On the loop, Monitor turns samples plus the rule counters (the CounterWorker's dump) into
// rates, records them in the hour of history (SeriesStore), and publishes one JSON snapshot
// a second into the WebFeed (format: gateway/web/README.md). It also keeps the last changes
// (applies, drifts, rollbacks; from the audit trail) and the health checks' state (a
// `health` array, from the health-check engine once there is one).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/conntrack/reader.h"
#include "bulwark/conntrack/top_talkers.h"
#include "bulwark/policies/model.h"
#include "bulwark/vlan/link_stats.h"
#include "counters.h"
#include "event_loop.h"
#include "proc_stats.h"
#include "web_server.h"

namespace bulwark::daemon {

// What the page shows per segment, from the policy: names, VLANs, interfaces.
struct MonitorLayout {
  struct Segment {
    std::string name;
    int vlan = 0;  // 0: plain interface
    std::string iface;
  };
  std::string gateway;
  std::vector<Segment> segments;  // the policy's, then "uplink"
  bool operator==(const MonitorLayout&) const = default;
};
[[nodiscard]] MonitorLayout monitorLayoutOf(const policies::Policy& policy);

struct MonitorSample {
  std::int64_t unixSeconds = 0;
  std::int64_t unixMillis = 0;
  Clock::time_point at;
  std::vector<vlan::LinkStats> links;
  std::string linksError;
  std::optional<CpuTimes> cpu;
  std::optional<MemInfo> mem;
  std::optional<std::uint64_t> rss;
  ConntrackUsage conntrack;
  std::optional<conntrack::TopReport> top;  // set when this sample made a new dump
  std::string topError;
  double topDumpMillis = 0;
  std::optional<nlohmann::json> tunnels;  // `tunnels` rows (vpn_kind.h); unset without --vici
  std::string tunnelsError;
};

class MonitorWorker {
 public:
  using Deliver = std::function<void(MonitorSample)>;  // runs on the loop
  static constexpr std::size_t kMaxConntrackEntries = 262144;

  // `viciUri` empty: no tunnels.
  MonitorWorker(EventLoop& loop, std::string viciUri, Deliver deliver);
  ~MonitorWorker();  // stops and joins
  MonitorWorker(const MonitorWorker&) = delete;
  MonitorWorker& operator=(const MonitorWorker&) = delete;

 private:
  void run();
  MonitorSample sample(std::optional<vlan::LinkStatsReader>& links, std::optional<conntrack::Reader>& ct);

  EventLoop& loop_;
  std::string viciUri_;
  std::shared_ptr<Deliver> deliver_;  // shared with posted closures; reset at destruction
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
  // Worker thread only:
  conntrack::TopTalkers top_;
  Clock::time_point nextTop_{};
  std::vector<conntrack::Flow> flows_;
};

class Monitor {
 public:
  static constexpr std::size_t kEvents = 30;

  explicit Monitor(WebFeed& feed) : feed_(feed) {}

  void setLayout(MonitorLayout layout) { layout_ = std::move(layout); }
  void setRevision(int revision) { revision_ = revision; }
  // The audit trail's lines (AuditLog's listener): applies, confirms, rollbacks, drifts ...
  void onAudit(const nlohmann::json& line);
  // Seeds the last changes from the audit log's tail (at startup).
  void loadAuditTail(const std::string& auditLogPath);
  // The health checks' state (from the health-check engine): an array of
  // {name, host, service, check, state: up|down|unknown, latency_ms, since, detail}.
  void setHealth(nlohmann::json health) { health_ = std::move(health); }
  // The HA pair's state on this node (HaRuntime::status(): node, peer, role, sync link ...);
  // null without --ha.
  void setHa(nlohmann::json ha) { ha_ = std::move(ha); }

  // A sample and the counters dumped for it (an error: no zone pairs this time). Records the
  // series and publishes the snapshot.
  void onSample(const MonitorSample& s, const gateway::Result<CounterReport>& counters);

  // Prometheus series for the kit (docs/monitoring): interfaces, CPU, memory, RSS, the
  // tunnels seen (up 0/1), the top sources, the health checks.
  [[nodiscard]] std::string metricsText() const;

  [[nodiscard]] const nlohmann::json& lastSnapshot() const { return last_; }

 private:
  struct Prev {
    Clock::time_point at;
    std::uint64_t a = 0, b = 0, c = 0, d = 0;  // counter values (bytes/packets in/out ...)
  };
  // (now - before) / seconds, never negative (a counter reset restarts from its new value).
  static double rate(std::uint64_t before, std::uint64_t now, double seconds);

  WebFeed& feed_;
  MonitorLayout layout_;
  int revision_ = 0;
  nlohmann::json health_ = nlohmann::json::array();
  nlohmann::json ha_;  // null: no pair
  std::deque<nlohmann::json> events_;
  std::map<std::string, Prev> linkPrev_, pairPrev_, tunnelPrev_;
  std::optional<CpuTimes> cpuPrev_;
  nlohmann::json top_ = nlohmann::json::object();
  std::map<std::string, std::pair<std::string, bool>> tunnelsSeen_;  // user -> (group, up)
  MonitorSample lastSample_;
  nlohmann::json last_ = nlohmann::json::object();
};

}  // namespace bulwark::daemon
