// bulwarkd: keeps the kernel in line with the policy. Loads and validates the policy
// directory, reconciles each resource kind (the apply engine's: firewall, links, VPN), serves
// the control socket, repairs drift, writes the audit trail, serves metrics, and talks to
// systemd. It never flushes anything on exit: the kernel keeps the ruleset, and the next
// start adopts it with an empty plan.
#include <CLI/CLI.hpp>
#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>

#include "bulwark/gateway/protocol.h"
#include "bulwark/ha/privileges.h"
#include "bulwark/pki/pki.h"
#include "bulwark/policies/model.h"
#include "conntrack_pressure.h"
#include "control_server.h"
#include "counter_worker.h"
#include "counters.h"
#include "drift_watch.h"
#include "event_loop.h"
#include "dnat_health.h"
#include "ha_runtime.h"
#include "handlers.h"
#include "job_worker.h"
#include "kinds.h"
#include "link_watch.h"
#include "vpn_kind.h"
#include "metrics.h"
#include "monitor.h"
#include "pair_monitor.h"
#include "peer_link.h"
#include "reconciler.h"
#include "sd_notify.h"
#include "tls_listener.h"
#include "web_server.h"

namespace {

using namespace bulwark;
using namespace bulwark::daemon;

struct Options {
  std::string policyDir;
  std::string socketPath = gateway::kDefaultSocketPath;
  std::string stateDir = gateway::kDefaultStateDir;
  std::string metrics = gateway::kDefaultMetricsAddress;
  std::string drift = "repair";
  std::string changeGroup = gateway::kGroupChange;
  std::string viewGroup = gateway::kGroupView;
  std::string pkiDir = pki::kDefaultDir;
  int maxConfirm = 3600;
  int driftIntervalSeconds = 30;
  bool noJournal = false;
  bool noLinks = false;   // the segment links are someone else's: no links kind
  std::string vici;       // charon's VICI socket; empty: no VPN kind
  bool libipsec = false;  // charon uses kernel-libipsec (force UDP encapsulation)
  bool ha = false;        // the HA pair (policy ha:): keepalived and conntrackd as kinds
  HaOptions haOptions;
  std::string peerCert, peerKey;  // this node's certificate for the pair (default: peerFilesOf)
};

void releaseFreeMemory() { ::malloc_trim(0); }

void log(const std::string& line) { std::cerr << "bulwarkd: " << line << std::endl; }

std::string describe(const Outcome& o) {
  if (o.ok) return o.body.value("summary", std::string("ok"));
  std::string s = o.message;
  for (const auto& d : o.details) s += "\n  " + d;
  return s;
}

// Drops per zone pair since the last summary, for the events stream.
class DropSummary {
 public:
  // `report`: one counters-only dump (never a read-back of the table), from the worker.
  nlohmann::json next(const gateway::Result<CounterReport>& report) {
    nlohmann::json rows = nlohmann::json::array();
    if (!report) return rows;
    std::map<std::string, std::uint64_t> now;
    for (const auto& p : report->pairs) now[p.from + ">" + p.to] += p.dropPackets;
    for (const auto& [pair, packets] : now) {
      auto before = last_.count(pair) ? last_[pair] : 0;
      if (packets > before) rows.push_back({{"zone_pair", pair}, {"packets", packets - before}});
    }
    last_ = std::move(now);
    return rows;
  }

 private:
  std::map<std::string, std::uint64_t> last_;
};

int run(const Options& opt) {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {
    log(std::string("sigprocmask: ") + std::strerror(errno));
    return 1;
  }
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sigfd.valid()) {
    log(std::string("signalfd: ") + std::strerror(errno));
    return 1;
  }

  if (::geteuid() == 0) {
    // Works, but with every privilege root has (it could read /etc/shadow); the shipped unit
    // and gateway/systemd/run-bulwarkd.sh run it as _bulwarkd with CAP_NET_ADMIN only.
    log("running as root: run bulwarkd as its own user with CAP_NET_ADMIN only (gateway/daemon/README.md)");
  }
  if (opt.ha) {
    // Before anything is created or started: a node that cannot give keepalived its raw
    // socket would otherwise come up with the pair half there (ha/privileges.h).
    auto caps = ha::currentCaps();
    auto ok = caps ? ha::checkChildPrivileges(*caps, !opt.haOptions.charon.empty()) : ha::Status(caps.error());
    if (!ok) {
      log(ok.error().message);
      return 1;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(opt.stateDir, ec);
  ::chmod(opt.stateDir.c_str(), 0750);
  auto history = History::open(opt.stateDir);
  if (!history) {
    log(history.error().message);
    return 1;
  }
  auto audit = AuditLog::open(std::filesystem::path(opt.stateDir) / "audit.log", !opt.noJournal);
  if (!audit) {
    log(audit.error().message);
    return 1;
  }
  auto loop = EventLoop::create();
  if (!loop) {
    log(loop.error().message);
    return 1;
  }
  EventLoop& ev = *loop;
  // Everything runs on this one loop: say when something held it (no request answered).
  ev.onSlow(std::chrono::milliseconds(250), [](const std::string& what, double ms) {
    log("event loop held " + std::to_string(static_cast<long>(ms)) + " ms by " + what);
  });

  // ---- ha: the pair's daemons (audited through the reconciler, once it exists) ----
  Reconciler* recPtr = nullptr;
  std::unique_ptr<HaRuntime> haRuntime;
  if (opt.ha) {
    haRuntime = std::make_unique<HaRuntime>(ev, opt.haOptions, [&recPtr](AuditEvent e) {
      if (recPtr == nullptr) return;
      e.revision = recPtr->currentRevision();
      recPtr->audit().record(e);
    });
  }
  // ---- end ha ----
  // Health checks (gateway/health) on threads of their own, from this namespace; the DNAT
  // maps follow them (one element update per change), and the firewall kind writes the maps
  // as health has them (dnat_health.h).
  DnatHealth dnatHealth(ev);
  // The engine's registered kinds, as `bulwarkctl apply --direct` gets them, plus what only
  // the daemon runs: the health overlay and checks, the pair's keepalived and conntrackd.
  const std::string viciUri = opt.vici.empty() ? std::string() : viciUriOf(opt.vici);
  engine::KindOptions kindOptions;
  kindOptions.firewallOverlay = dnatHealth.overlay();
  auto tableJournal = std::make_shared<firewall::TableJournal>();  // fed by the drift watch below
  kindOptions.firewallJournal = tableJournal;
  kindOptions.links = !opt.noLinks;
  kindOptions.ha = opt.ha;
  kindOptions.haNode = opt.haOptions.node;
  kindOptions.haFiles = haRuntime.get();
  if (!viciUri.empty()) {
    VpnOptions vo{viciUri, opt.pkiDir, opt.libipsec, {}};
    if (haRuntime) vo.standby = [rt = haRuntime.get()] { return rt->charonStandby(); };
    kindOptions.vpn = std::move(vo);
  }
  kindOptions.health = &dnatHealth;
  Reconciler rec(ev, opt.policyDir, std::move(*history), std::move(*audit), engine::registeredKinds(kindOptions),
                 opt.drift == "alert" ? DriftMode::Alert : DriftMode::Repair);
  dnatHealth.attach(rec);
  recPtr = &rec;

  HandlerLimits limits{opt.maxConfirm, viciUri};
  auto groups = resolveAccessGroups(opt.changeGroup, opt.viewGroup);
  // Counter dumps (metrics, drop summaries, the counters op) on a thread of their own: at 10k
  // rules one dump takes ~0.5 s, which the loop (status, the control API) must not wait for.
  CounterWorker counterWorker(ev, collectCounters, [viciUri](const CounterReport& c) {
    return renderCounterSeries(c) + tunnelSeries(viciUri);  // charon's answer too, off the loop
  });
  // Loading, validating and compiling policies (plan, apply, rollback, reload), large request
  // lines and charon's answers: on the policy worker, never on the loop.
  JobWorker jobs(ev, "bulwarkd-policy");
  rec.revokeOn(jobs);  // revocation's dump and deletes run there (reconciler.h)
  RequestHandlers handlers(ev, rec, jobs, counterWorker, limits);
  // The HA pair's calls to the other node wait on the network: a worker of their own.
  JobWorker peerJobs(ev, "bulwarkd-peer");
  PairMonitor pairMonitor(ev, peerJobs, handlers, rec, log);
  std::string nodeName;
  if (opt.ha) {
    auto n = ha::localNodeName(opt.haOptions.node);
    if (n) nodeName = *n;
  }
  // The remote (TLS) listener; configured from the policy dir's gateway.control below.
  std::unique_ptr<TlsControlServer> tls;
  // gateway.control as the reconciler's own load of the dir found it (startup, reload): the
  // dir is parsed once per startup/reload, not a second time here (with the 10k-flow policy
  // that second parse left ~26 MB of freed heap resident after startup). Unset: the dir did
  // not load since the listener was last configured; the listener stays as it is.
  std::optional<std::optional<TlsListenConfig>> tlsWanted;
  // The same for gateway.web and the segments the web view shows.
  std::optional<std::optional<WebListenConfig>> webWanted;
  std::optional<MonitorLayout> layoutWanted;
  // The pair (peer_link.h) as the dir's policy has it; unset: the dir did not load.
  std::optional<std::optional<PeerConfig>> pairWanted;
  std::unique_ptr<TlsControlServer> peerTls;  // on this node's own ha.nodes[].control address
  rec.onDirPolicy([&](const policies::Policy& p) {
    tlsWanted = tlsConfigOf(p);
    if (!nodeName.empty()) {
      auto files = peerFilesOf(opt.pkiDir, nodeName);
      if (!opt.peerCert.empty()) files.cert = opt.peerCert;
      if (!opt.peerKey.empty()) files.key = opt.peerKey;
      auto pc = peerConfigOf(p, nodeName, files);
      if (!pc) log("ha: " + pc.error().message);
      pairWanted = pc ? std::move(*pc) : std::optional<PeerConfig>();
      if (*pairWanted && *tlsWanted) (*tlsWanted)->roles.peerNode = (*pairWanted)->peer;
    }
    webWanted = webConfigOf(p);
    layoutWanted = monitorLayoutOf(p);
    if (p.ha && !opt.ha) log("the policy has an ha: section but bulwarkd runs without --ha: keepalived and conntrackd are not managed");
  });
  // The web view: a server on threads of its own fed by the monitor on this loop.
  WebFeed webFeed;
  Monitor monitor(webFeed);
  monitor.loadAuditTail((std::filesystem::path(opt.stateDir) / "audit.log").string());
  WebServer web(tlsFilesOfPki(opt.pkiDir), webFeed, log);
  std::unique_ptr<MonitorWorker> monitorWorker;
  std::function<void(MonitorSample)> onMonitorSample;  // set below, once the counter worker exists
  auto configureWeb = [&] {
    if (layoutWanted) monitor.setLayout(std::move(*layoutWanted));
    layoutWanted.reset();
    if (!webWanted) return;  // as for the control API: keep the last good listener
    auto cfg = std::move(*webWanted);
    webWanted.reset();
    bool changed = web.config() != cfg;
    auto st = web.configure(cfg);
    if (!st) {
      log(st.error().message);
    } else if (cfg && changed) {
      log("web view: https://" + cfg->address + ":" + std::to_string(cfg->port) + "/");
    }
    // Sampling runs while the web view is configured (a page opened later shows the hour).
    if (web.config() && !monitorWorker) {
      monitorWorker = std::make_unique<MonitorWorker>(ev, viciUri, [&](MonitorSample s) { onMonitorSample(std::move(s)); });
    } else if (!web.config()) {
      monitorWorker.reset();
    }
  };
  auto configurePair = [&] {
    if (!pairWanted) return;
    auto cfg = std::move(*pairWanted);
    pairWanted.reset();
    std::optional<TlsListenConfig> listen;
    if (cfg && tls->config()) {
      listen = TlsListenConfig{cfg->ownAddress, cfg->port, tls->config()->roles};
    }
    const bool changed = handlers.pair() != cfg;
    auto st = peerTls->configure(listen);
    if (!st) log("ha: the peer listener: " + st.error().message);
    handlers.setPair(cfg, &peerJobs);
    if (changed && cfg) {
      log("ha: one policy for both nodes: this node " + cfg->node + " (control API also on " + cfg->ownAddress +
          "), peer " + cfg->describe());
    }
    pairMonitor.checkSoon();
  };
  auto configureTls = [&] {
    if (!tlsWanted) return configurePair();  // keep the last good listener; the failure shows in status
    auto cfg = std::move(*tlsWanted);
    tlsWanted.reset();
    bool changed = tls->config() != cfg;
    auto st = tls->configure(cfg);
    if (!st) {
      log("remote control: " + st.error().message);
    } else if (cfg && changed) {
      log("remote control: TLS on " + cfg->address + " port " + std::to_string(cfg->port));
    }
    configurePair();
  };
  // Loading and compiling a large policy leaves a big free heap behind: glibc keeps freed
  // memory at the top of the heap and in fragmented arenas instead of returning it, so hand
  // it back (cheap next to the work that produced it; keeps the steady-state RSS small).
  handlers.afterHeavyWork([&pairMonitor] {
    releaseFreeMemory();
    pairMonitor.checkSoon();  // the pair's status follows a change here at once
  });
  jobs.afterEachJob(releaseFreeMemory);
  // After the request's connection is done with: re-binding may close the listener.
  handlers.onReloaded([&] {
    ev.after(std::chrono::milliseconds(0), configureTls);
    ev.after(std::chrono::milliseconds(0), configureWeb);
  });
  handlers.addToStatus([&haRuntime, &pairMonitor](nlohmann::json& body) {
    if (haRuntime) body["ha"] = haRuntime->status();
    auto peer = pairMonitor.status();
    if (!peer.is_null()) body["peer"] = std::move(peer);
  });
  auto refuse = [&rec](const Peer& p, std::string_view what) {
    // `what` is one of our op names or "connect ...": never bytes the peer sent.
    rec.audit().record({"denied", p.who(), p.tls ? -1L : static_cast<long>(p.uid), rec.currentRevision(), "",
                        "refused '" + std::string(what) + "' for role " + std::string(gateway::roleName(p.role)),
                        false, {}});
  };
  DispatchContext dispatch;
  dispatch.handler = [&handlers](const Peer& p, gateway::Request& req, Responder& respond) {
    return handlers(p, req, respond);
  };
  dispatch.denied = refuse;
  auto server = ControlServer::listen(ev, opt.socketPath, groups, dispatch, &jobs, log);
  if (!server) {
    log(server.error().message);
    return 1;
  }
  ControlServer& srv = **server;
  tls = std::make_unique<TlsControlServer>(ev, tlsFilesOfPki(opt.pkiDir), dispatch, &jobs, log);
  peerTls = std::make_unique<TlsControlServer>(ev, tlsFilesOfPki(opt.pkiDir), dispatch, &jobs, log);
  // The CRL running out refuses every TLS client: the audit trail (and so the events stream,
  // the console and the web view) says so ahead, not only the log. One gate for both listeners.
  CrlAuditGate crlGate;
  auto crlAudit = [&rec, &crlGate](const CrlNotice& n) {
    if (!crlGate.news(n)) return;
    rec.audit().record({n.expired ? "crl-expired" : "crl-expiring", "bulwarkd (pki)", -1, rec.currentRevision(), "",
                        n.text, false, {{"next_update", static_cast<long long>(n.nextUpdate)}}});
  };
  tls->onCrlNotice(crlAudit);
  peerTls->onCrlNotice(crlAudit);
  rec.audit().setListener([&srv, &tls, &peerTls, &monitor](const nlohmann::json& e) {
    srv.broadcast(e);
    tls->broadcast(e);
    peerTls->broadcast(e);
    monitor.onAudit(e);
  });

  // Drift: nftables notifications, debounced (one re-observe per burst), plus a slow
  // periodic check as a safety net.
  bool driftScheduled = false;
  auto scheduleDrift = [&ev, &rec, &driftScheduled](const char* why, std::chrono::milliseconds delay) {
    if (driftScheduled) return;
    driftScheduled = true;
    ev.after(delay, [&rec, &driftScheduled, why] {
      driftScheduled = false;
      rec.checkDrift(why);
      releaseFreeMemory();
    });
  };
  auto watch = DriftWatch::start(
      ev, [&] { scheduleDrift("nftables event", std::chrono::milliseconds(50)); }, tableJournal);
  if (!watch) log("drift watch disabled: " + watch.error().message);
  auto linkWatch = LinkWatch::start(ev, [&] { scheduleDrift("link event", std::chrono::milliseconds(50)); });
  if (!linkWatch) log("link drift watch disabled: " + linkWatch.error().message);
  // Tunnel up/down for the events stream; a charon that comes back has lost its config, and
  // one that went away is the VPN kind's error now (its observe cannot reach charon).
  std::unique_ptr<VpnEvents> vpnEvents;
  if (!viciUri.empty()) {
    vpnEvents = std::make_unique<VpnEvents>(
        ev, viciUri,
        [&srv, &tls](const nlohmann::json& e) {
          srv.broadcast(e);
          tls->broadcast(e);
        },
        [&] { scheduleDrift("charon reconnected", std::chrono::milliseconds(0)); },
        [&] { scheduleDrift("charon lost", std::chrono::milliseconds(0)); });
  }

  auto started = rec.startup();
  dnatHealth.startupDone();
  releaseFreeMemory();
  log("startup: " + describe(started));
  // A policy dir that changed while bulwarkd was down narrows like an apply.
  if (started.firewallChange) {
    rec.revoke(std::move(*started.firewallChange), {}, Actor{"bulwarkd (startup)", -1}, nullptr);
  }
  configureTls();
  auto statusLine = [&rec] {
    auto s = rec.status();
    std::string line = "revision " + std::to_string(s.value("revision", 0));
    for (const auto& k : s["kinds"]) line += ", " + k.value("kind", std::string()) + " " + k.value("state", std::string());
    if (!s.value("policy_error", std::string()).empty()) line += ", policy: " + s.value("policy_error", std::string());
    return line;
  };

  ConntrackPressure ctPressure;  // read once a second below
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!opt.metrics.empty() && opt.metrics != "off") {
    auto m = MetricsEndpoint::start(ev, opt.metrics, rec, counterWorker);
    if (m) {
      metrics = std::move(*m);
      metrics->addSeries([&rec, &monitor] {
        std::string text = monitor.metricsText();
        // For the "about to roll back" alert: seconds until a pending confirm rolls back.
        text += "# HELP bulwark_confirm_seconds_left Seconds until a pending apply rolls back (0: none pending).\n"
                "# TYPE bulwark_confirm_seconds_left gauge\nbulwark_confirm_seconds_left ";
        auto deadline = rec.confirmDeadline();
        text += std::to_string(
            deadline ? std::max<double>(0, std::chrono::duration<double>(*deadline - Clock::now()).count()) : 0.0);
        text += '\n';
        return text;
      });
      metrics->addSeries([&dnatHealth] { return dnatHealth.metrics(); });
      if (haRuntime) metrics->addSeries([&haRuntime] { return haRuntime->metrics(); });
      metrics->addSeries([&pairMonitor] { return pairMonitor.metrics(); });
      metrics->addSeries([&ctPressure] { return ctPressure.metrics(); });
    } else {
      log("metrics disabled: " + m.error().message);
    }
  }
  // Each monitor sample with the rule counters of that moment (the shared counter dump).
  onMonitorSample = [&](MonitorSample s) {
    monitor.setRevision(rec.currentRevision());
    monitor.setHealth(dnatHealth.webStatus());
    monitor.setHa(haRuntime ? haRuntime->status() : nlohmann::json());
    auto shared = std::make_shared<MonitorSample>(std::move(s));
    if (!counterWorker.request([&monitor, shared](const CounterWorker::Sample& c) { monitor.onSample(*shared, c.counters); })) {
      monitor.onSample(*shared, gateway::Error{"counter dumps queued up"});
    }
  };
  configureWeb();
  pairMonitor.start();

  std::function<void()> periodic = [&] {
    scheduleDrift("periodic check", std::chrono::milliseconds(0));
    ev.after(std::chrono::seconds(opt.driftIntervalSeconds), periodic);
  };
  if (opt.driftIntervalSeconds > 0) ev.after(std::chrono::seconds(opt.driftIntervalSeconds), periodic);

  DropSummary drops;
  std::function<void()> dropTick = [&] {
    if (srv.subscribers() + tls->subscribers() > 0) {
      (void)counterWorker.request([&](const CounterWorker::Sample& sample) {
        auto rows = drops.next(sample.counters);
        if (rows.empty()) return;
        nlohmann::json e{{"event", "drop-summary"}, {"time", utcNow()}, {"drops", rows}};
        srv.broadcast(e);
        tls->broadcast(e);  // the console's events over TLS too
      });  // false: 64 scrapes wait already; the next tick catches up (the drops are deltas)
    }
    ev.after(std::chrono::seconds(10), dropTick);
  };
  ev.after(std::chrono::seconds(10), dropTick);

  // Conntrack pressure (conntrack_pressure.h): two /proc reads a second, on the loop.
  std::function<void()> pressureTick = [&] {
    if (auto e = ctPressure.update(readConntrack())) {
      e->revision = rec.currentRevision();
      e->policyHash = rec.currentHash();
      log(e->summary);
      rec.audit().record(*e);
    }
    ev.after(std::chrono::seconds(1), pressureTick);
  };
  ev.after(std::chrono::seconds(1), pressureTick);

  auto wd = watchdogInterval();
  std::function<void()> watchdog = [&] {
    notifyWatchdog();
    ev.after(wd, watchdog);
  };
  if (wd.count() > 0) ev.after(wd, watchdog);

  auto s = ev.watch(sigfd.get(), EPOLLIN, [&](std::uint32_t) {
    signalfd_siginfo si{};
    while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo == SIGHUP) {
        notifyReloading();
        // The same reload as the `reload` op: the dir is loaded on the policy worker.
        handlers.reload(Actor{"SIGHUP from pid " + std::to_string(si.ssi_pid), static_cast<long>(si.ssi_uid)},
                        [&](const Outcome& r) {
                          log("reload: " + describe(r));
                          notifyReady(statusLine());
                        });
      } else {
        notifyStopping();
        log("stopping (the kernel keeps the ruleset)");
        ev.stop(0);
      }
    }
  });
  if (!s) {
    log(s.error().message);
    return 1;
  }

  notifyReady(statusLine());
  log("ready: " + statusLine() + "; control socket " + opt.socketPath);
  int rc = ev.run();
  // keepalived first (it hands the floating addresses to the peer), while the audit log is open.
  if (haRuntime) haRuntime->shutdown();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  // Two malloc arenas: the main one (the loop) and one the worker threads share. glibc makes
  // up to 8 per core, one per thread that allocates while another holds an arena, and each
  // keeps the pages its thread freed: the policy, counter and web workers grew the daemon's
  // RSS by 2-6 MB that way (docs/performance.md, "Memory over an hour"). The workers take
  // turns on the loop's jobs; they do not contend for an arena.
  ::mallopt(M_ARENA_MAX, 2);
  Options opt;
  CLI::App app{"bulwarkd: the Bulwark gateway daemon"};
  app.set_version_flag("--version", std::string("bulwarkd ") + BULWARK_VERSION);
  app.add_option("--policy", opt.policyDir, "Policy file or directory")->required();
  app.add_option("--socket", opt.socketPath, "Control socket path")->capture_default_str();
  app.add_option("--state-dir", opt.stateDir, "History and audit log directory")->capture_default_str();
  app.add_option("--metrics", opt.metrics, "Prometheus listen address HOST:PORT, or 'off'")->capture_default_str();
  app.add_option("--drift", opt.drift, "On a foreign change: repair it, or only alert")
      ->check(CLI::IsMember({"repair", "alert"}))
      ->capture_default_str();
  app.add_option("--drift-interval", opt.driftIntervalSeconds, "Periodic drift check in seconds (0 = events only)")
      ->capture_default_str();
  app.add_option("--change-group", opt.changeGroup, "Group (name or gid) whose members may change")->capture_default_str();
  app.add_option("--view-group", opt.viewGroup, "Group (name or gid) whose members may read")->capture_default_str();
  app.add_option("--max-confirm", opt.maxConfirm, "Longest commit-confirm window in seconds")->capture_default_str();
  app.add_option("--pki", opt.pkiDir, "PKI directory (bulwarkctl pki): CA, CRL and server certificate of the TLS listener")
      ->capture_default_str();
  app.add_flag("--no-journal", opt.noJournal, "Audit to the state dir's audit.log only");
  app.add_flag("--no-links", opt.noLinks,
               "Leave the segment links alone (created by someone else): firewall (and VPN) only");
  app.add_option("--vici", opt.vici, "charon's VICI socket (path or unix:// URI): reconcile the admin VPN (off when absent)");
  app.add_flag("--libipsec", opt.libipsec, "charon uses kernel-libipsec (userspace ESP): force UDP encapsulation");
  app.add_flag("--ha", opt.ha, "Run the HA pair of the policy's ha: section (keepalived, conntrackd) as children");
  app.add_option("--node", opt.haOptions.node, "This node's name in ha.nodes (default: /etc/bulwark/node, else the hostname)");
  app.add_option("--ha-dir", opt.haOptions.dir, "Private runtime directory of keepalived and conntrackd")->capture_default_str();
  app.add_option("--keepalived", opt.haOptions.keepalived, "keepalived binary")->capture_default_str();
  app.add_option("--conntrackd", opt.haOptions.conntrackd, "conntrackd binary")->capture_default_str();
  app.add_option("--charon", opt.haOptions.charon, "With --ha: charon binary to run on the active node only (admin VPN)");
  app.add_option("--charon-conf", opt.haOptions.charonConf, "strongswan.conf for --charon (STRONGSWAN_CONF)");
  app.add_option("--peer-cert", opt.peerCert,
                 "With --ha: this node's certificate for the pair, PEM (default <pki>/issued/NODE/NODE.crt)");
  app.add_option("--peer-key", opt.peerKey, "With --ha: its key, PEM (default <pki>/issued/NODE/NODE.key)");
  CLI11_PARSE(app, argc, argv);
  return run(opt);
}
