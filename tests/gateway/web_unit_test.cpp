// The web view's pure parts: the hour of history, procfs parsing, the monitor's snapshot and
// metrics from given samples, gateway.web -> listener config (and its firewall rules), and
// the page's compiled-in file table.
#include <gtest/gtest.h>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/render.h"
#include "bulwark/policies/loader.h"
#include "monitor.h"
#include "proc_stats.h"
#include "series_store.h"
#include "web_assets.h"
#include "web_server.h"

namespace bulwark::daemon {
namespace {

TEST(SeriesStore, GapsOrderAndTheHourBound) {
  SeriesStore s;
  s.record(1000, {{"a", 1}, {"b", 10}});
  s.record(1001, {{"a", 2}});
  s.record(1004, {{"a", 5}, {"b", 40}});  // 1002, 1003 were skipped: gaps
  s.record(1004, {{"a", 99}});            // not after the last: ignored
  auto j = nlohmann::json::parse(s.historyJson());
  EXPECT_EQ(j["t_end"], 1004);
  EXPECT_EQ(j["n"], 5);
  EXPECT_EQ(j["series"]["a"], nlohmann::json::parse("[1,2,null,null,5]"));
  EXPECT_EQ(j["series"]["b"], nlohmann::json::parse("[10,null,null,null,40]"));
  // An hour and more later: at most kPoints columns, and "b" (not set for an hour) is gone.
  for (std::int64_t t = 1005; t < 1005 + 3700; ++t) s.record(t, {{"a", static_cast<double>(t)}});
  j = nlohmann::json::parse(s.historyJson());
  EXPECT_EQ(j["n"], SeriesStore::kPoints);
  EXPECT_EQ(j["series"].size(), 1u);
  EXPECT_EQ(j["series"]["a"].back(), 4704);
  EXPECT_EQ(j["series"]["a"].front(), 4704 - 3599);
  EXPECT_EQ(s.bytes(), SeriesStore::kPoints * sizeof(float));
}

TEST(SeriesStore, RefusesSeriesBeyondTheBound) {
  SeriesStore s;
  std::vector<std::pair<std::string, double>> many;
  for (std::size_t i = 0; i < SeriesStore::kMaxSeries + 10; ++i) many.emplace_back("k" + std::to_string(i), 1);
  s.record(1, many);
  EXPECT_EQ(s.seriesCount(), SeriesStore::kMaxSeries);
  EXPECT_EQ(s.refused(), 10u);
}

TEST(ProcStats, ParsesStatMeminfoAndStatus) {
  auto cpu = parseCpuTimes("cpu  100 5 50 800 10 1 20 0 0 0\ncpu0 50 2 25 400 5 0 10 0 0 0\n"
                           "cpu1 50 3 25 400 5 1 10 0 0 0\nintr 1\n");
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->cpus, 2);
  EXPECT_EQ(cpu->softirq, 20u);
  auto later = *cpu;
  later.user += 30;
  later.softirq += 20;
  later.idle += 50;
  auto p = cpuPercent(*cpu, later);
  EXPECT_DOUBLE_EQ(p.busy, 50);
  EXPECT_DOUBLE_EQ(p.softirq, 20);
  EXPECT_DOUBLE_EQ(p.user, 30);
  auto mem = parseMemInfo("MemTotal:       1000 kB\nMemFree: 1 kB\nMemAvailable:    250 kB\n");
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->totalBytes, 1024000u);
  EXPECT_EQ(mem->availableBytes, 256000u);
  EXPECT_EQ(parseRssBytes("Name: x\nVmRSS:\t  13000 kB\n").value_or(0), 13000u * 1024);
  EXPECT_FALSE(parseCpuTimes("nothing"));
}

MonitorSample sample(std::int64_t t, std::uint64_t rx, std::uint64_t tx) {
  MonitorSample s;
  s.unixSeconds = t;
  s.unixMillis = t * 1000;
  s.at = Clock::time_point{} + std::chrono::seconds(t);
  vlan::LinkStats l;
  l.name = "eth1.20";
  l.up = true;
  l.rxBytes = rx;
  l.txBytes = tx;
  l.rxPackets = rx / 100;
  l.rxErrors = 2;
  s.links.push_back(l);
  s.conntrack = {100, 1000};
  return s;
}

CounterReport pairs(std::uint64_t bytes, std::uint64_t dropPackets) {
  CounterReport r;
  PairTotal p;
  p.from = "dmz";
  p.to = "app";
  p.bytes = bytes;
  p.packets = bytes / 100;
  p.dropPackets = dropPackets;
  p.dropBytes = dropPackets * 60;
  r.pairs.push_back(p);
  return r;
}

TEST(Monitor, SnapshotRatesHistoryAndMetrics) {
  WebFeed feed;
  Monitor m(feed);
  MonitorLayout layout;
  layout.gateway = "gw";
  layout.segments = {{"app", 20, "eth1.20"}, {"db", 30, "eth1.30"}};
  m.setLayout(layout);
  m.onAudit({{"event", "apply"}, {"who", "alice"}, {"revision", 2}, {"summary", "1 rule"}, {"time", "T"}});
  m.onAudit({{"event", "denied"}, {"who", "mallory"}});  // refusals are not changes
  m.onSample(sample(100, 1000, 0), pairs(0, 0));
  m.onSample(sample(102, 1000 + 250000, 5000), pairs(200000, 10));
  const auto& s = m.lastSnapshot();
  ASSERT_EQ(s["segments"].size(), 2u);
  EXPECT_DOUBLE_EQ(s["segments"][0]["rx_bps"].get<double>(), 1e6);  // 250 kB in 2 s
  EXPECT_DOUBLE_EQ(s["segments"][0]["tx_bps"].get<double>(), 20000);
  EXPECT_EQ(s["segments"][0]["vlan"], 20);
  EXPECT_EQ(s["segments"][1]["missing"], true);
  ASSERT_EQ(s["pairs"].size(), 1u);
  EXPECT_DOUBLE_EQ(s["pairs"][0]["drop_pps"].get<double>(), 5);
  EXPECT_DOUBLE_EQ(s["pairs"][0]["allow_bps"].get<double>(), 8 * (100000 - 300));
  ASSERT_EQ(s["events"].size(), 1u);
  EXPECT_EQ(s["events"][0]["who"], "alice");
  EXPECT_EQ(s["resources"]["conntrack"]["max"], 1000);
  EXPECT_EQ(s["gateway"], "gw");
  // Published and recorded.
  auto [seq, text] = feed.latest();
  EXPECT_EQ(seq, 2u);
  EXPECT_EQ(nlohmann::json::parse(*text)["t"], 102);
  auto h = nlohmann::json::parse(feed.series().historyJson());
  EXPECT_EQ(h["series"]["seg/app/rx_bps"].back(), 1e6);
  EXPECT_EQ(h["series"]["pair/dmz>app/drop_pps"].back(), 5);
  // The Prometheus series of the kit.
  auto text2 = m.metricsText();
  EXPECT_NE(text2.find("bulwark_interface_receive_bytes_total{interface=\"eth1.20\",segment=\"app\"} 251000"),
            std::string::npos)
      << text2;
  EXPECT_NE(text2.find("bulwark_interface_receive_errors_total{interface=\"eth1.20\",segment=\"app\"} 2"),
            std::string::npos);
}

TEST(Monitor, TunnelsGoingDownStayInTheMetricsAsZero) {
  WebFeed feed;
  Monitor m(feed);
  auto s = sample(100, 0, 0);
  s.tunnels = nlohmann::json::parse(
      R"([{"user":"alice","group":"netops","virtual_ip":"10.250.0.1","state":"ESTABLISHED","bytes_in":0,"bytes_out":0,"ike_id":1}])");
  m.onSample(s, pairs(0, 0));
  auto s2 = sample(101, 0, 0);
  s2.tunnels = nlohmann::json::parse(
      R"([{"user":"alice","group":"netops","virtual_ip":"10.250.0.1","state":"ESTABLISHED","bytes_in":1000,"bytes_out":0,"ike_id":1}])");
  m.onSample(s2, pairs(0, 0));
  EXPECT_DOUBLE_EQ(m.lastSnapshot()["tunnels"][0]["in_bps"].get<double>(), 8000);
  EXPECT_NE(m.metricsText().find("bulwark_tunnel_up{user=\"alice\",group=\"netops\"} 1"), std::string::npos);
  auto s3 = sample(102, 0, 0);
  s3.tunnels = nlohmann::json::array();
  m.onSample(s3, pairs(0, 0));
  EXPECT_NE(m.metricsText().find("bulwark_tunnel_up{user=\"alice\",group=\"netops\"} 0"), std::string::npos);
}

TEST(WebConfig, FromGatewayWebWithControlsGroupsAndTheFirewallOpensIt) {
  auto r = policies::loadPolicyText(R"(gateway:
  uplink: eth0
  control: { listen: 10.99.0.1, port: 9443, change: netops, view: auditors }
  web: { listen: 10.99.0.1, port: 8443 }
segments:
  - { name: mgmt, interface: eth1, ipv4: { subnet: 10.99.0.0/24, gateway: 10.99.0.1 } }
  - { name: app, interface: eth2, ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 } }
vpn:
  ca: Test CA
  local_id: gw.test
  groups:
    - { name: netops, pool: 10.250.0.0/25, access: [{ to: mgmt, services: [any] }] }
)", "w.yaml");
  ASSERT_TRUE(r.ok());
  auto cfg = webConfigOf(r.policy);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->address, "10.99.0.1");
  EXPECT_EQ(cfg->port, 8443);
  EXPECT_EQ(cfg->roles.view, (std::set<std::string>{"auditors"}));
  EXPECT_EQ(cfg->roles.change, (std::set<std::string>{"netops"}));
  auto compiled = firewall::compile(r.policy);
  std::vector<std::string> lines;
  for (const auto& c : compiled.ruleset.chains) {
    if (c.name != "input") continue;
    for (const auto& rule : c.rules) {
      auto text = firewall::renderRule(rule);
      if (text.find("8443") != std::string::npos) lines.push_back(text);
    }
  }
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);  // + the libipsec interface's
  EXPECT_NE(lines[0].find("iifname \"eth1\" meta nfproto ipv4 ip saddr 10.99.0.0/24 ip daddr 10.99.0.1"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("ip saddr 10.250.0.0/25 meta ipsec exists ip daddr 10.99.0.1"), std::string::npos);
  EXPECT_NE(lines[2].find("iifname \"ipsec0\" meta nfproto ipv4 ip saddr 10.250.0.0/25"), std::string::npos);
  for (const auto& l : lines) EXPECT_EQ(l.find("eth2"), std::string::npos) << l;
  auto none = policies::loadPolicyText("gateway: { uplink: eth0 }\n");
  EXPECT_FALSE(webConfigOf(none.policy).has_value());
}

TEST(WebAssets, ThePageAndNothingElse) {
  std::set<std::string> paths;
  for (const auto& a : webAssets()) {
    paths.insert(a.path);
    EXPECT_GT(a.size, 0u) << a.path;
    EXPECT_EQ(a.data[a.size], 0) << a.path;  // the generator's terminator, not part of the body
  }
  EXPECT_EQ(paths, (std::set<std::string>{"/index.html", "/app.js", "/app.css", "/favicon.svg",
                                          "/vendor/uPlot.iife.min.js", "/vendor/uPlot.min.css",
                                          "/vendor/uPlot.LICENSE"}));
  for (const auto& a : webAssets()) {
    if (std::string(a.path) != "/index.html") continue;
    auto body = a.body();
    // No inline script or style: the CSP allows neither.
    EXPECT_EQ(body.find("<style"), std::string_view::npos);
    EXPECT_EQ(body.find("style="), std::string_view::npos);
    EXPECT_EQ(body.find("<script>"), std::string_view::npos);
    EXPECT_EQ(body.find("http://"), std::string_view::npos);
    EXPECT_EQ(body.find("https://"), std::string_view::npos);
  }
}

}  // namespace
}  // namespace bulwark::daemon
