// Pure parts of bulwarkd: line framing, op table, roles from credentials, the metrics text,
// the history store, the nftables event filter; the loop's cross-thread post and the counters
// worker (with a stand-in dump, so no kernel is needed).
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "bulwark/gateway/protocol.h"
#include "counter_worker.h"
#include "counters.h"
#include "history.h"
#include "metrics.h"
#include "peer_auth.h"
#include "request_args.h"

namespace bulwark::daemon {
namespace {

using gateway::Role;

TEST(LineFramer, SplitsAndKeepsPartialLines) {
  gateway::LineFramer f(16);
  ASSERT_TRUE(f.append("{\"a\":1}\n{\"b\""));
  EXPECT_EQ(f.next().value(), "{\"a\":1}");
  EXPECT_FALSE(f.next().has_value());
  ASSERT_TRUE(f.append(":2}\n"));
  EXPECT_EQ(f.next().value(), "{\"b\":2}");
}

TEST(LineFramer, RefusesOverlongLines) {
  gateway::LineFramer f(8);
  EXPECT_FALSE(f.append("0123456789"));
}

TEST(Protocol, OpsAndRoles) {
  EXPECT_EQ(gateway::parseOp("apply"), gateway::Op::Apply);
  EXPECT_FALSE(gateway::parseOp("flush").has_value());
  EXPECT_TRUE(gateway::opChanges(gateway::Op::Rollback));
  EXPECT_FALSE(gateway::opChanges(gateway::Op::History));
  EXPECT_EQ(gateway::parseOp("tunnels"), gateway::Op::Tunnels);
  EXPECT_EQ(gateway::parseOp("terminate"), gateway::Op::Terminate);
  EXPECT_EQ(gateway::opName(gateway::Op::Terminate), "terminate");
  EXPECT_FALSE(gateway::opChanges(gateway::Op::Tunnels));
  EXPECT_TRUE(gateway::opChanges(gateway::Op::Terminate));  // terminate = change role
  auto e = gateway::errorReply(3, gateway::ErrorCode::InvalidPolicy, "bad", nlohmann::json::array({"a:1:2: error: x"}));
  EXPECT_EQ(e["error"]["code"], "invalid_policy");
  EXPECT_EQ(e["id"], 3);
  EXPECT_EQ(gateway::frame(nlohmann::json{{"x", "a\nb"}}).find('\n'), gateway::frame(nlohmann::json{{"x", "a\nb"}}).size() - 1);
}

TEST(PeerAuth, RoleFromCredentials) {
  AccessGroups g{true, 900, true, 901};
  EXPECT_EQ(roleFor(0, 0, {}, g), Role::Change);
  EXPECT_EQ(roleFor(1000, 1000, {900}, g), Role::Change);
  EXPECT_EQ(roleFor(1000, 901, {}, g), Role::View);
  EXPECT_EQ(roleFor(1000, 1000, {5, 901}, g), Role::View);
  EXPECT_EQ(roleFor(1000, 1000, {5}, g), Role::None);
  AccessGroups none;
  EXPECT_EQ(roleFor(1000, 0, {0}, none), Role::None);  // gid 0 is not the change group
}

// The compiled shape: pair chains jump to one chain per policy rule and end in a counted drop.
std::vector<firewall::RuleSample> sampleDump() {
  auto jump = [](const char* chain, const char* to) { return firewall::RuleSample{chain, 0, "", false, 0, 0, to}; };
  auto counted = [](const char* chain, const char* comment, std::uint64_t p, std::uint64_t b) {
    return firewall::RuleSample{chain, 0, comment, true, p, b, ""};
  };
  return {
      jump("app__db", "rule_web"),
      jump("app__db", "rule_shared"),
      counted("app__db", "bulwark: drop app>db", 7, 700),
      jump("lan__db", "rule_shared"),
      counted("lan__db", "bulwark: drop lan>db", 1, 100),
      counted("rule_web", "campus.yaml:78 public-web:rate", 2, 200),
      counted("rule_web", "campus.yaml:78 public-web", 10, 1000),
      counted("rule_shared", "campus.yaml:90 shared", 5, 500),
      counted("forward", "bulwark: default-drop", 3, 300),
  };
}

// The daemon's report around the firewall's totals (firewall/counters.h, tested in
// tests/firewall/counters_test.cpp).
CounterReport report() {
  auto t = firewall::summarize(sampleDump());
  CounterReport r;
  r.rules = t.rules;
  r.pairs = t.pairs;
  r.tablePresent = t.tablePresent;
  return r;
}

TEST(Counters, ReplyBody) {
  auto r = report();
  r.conntrack = {12, 262144};
  auto j = countersJson(r);
  EXPECT_EQ(j["table"], true);
  EXPECT_EQ(j["conntrack"]["count"], 12);
  EXPECT_EQ(j["conntrack"]["max"], 262144);
  EXPECT_EQ(j["zone_pairs"][0]["drop_packets"], 7);
  EXPECT_EQ(j["zone_pairs"][0]["packets"], 19);
  EXPECT_EQ(j["rules"].size(), 6u);  // public-web, its :rate, shared, default-drop, the two pair drops
}

// Established traffic (the pair's flow chains) is in the pair's totals everywhere they are
// read: the counters reply and the metrics (and, through them, the console and the web view).
TEST(Counters, EstablishedTrafficInTheReplyAndTheMetrics) {
  auto dump = sampleDump();
  dump.push_back({"flow.app.db", 0, "bulwark: flow app>db", true, 100, 150000, ""});
  dump.push_back({"flow-reply.app.db", 0, "bulwark: flow-reply app>db", true, 80, 2000000, ""});
  auto t = firewall::summarize(dump);
  CounterReport r;
  r.pairs = t.pairs;
  r.rules = t.rules;
  r.tablePresent = true;
  auto j = countersJson(r);
  EXPECT_EQ(j["zone_pairs"][0]["packets"], 19 + 180);
  EXPECT_EQ(j["zone_pairs"][0]["bytes"], 1900 + 2150000);
  EXPECT_EQ(j["zone_pairs"][0]["established_bytes"], 2150000);
  EXPECT_EQ(j["zone_pairs"][0]["reply_packets"], 80);
  EXPECT_EQ(j["zone_pairs"][0]["reply_bytes"], 2000000);
  auto text = renderMetrics(r, ReconcilerStats{}, 1, false, 0.01);
  EXPECT_NE(text.find("bulwark_zone_bytes_total{from=\"app\",to=\"db\"} 2151900\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_zone_packets_total{from=\"app\",to=\"db\"} 199\n"), std::string::npos);
}

TEST(Metrics, PerRuleAndZonePairDrops) {
  auto c = report();
  c.conntrack = {12, 262144};
  ReconcilerStats s;
  s.appliesOk = 2;
  s.driftRepairs = 1;
  auto text = renderMetrics(c, s, 4, true, 0.01);
  EXPECT_NE(text.find("bulwark_rule_packets_total{rule=\"public-web\",origin=\"campus.yaml:78\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_zone_drop_packets_total{from=\"app\",to=\"db\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_zone_packets_total{from=\"app\",to=\"db\"} 19\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_zone_bytes_total{from=\"lan\",to=\"db\"} 100\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_drift_repairs_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_confirm_pending 1\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_conntrack_entries 12\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_conntrack_limit 262144\n"), std::string::npos);
}

TEST(Metrics, Tunnels) {
  nlohmann::json rows = nlohmann::json::array();
  rows.push_back({{"user", "alice"}, {"group", "netops"}, {"virtual_ip", "10.250.0.1"}, {"state", "ESTABLISHED"},
                  {"bytes_in", 1200}, {"bytes_out", 3400}});
  rows.push_back({{"user", "dave"}, {"group", "dba"}, {"virtual_ip", ""}, {"state", "CONNECTING"},
                  {"bytes_in", 0}, {"bytes_out", 0}});
  auto text = renderTunnelMetrics(rows);
  EXPECT_NE(text.find("bulwark_tunnels_up 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bulwark_tunnel_bytes_in_total{user=\"alice\",group=\"netops\",virtual_ip=\"10.250.0.1\"} 1200\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bulwark_tunnel_bytes_out_total{user=\"alice\",group=\"netops\",virtual_ip=\"10.250.0.1\"} 3400\n"),
            std::string::npos)
      << text;
}

TEST(History, RecordsLoadsAndKeepsStatus) {
  auto dir = std::filesystem::temp_directory_path() / ("bulwarkd-history-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto h = History::open(dir);
    ASSERT_TRUE(h.ok());
    Revision r;
    r.hash = "abc";
    r.who = "alice (uid 1000)";
    r.status = "pending";
    r.sources = {{"p.yaml", "segments: []\n"}};
    auto n = h->record(r);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1);
    ASSERT_TRUE(h->setStatus(1, "rolled-back").ok());
  }
  auto h = History::open(dir);
  ASSERT_TRUE(h.ok());
  ASSERT_NE(h->latest(), nullptr);
  EXPECT_EQ(h->latest()->status, "rolled-back");
  auto full = h->load(1);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->sources.size(), 1u);
  EXPECT_EQ(full->sources[0].text, "segments: []\n");
  EXPECT_FALSE(h->load(2).ok());
  // The `revision` op's path: the file of a recorded revision only, read without the History.
  EXPECT_FALSE(h->fileIfRecorded(2).has_value());
  auto file = h->fileIfRecorded(1);
  ASSERT_TRUE(file.has_value());
  auto loaded = History::loadFile(*file);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->number, 1);
  EXPECT_EQ(loaded->status, "rolled-back");
  ASSERT_EQ(loaded->sources.size(), 1u);
  EXPECT_EQ(loaded->sources[0].text, "segments: []\n");
  std::filesystem::remove_all(dir);
}

gateway::Request requestOf(const char* line) {
  auto parsed = gateway::parseRequest(line);
  EXPECT_TRUE(parsed.request.has_value()) << parsed.error;
  return parsed.request.value_or(gateway::Request{});
}

TEST(RequestArgs, GitCommitIsAnObjectNameWithSourcesOnly) {
  const std::string sources = R"("sources":[{"name":"p.yaml","text":"segments: []\n"}])";
  for (const char* ok : {"0123abc", "0123abc-dirty", "0123456789abcdef0123456789abcdef01234567",
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-dirty"}) {
    auto req = requestOf(("{\"id\":1,\"op\":\"apply\"," + sources + ",\"git_commit\":\"" + ok + "\"}").c_str());
    auto in = sourcesArg(req);
    ASSERT_TRUE(in.ok()) << ok << ": " << in.error().message;
    ASSERT_TRUE(in->has_value());
    EXPECT_EQ((*in)->gitCommit, ok);
    EXPECT_EQ((*in)->origin, "payload");
  }
  // Too short or long, upper case, not hex, a dirty mark alone or twice, a newline, not a string.
  for (const char* bad : {"\"0123ab\"", "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\"",
                          "\"0123ABC\"", "\"0123abg\"", "\"-dirty\"", "\"0123abc-dirty-dirty\"",
                          "\"0123abc\\n\"", "1234567", "[\"0123abc\"]"}) {
    auto req = requestOf(("{\"id\":1,\"op\":\"apply\"," + sources + ",\"git_commit\":" + bad + "}").c_str());
    auto in = sourcesArg(req);
    ASSERT_FALSE(in.ok()) << bad;
    EXPECT_EQ(in.error().message, "'git_commit' must be 7-64 lowercase hex digits, optionally followed by \"-dirty\"");
  }
  auto without = requestOf(R"({"id":1,"op":"apply","git_commit":"0123abc"})");
  auto in = sourcesArg(without);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().message, "'git_commit' goes with 'sources'");
  auto none = requestOf(("{\"id\":1,\"op\":\"apply\"," + sources + "}").c_str());
  auto plain = sourcesArg(none);
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_EQ((*plain)->gitCommit, "");
}

TEST(RequestArgs, RevisionNamesItsOp) {
  auto req = requestOf(R"({"id":1,"op":"revision","revision":4294967297})");
  auto r = revisionArg(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "revision needs an integer 'revision' from 1 to 2147483647");
  auto rb = requestOf(R"({"id":1,"op":"rollback","revision":0})");
  EXPECT_EQ(revisionArg(rb).error().message, "rollback needs an integer 'revision' from 1 to 2147483647");
  EXPECT_EQ(revisionArg(requestOf(R"({"id":1,"op":"revision","revision":7})")).value(), 7);
  EXPECT_FALSE(gateway::opChanges(gateway::Op::Revision));  // the view role reads revisions
  EXPECT_EQ(gateway::parseOp("revision"), gateway::Op::Revision);
}

TEST(EventLoop, PostFromAnotherThreadWakesTheLoop) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  EventLoop& ev = *loop;
  ev.after(std::chrono::seconds(10), [&ev] { ev.stop(2); });  // only if the post never arrives
  const auto loopThread = std::this_thread::get_id();
  std::vector<int> order;
  std::thread::id ranOn;
  std::thread poster([&ev, &order, &ranOn] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the loop is in epoll_wait by now
    ev.post([&order] { order.push_back(1); });
    ev.post([&ev, &order, &ranOn] {
      order.push_back(2);
      ranOn = std::this_thread::get_id();
      ev.stop(0);
    });
  });
  EXPECT_EQ(ev.run(), 0);
  poster.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(ranOn, loopThread);
}

// A stand-in dump that waits for the test to open a gate, and counts its calls.
struct GatedDump {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};
  std::thread::id ranOn;
  gateway::Result<CounterReport> operator()() {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [this] { return open; });
    ranOn = std::this_thread::get_id();
    CounterReport r;
    r.tablePresent = true;
    r.rules.push_back(RuleTotal{"dump", "", static_cast<std::uint64_t>(++calls), 0, {}, {}});
    return r;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(CounterWorker, ConcurrentRequestsShareOneDumpOffTheLoopThread) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  EventLoop& ev = *loop;
  ev.after(std::chrono::seconds(10), [&ev] { ev.stop(2); });
  GatedDump dump;
  CounterWorker worker(ev, [&dump] { return dump(); },
                       [](const CounterReport& r) { return "rendered " + std::to_string(r.rules.at(0).packets); });
  std::vector<std::uint64_t> seen;  // the dump number each callback got
  std::vector<std::string> texts;   // what the worker rendered for each
  bool refused = false;
  ev.after(std::chrono::milliseconds(0), [&] {
    for (std::size_t i = 0; i < CounterWorker::kMaxWaiters; ++i) {
      ASSERT_TRUE(worker.request(
          [&](const CounterWorker::Sample& s) {
            ASSERT_TRUE(s.counters);
            seen.push_back(s.counters->rules.at(0).packets);
            texts.push_back(s.series.value_or("none"));
            if (seen.size() == CounterWorker::kMaxWaiters) {
              // All of them answered by one dump; the next request starts a second one.
              EXPECT_TRUE(worker.request([&](const CounterWorker::Sample& s2) {
                seen.push_back(s2.counters->rules.at(0).packets);
                texts.push_back(s2.series.value_or("none"));
                ev.stop(0);
              }));
            }
          },
          i == 0));  // the first asks for the text; those that join share it
    }
    refused = !worker.request([](const CounterWorker::Sample&) { ADD_FAILURE() << "a refused request was called"; });
    EXPECT_EQ(worker.dumpsStarted(), 1U);
    dump.release();  // only now may the one dump in flight finish
  });
  EXPECT_EQ(ev.run(), 0);
  EXPECT_TRUE(refused);
  ASSERT_EQ(seen.size(), CounterWorker::kMaxWaiters + 1);
  for (std::size_t i = 0; i < CounterWorker::kMaxWaiters; ++i) EXPECT_EQ(seen[i], 1U) << i;
  EXPECT_EQ(seen.back(), 2U);
  for (std::size_t i = 0; i < CounterWorker::kMaxWaiters; ++i) EXPECT_EQ(texts[i], "rendered 1") << i;
  EXPECT_EQ(texts.back(), "none");         // the second dump: nobody asked for text
  EXPECT_EQ(dump.calls.load(), 2);
  EXPECT_EQ(worker.dumpsStarted(), 2U);
  EXPECT_NE(dump.ranOn, std::this_thread::get_id());
}

}  // namespace
}  // namespace bulwark::daemon
