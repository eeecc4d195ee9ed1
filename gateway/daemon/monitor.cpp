#include "monitor.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "bulwark/conntrack/reader.h"
#include "bulwark/policies/resolve.h"
#include "vpn_kind.h"

namespace bulwark::daemon {

namespace {

using SysClock = std::chrono::system_clock;

std::string esc(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// The sampler's kernel readers stay open from one sample to the next; one that is not open
// (first sample, or dropped after a failed read) is opened again. False, with the reason in
// `error`, when it cannot be.
template <typename Reader>
bool keepOpen(std::optional<Reader>& reader, std::string& error) {
  if (!reader) {
    auto r = Reader::open();
    if (r) {
      reader.emplace(std::move(*r));
    } else {
      error = r.error().message;
    }
  }
  return reader.has_value();
}

// Rates are shown with 4 significant digits: keep the JSON small.
double round4(double v) {
  if (v == 0 || !std::isfinite(v)) return 0;
  double mag = std::pow(10.0, 3 - std::floor(std::log10(std::fabs(v))));
  return std::round(v * mag) / mag;
}

bool isChange(const std::string& event) { return event != "denied"; }

}  // namespace

MonitorLayout monitorLayoutOf(const policies::Policy& p) {
  MonitorLayout l;
  if (p.gateway) l.gateway = p.gateway->name;
  for (const auto& s : p.segments) {
    l.segments.push_back({s.name, s.vlan.value_or(0), policies::segmentInterface(p, s)});
  }
  if (p.gateway && !p.gateway->uplink.empty()) l.segments.push_back({"uplink", 0, p.gateway->uplink});
  return l;
}

// ---- worker ---------------------------------------------------------------------------

MonitorWorker::MonitorWorker(EventLoop& loop, std::string viciUri, Deliver deliver)
    : loop_(loop), viciUri_(std::move(viciUri)), deliver_(std::make_shared<Deliver>(std::move(deliver))) {
  thread_ = std::thread([this] { run(); });
}

MonitorWorker::~MonitorWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

MonitorSample MonitorWorker::sample(std::optional<vlan::LinkStatsReader>& links,
                                    std::optional<conntrack::Reader>& ct) {
  MonitorSample s;
  auto wall = SysClock::now();
  s.unixSeconds = std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();
  s.unixMillis = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  s.at = Clock::now();
  if (keepOpen(links, s.linksError)) {
    auto r = links->read();
    if (r) {
      s.links = std::move(*r);
    } else {
      s.linksError = r.error().message;
      links.reset();  // a fresh socket next time
    }
  }
  s.cpu = readCpuTimes();
  s.mem = readMemInfo();
  s.rss = readRssBytes();
  s.conntrack = readConntrack();
  if (s.at >= nextTop_) {
    if (keepOpen(ct, s.topError)) {
      std::size_t seen = 0;
      auto t0 = Clock::now();
      auto st = ct->dump(flows_, kMaxConntrackEntries, seen);
      auto t1 = Clock::now();
      s.topDumpMillis = std::chrono::duration<double, std::milli>(t1 - t0).count();
      if (st) {
        flows_ = top_.add(t1, std::move(flows_));  // the dump before it comes back for reuse
        s.top = top_.top(10);
        if (conntrack::accountingEnabled() == 0) s.topError = "nf_conntrack_acct is off: no byte counts";
      } else {
        s.topError = st.error().message;
        ct.reset();
      }
      // Every 2 s, or 10 x the dump's own time when the table is large.
      nextTop_ = t1 + std::max<Clock::duration>(std::chrono::seconds(2), (t1 - t0) * 10);
      if (flows_.capacity() > 65536) flows_.shrink_to_fit();
    }
  }
  if (!viciUri_.empty()) {
    auto rows = tunnelRows(viciUri_);
    if (rows) {
      s.tunnels = std::move(*rows);
    } else {
      s.tunnelsError = rows.error().message;
    }
  }
  return s;
}

void MonitorWorker::run() {
  std::optional<vlan::LinkStatsReader> links;
  std::optional<conntrack::Reader> ct;
  // On the second boundary, so that the page's clock ticks evenly.
  auto next = SysClock::now();
  for (;;) {
    next = std::chrono::ceil<std::chrono::seconds>(next + std::chrono::milliseconds(1));
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, next, [this] { return stop_; })) return;
    }
    auto s = std::make_shared<MonitorSample>(sample(links, ct));
    std::weak_ptr<Deliver> d = deliver_;
    loop_.post([d, s] {
      if (auto fn = d.lock()) (*fn)(std::move(*s));
    });
    next = SysClock::now();
  }
}

// ---- loop side ------------------------------------------------------------------------

double Monitor::rate(std::uint64_t before, std::uint64_t now, double seconds) {
  if (seconds <= 0) return 0;
  return now >= before ? static_cast<double>(now - before) / seconds : static_cast<double>(now) / seconds;
}

void Monitor::onAudit(const nlohmann::json& line) {
  std::string event = line.value("event", std::string());
  if (event.empty() || !isChange(event)) return;
  events_.push_back({{"time", line.value("time", std::string())},
                     {"event", event},
                     {"who", line.value("who", std::string())},
                     {"revision", line.value("revision", 0)},
                     {"summary", line.value("summary", std::string())},
                     {"ok", line.value("ok", true)}});
  while (events_.size() > kEvents) events_.pop_front();
}

void Monitor::loadAuditTail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<long long>(in.tellg());
  const long long tail = 64 * 1024;  // bounded: the last 64 KiB hold far more than kEvents lines
  in.seekg(size > tail ? size - tail : 0);
  std::string line;
  if (size > tail) std::getline(in, line);  // a partial first line
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) onAudit(j);
  }
}

void Monitor::onSample(const MonitorSample& s, const gateway::Result<CounterReport>& counters) {
  std::vector<std::pair<std::string, double>> series;
  nlohmann::json snap;
  snap["v"] = 1;
  snap["t"] = s.unixSeconds;
  snap["ms"] = s.unixMillis;
  snap["gateway"] = layout_.gateway.empty() ? "gateway" : layout_.gateway;
  snap["revision"] = revision_;

  // Segments: the interface counters of each segment's interface.
  std::map<std::string, const vlan::LinkStats*> byName;
  for (const auto& l : s.links) byName[l.name] = &l;
  nlohmann::json segs = nlohmann::json::array();
  for (const auto& seg : layout_.segments) {
    nlohmann::json j{{"name", seg.name}, {"iface", seg.iface}};
    if (seg.vlan) j["vlan"] = seg.vlan;
    auto it = byName.find(seg.iface);
    if (it == byName.end()) {
      j["up"] = false;
      j["missing"] = true;
      segs.push_back(std::move(j));
      continue;
    }
    const auto& l = *it->second;
    j["up"] = l.up;
    j["rx_errors"] = l.rxErrors;
    j["tx_errors"] = l.txErrors;
    j["rx_dropped"] = l.rxDropped;
    j["tx_dropped"] = l.txDropped;
    auto prev = linkPrev_.find(seg.iface);
    if (prev != linkPrev_.end()) {
      double dt = std::chrono::duration<double>(s.at - prev->second.at).count();
      double rxBps = 8 * rate(prev->second.a, l.rxBytes, dt), txBps = 8 * rate(prev->second.b, l.txBytes, dt);
      double rxPps = rate(prev->second.c, l.rxPackets, dt), txPps = rate(prev->second.d, l.txPackets, dt);
      j["rx_bps"] = round4(rxBps);
      j["tx_bps"] = round4(txBps);
      j["rx_pps"] = round4(rxPps);
      j["tx_pps"] = round4(txPps);
      const std::string k = "seg/" + seg.name + "/";
      series.emplace_back(k + "rx_bps", rxBps);
      series.emplace_back(k + "tx_bps", txBps);
      series.emplace_back(k + "rx_pps", rxPps);
      series.emplace_back(k + "tx_pps", txPps);
    }
    linkPrev_[seg.iface] = {s.at, l.rxBytes, l.txBytes, l.rxPackets, l.txPackets};
    segs.push_back(std::move(j));
  }
  snap["segments"] = std::move(segs);
  if (!s.linksError.empty()) snap["segments_error"] = s.linksError;

  // Zone pairs: allowed = forwarded (established included, counters.h) minus the default drop;
  // dropped = the default drop.
  nlohmann::json pairs = nlohmann::json::array();
  if (counters) {
    for (const auto& p : counters->pairs) {
      const std::string key = p.from + ">" + p.to;
      nlohmann::json j{{"from", p.from}, {"to", p.to}};
      auto prev = pairPrev_.find(key);
      if (prev != pairPrev_.end()) {
        double dt = std::chrono::duration<double>(s.at - prev->second.at).count();
        double allowBps = 8 * (rate(prev->second.a, p.bytes, dt) - rate(prev->second.c, p.dropBytes, dt));
        double allowPps = rate(prev->second.b, p.packets, dt) - rate(prev->second.d, p.dropPackets, dt);
        double dropPps = rate(prev->second.d, p.dropPackets, dt), dropBps = 8 * rate(prev->second.c, p.dropBytes, dt);
        allowBps = std::max(0.0, allowBps);
        allowPps = std::max(0.0, allowPps);
        j["allow_bps"] = round4(allowBps);
        j["allow_pps"] = round4(allowPps);
        j["drop_pps"] = round4(dropPps);
        j["drop_bps"] = round4(dropBps);
        series.emplace_back("pair/" + key + "/allow_bps", allowBps);
        series.emplace_back("pair/" + key + "/drop_pps", dropPps);
      }
      pairPrev_[key] = {s.at, p.bytes, p.packets, p.dropBytes, p.dropPackets};
      pairs.push_back(std::move(j));
    }
  } else {
    snap["pairs_error"] = counters.error().message;
  }
  snap["pairs"] = std::move(pairs);

  // Tunnels: per user (one user may hold several IKE_SAs: summed).
  nlohmann::json tunnels = nlohmann::json::array();
  if (s.tunnels) {
    for (auto& [user, seen] : tunnelsSeen_) seen.second = false;
    for (const auto& t : *s.tunnels) {
      const std::string user = t.value("user", std::string());
      const std::string id = user + "#" + std::to_string(t.value("ike_id", 0));
      auto in = t.value("bytes_in", std::uint64_t{0}), out = t.value("bytes_out", std::uint64_t{0});
      nlohmann::json j{{"user", user},
                       {"group", t.value("group", std::string())},
                       {"virtual_ip", t.value("virtual_ip", std::string())},
                       {"since", t.value("since", std::string())},
                       {"state", t.value("state", std::string())},
                       {"bytes_in", in},
                       {"bytes_out", out}};
      auto prev = tunnelPrev_.find(id);
      if (prev != tunnelPrev_.end()) {
        double dt = std::chrono::duration<double>(s.at - prev->second.at).count();
        double inBps = 8 * rate(prev->second.a, in, dt), outBps = 8 * rate(prev->second.b, out, dt);
        j["in_bps"] = round4(inBps);
        j["out_bps"] = round4(outBps);
        series.emplace_back("tun/" + user + "/in_bps", inBps);
        series.emplace_back("tun/" + user + "/out_bps", outBps);
      }
      tunnelPrev_[id] = {s.at, in, out, 0, 0};
      if (tunnelsSeen_.size() < 1024 || tunnelsSeen_.count(user) != 0) {
        tunnelsSeen_[user] = {t.value("group", std::string()), t.value("state", std::string()) == "ESTABLISHED"};
      }
      tunnels.push_back(std::move(j));
    }
    // Forget the rates of tunnels that are gone.
    for (auto it = tunnelPrev_.begin(); it != tunnelPrev_.end();) {
      it = it->second.at == s.at ? std::next(it) : tunnelPrev_.erase(it);
    }
  } else if (!s.tunnelsError.empty()) {
    snap["tunnels_error"] = s.tunnelsError;
  }
  snap["tunnels"] = std::move(tunnels);

  // Top talkers (a new report every few seconds; the last one meanwhile).
  if (s.top || !s.topError.empty()) {
    nlohmann::json top{{"window_s", 10}};
    if (s.top) {
      nlohmann::json flows = nlohmann::json::array(), sources = nlohmann::json::array();
      for (const auto& f : s.top->flows) {
        flows.push_back({{"proto", conntrack::protoName(f.flow.proto)},
                         {"src", f.flow.srcText()},
                         {"sport", f.flow.sport},
                         {"dst", f.flow.dstText()},
                         {"dport", f.flow.dport},
                         {"bps", round4(8 * f.bytesPerSecond)}});
      }
      for (const auto& src : s.top->sources) {
        sources.push_back({{"src", src.text()}, {"flows", src.flows}, {"bps", round4(8 * src.bytesPerSecond)}});
      }
      top["flows"] = std::move(flows);
      top["sources"] = std::move(sources);
      top["entries"] = s.top->entries;
      top["window_s"] = std::round(s.top->windowSeconds * 10) / 10;
      top["dump_ms"] = std::round(s.topDumpMillis * 10) / 10;
    }
    if (!s.topError.empty()) top["error"] = s.topError;
    top_ = std::move(top);
  }
  snap["top"] = top_;

  // Resources.
  nlohmann::json res;
  if (s.cpu && cpuPrev_) {
    auto p = cpuPercent(*cpuPrev_, *s.cpu);
    res["cpu"] = {{"busy", round4(p.busy)},     {"user", round4(p.user)}, {"system", round4(p.system)},
                  {"softirq", round4(p.softirq)}, {"irq", round4(p.irq)},   {"iowait", round4(p.iowait)}};
    series.emplace_back("cpu/busy", p.busy);
    series.emplace_back("cpu/softirq", p.softirq);
  }
  if (s.cpu) {
    res["cpus"] = s.cpu->cpus;
    cpuPrev_ = s.cpu;
  }
  if (s.mem) res["mem"] = {{"total", s.mem->totalBytes}, {"available", s.mem->availableBytes}};
  if (s.rss) res["daemon_rss"] = *s.rss;
  res["conntrack"] = {{"entries", s.conntrack.entries}, {"max", s.conntrack.limit}};
  if (s.conntrack.entries >= 0) series.emplace_back("ct/entries", static_cast<double>(s.conntrack.entries));
  nlohmann::json ifErrors = nlohmann::json::array();
  for (const auto& l : s.links) {
    if (l.rxErrors + l.txErrors + l.rxDropped + l.txDropped == 0) continue;
    ifErrors.push_back({{"name", l.name},
                        {"rx_errors", l.rxErrors},
                        {"tx_errors", l.txErrors},
                        {"rx_dropped", l.rxDropped},
                        {"tx_dropped", l.txDropped}});
  }
  res["interfaces"] = std::move(ifErrors);
  res["ha"] = ha_;
  snap["resources"] = std::move(res);

  snap["health"] = health_;
  snap["events"] = nlohmann::json(std::vector<nlohmann::json>(events_.begin(), events_.end()));

  feed_.series().record(s.unixSeconds, series);
  feed_.publish(snap.dump());
  last_ = std::move(snap);
  lastSample_ = s;
}

std::string Monitor::metricsText() const {
  std::ostringstream o;
  auto head = [&o](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  const auto& s = lastSample_;
  std::map<std::string, std::string> segOf;
  for (const auto& seg : layout_.segments) segOf[seg.iface] = seg.name;
  struct Field {
    const char* name;
    const char* help;
    std::uint64_t vlan::LinkStats::*member;
  };
  const Field fields[] = {
      {"bulwark_interface_receive_bytes_total", "Bytes received per interface (IFLA_STATS64).", &vlan::LinkStats::rxBytes},
      {"bulwark_interface_transmit_bytes_total", "Bytes sent per interface.", &vlan::LinkStats::txBytes},
      {"bulwark_interface_receive_packets_total", "Packets received per interface.", &vlan::LinkStats::rxPackets},
      {"bulwark_interface_transmit_packets_total", "Packets sent per interface.", &vlan::LinkStats::txPackets},
      {"bulwark_interface_receive_errors_total", "Receive errors per interface.", &vlan::LinkStats::rxErrors},
      {"bulwark_interface_transmit_errors_total", "Transmit errors per interface.", &vlan::LinkStats::txErrors},
      {"bulwark_interface_receive_drops_total", "Received packets dropped per interface.", &vlan::LinkStats::rxDropped},
      {"bulwark_interface_transmit_drops_total", "Packets dropped on sending per interface.", &vlan::LinkStats::txDropped},
  };
  for (const auto& f : fields) {
    head(f.name, "counter", f.help);
    for (const auto& l : s.links) {
      auto it = segOf.find(l.name);
      if (it == segOf.end()) continue;  // the policy's interfaces only
      o << f.name << "{interface=\"" << esc(l.name) << "\",segment=\"" << esc(it->second) << "\"} " << l.*f.member
        << '\n';
    }
  }
  if (s.cpu) {
    head("bulwark_cpu_seconds_total", "counter", "CPU time of the gateway (all CPUs) per mode, from /proc/stat.");
    const double hz = 100.0;  // USER_HZ
    const std::pair<const char*, std::uint64_t> modes[] = {
        {"user", s.cpu->user + s.cpu->nice}, {"system", s.cpu->system}, {"idle", s.cpu->idle},
        {"iowait", s.cpu->iowait},           {"irq", s.cpu->irq},       {"softirq", s.cpu->softirq},
        {"steal", s.cpu->steal}};
    for (const auto& [mode, jiffies] : modes) {
      o << "bulwark_cpu_seconds_total{mode=\"" << mode << "\"} " << static_cast<double>(jiffies) / hz << '\n';
    }
    head("bulwark_cpus", "gauge", "CPUs of the gateway.");
    o << "bulwark_cpus " << s.cpu->cpus << '\n';
  }
  if (s.mem) {
    head("bulwark_memory_total_bytes", "gauge", "Memory of the gateway (MemTotal).");
    o << "bulwark_memory_total_bytes " << s.mem->totalBytes << '\n';
    head("bulwark_memory_available_bytes", "gauge", "Memory available (MemAvailable).");
    o << "bulwark_memory_available_bytes " << s.mem->availableBytes << '\n';
  }
  if (s.rss) {
    head("bulwark_daemon_resident_bytes", "gauge", "Resident memory of bulwarkd.");
    o << "bulwark_daemon_resident_bytes " << *s.rss << '\n';
  }
  if (!tunnelsSeen_.empty()) {
    head("bulwark_tunnel_up", "gauge", "1 while an admin user's tunnel is established, 0 once it went down.");
    for (const auto& [user, seen] : tunnelsSeen_) {
      o << "bulwark_tunnel_up{user=\"" << esc(user) << "\",group=\"" << esc(seen.first) << "\"} "
        << (seen.second ? 1 : 0) << '\n';
    }
  }
  if (top_.contains("sources")) {
    head("bulwark_top_source_bits_per_second", "gauge", "The 10 sources with the most traffic over the last 10 s.");
    for (const auto& src : top_["sources"]) {
      o << "bulwark_top_source_bits_per_second{source=\"" << esc(src.value("src", std::string())) << "\"} "
        << src.value("bps", 0.0) << '\n';
    }
  }
  if (top_.contains("dump_ms")) {
    head("bulwark_conntrack_dump_seconds", "gauge", "Time of the last conntrack dump for the top talkers.");
    o << "bulwark_conntrack_dump_seconds " << top_.value("dump_ms", 0.0) / 1000 << '\n';
  }
  if (!health_.empty()) {
    head("bulwark_health_check_up", "gauge", "1 while a health check passes, 0 while it fails.");
    for (const auto& h : health_) {
      o << "bulwark_health_check_up{check=\"" << esc(h.value("name", std::string())) << "\",host=\""
        << esc(h.value("host", std::string())) << "\"} " << (h.value("state", std::string()) == "up" ? 1 : 0) << '\n';
    }
  }
  return o.str();
}

}  // namespace bulwark::daemon
