#include "ha_runtime.h"

#include <net/if.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bulwark/ha/keepalived_check.h"
#include "utc_time.h"

namespace bulwark::daemon {

namespace {

using ha::VrrpState;
constexpr std::chrono::seconds kSyncSilence{3};  // FTFW sends at least an alive message a second

void log(const std::string& line) { std::cerr << "bulwarkd: ha: " << line << std::endl; }

ha::Status writeFile(const std::filesystem::path& p, const std::string& text) {
  auto tmp = p;
  tmp += ".new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return ha::sysError("write " + tmp.string(), errno);
    out << text;
    out.flush();
    if (!out) return ha::sysError("write " + tmp.string(), errno);
  }
  ::chmod(tmp.c_str(), 0600);
  std::error_code ec;
  std::filesystem::rename(tmp, p, ec);
  if (ec) return ha::Error{"rename " + tmp.string() + ": " + ec.message(), ec.value()};
  return ha::okStatus();
}

std::optional<policies::IpAddress> firstV4(const std::vector<policies::InterfaceAddress>& v) {
  for (const auto& a : v) {
    if (a.ip.isV4()) return a.ip;
  }
  return std::nullopt;
}

}  // namespace

HaRuntime::HaRuntime(EventLoop& loop, HaOptions options, Audit audit)
    : loop_(loop), haLoop_(loop), opt_(std::move(options)), audit_(std::move(audit)), paths_{opt_.dir} {
  // What a killed predecessor left (its configuration files above all): nothing of it is
  // running (its children died with it), so the kinds start from nothing.
  removeFiles();
}

HaRuntime::~HaRuntime() { shutdown(); }

void HaRuntime::audit(const std::string& event, const std::string& summary, bool ok, nlohmann::json detail) const {
  log(event + ": " + summary);
  if (!audit_) return;
  AuditEvent e;
  e.event = event;
  e.who = "bulwarkd (ha)";
  e.summary = summary;
  e.ok = ok;
  e.detail = detail.is_null() ? nlohmann::json::object() : std::move(detail);
  audit_(std::move(e));
}

std::filesystem::path HaRuntime::fileOf(HaFile f) const {
  return f == HaFile::Keepalived ? paths_.keepalivedConf() : paths_.conntrackdConf();
}

ha::Result<ha::NodeView> HaRuntime::view(const policies::Policy& policy) const {
  auto name = ha::localNodeName(opt_.node);
  if (!name) return name.error();
  auto v = ha::nodeView(policy, *name);
  if (!v) return v.error();
  std::vector<std::string> missing;
  auto need = [&](const std::string& ifname, const std::string& what) {
    if (::if_nametoindex(ifname.c_str()) == 0) missing.push_back(ifname + " (" + what + ")");
  };
  need(v->syncInterface, "the sync link");
  for (const auto& i : v->instances) need(i.interface, "floating addresses");
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    auto where = policy.ha->where.line > 0 ? policy.ha->where.str() + ": " : std::string();
    return ha::Error{where + "node " + v->node + " has no interface " + list};
  }
  return v;
}

ha::Status HaRuntime::checkKeepalived(const std::string& text) const {
  std::error_code ec;
  std::filesystem::create_directories(paths_.dir, ec);
  ::chmod(paths_.dir.c_str(), 0700);
  auto scratch = paths_.dir / "keepalived.conf.check-me";
  {
    std::ofstream out(scratch, std::ios::trunc);
    out << text;
    if (!out) return ha::sysError("write " + scratch.string(), errno);
  }
  auto st = ha::checkKeepalivedConfig(opt_.keepalived, scratch);
  std::filesystem::remove(scratch, ec);
  return st;
}

std::optional<std::string> HaRuntime::installed(HaFile f) const {
  std::ifstream in(fileOf(f), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ha::Status HaRuntime::install(HaFile f, const std::string& text, const std::optional<ha::NodeView>& given) {
  if (!given && !view_) return ha::Error{"no node view to put " + fileOf(f).filename().string() + " in effect with"};
  const ha::NodeView view = given ? *given : *view_;
  std::error_code ec;
  std::filesystem::create_directories(paths_.dir, ec);
  if (ec) return ha::Error{"create " + paths_.dir.string() + ": " + ec.message()};
  ::chmod(paths_.dir.c_str(), 0700);
  auto st = writeFile(fileOf(f), text);
  if (!st) return st;
  view_ = view;
  if (!guard_) guard_ = std::make_unique<ha::SplitBrainGuard>(view.priority > 100);
  if (running()) {
    if (f == HaFile::Keepalived) {
      sup_->signal("keepalived", SIGHUP);  // reloads; the role survives
      log("keepalived.conf changed: keepalived reloads it");
    } else {
      sup_->restart("conntrackd");
      log("conntrackd.conf changed: conntrackd restarted");
    }
    if (arp_) {
      std::set<policies::IpAddress> v4;
      for (const auto& a : view.floating) {
        if (a.isV4()) v4.insert(a);
      }
      arp_->watch(v4);
    }
    return ha::okStatus();
  }
  if (installed(HaFile::Keepalived) && installed(HaFile::Conntrackd)) start();
  return ha::okStatus();
}

void HaRuntime::start() {
  auto fifo = ha::NotifyFifo::open(paths_.notifyFifo());
  if (!fifo) {
    audit("ha-daemon", "keepalived's notify FIFO: " + fifo.error().message + "; role changes are not seen", false);
  } else {
    fifo_ = std::move(*fifo);
    haLoop_.watchReadable(fifo_->fd(), [this] { onNotify(); });
  }
  standDown(false);  // a crashed predecessor's value would keep this node out
  auto arp = ha::ArpWatch::open(haLoop_, [this](const ha::ArpSeen& s) { onArp(s); });
  if (arp) {
    arp_ = std::move(*arp);
    std::set<policies::IpAddress> v4;
    for (const auto& a : view_->floating) {
      if (a.isV4()) v4.insert(a);
    }
    arp_->watch(v4);
  } else {
    audit("ha-daemon", "split-brain detection is off: " + arp.error().message, false);
  }
  transitions_ = std::make_unique<ha::TransitionRunner>(haLoop_, paths_,
                                                        [this](const ha::TransitionReport& r) { onTransition(r); });
  const std::vector<std::string> env{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  std::vector<ha::SupervisedChild> children{
      {{"conntrackd", ha::conntrackdArgv(opt_.conntrackd, paths_), env, paths_.dir / "conntrackd.out"},
       paths_.conntrackdSocket(),
       std::chrono::milliseconds(5000),
       {paths_.conntrackdLock(), paths_.conntrackdSocket()}},
      {{"keepalived", ha::keepalivedArgv(opt_.keepalived, paths_), env, paths_.dir / "keepalived.log"},
       {},
       std::chrono::milliseconds(5000),
       {paths_.keepalivedPid(), paths_.vrrpPid(), paths_.checkersPid(), paths_.bfdPid()}}};
  sup_ = std::make_unique<ha::Supervisor>(
      haLoop_, std::move(children),
      ha::Supervisor::Hooks{[this](const std::string& child, const std::string& what) {
                              bool bad = what.rfind("exited", 0) == 0 || what.rfind("not ready", 0) == 0 ||
                                         what.rfind("cannot start", 0) == 0;
                              if (bad) audit("ha-daemon", child + " " + what, false, {{"daemon", child}});
                              else log(child + " " + what);
                            },
                            {}});
  sup_->start();
  tick_ = loop_.after(std::chrono::seconds(1), [this] { tick(); });
  audit("ha-start", "node " + view_->node + " (peer " + view_->peer + "): conntrackd and keepalived started", true,
        {{"node", view_->node}, {"peer", view_->peer}});
}

void HaRuntime::shutdown() {
  if (tick_) loop_.cancel(tick_);
  tick_ = 0;
  if (statsRequest_) {
    loop_.unwatch(statsRequest_->fd());
    statsRequest_.reset();
  }
  bool was = running();
  charon(false);
  if (sup_) sup_->stop();  // keepalived first: it gives up the floating addresses
  sup_.reset();
  transitions_.reset();
  arp_.reset();
  if (fifo_) {
    loop_.unwatch(fifo_->fd());
    fifo_.reset();
  }
  removeFiles();
  if (was) audit("ha-stop", "keepalived and conntrackd stopped", true);
  role_ = VrrpState::Init;
  view_.reset();
  guard_.reset();
}

void HaRuntime::removeFiles() const {
  std::error_code ec;
  for (const auto& p : {paths_.keepalivedConf(), paths_.conntrackdConf(), paths_.notifyFifo(), paths_.standDownFile(),
                        paths_.conntrackdLog(), paths_.conntrackdSocket(), paths_.conntrackdLock(), paths_.keepalivedPid(),
                        paths_.vrrpPid(), paths_.checkersPid(), paths_.bfdPid(), paths_.dir / "conntrackd.out",
                        paths_.dir / "keepalived.log", paths_.dir / "charon.log"}) {
    std::filesystem::remove(p, ec);
  }
  std::filesystem::remove(paths_.dir, ec);  // only if empty: nothing else of anyone's goes
}

// ---- role changes ------------------------------------------------------------------------------
void HaRuntime::onNotify() {
  if (!fifo_) return;
  bool grouped = view_ && view_->instances.size() > 1;
  for (const auto& line : fifo_->readLines()) {
    auto n = ha::parseNotifyLine(line);
    if (!n) continue;
    if (n->kind == ha::NotifyLine::Kind::MasterRxLowerPriority) {
      audit("ha-split-brain", "an advert from the peer with a lower priority reached this active node: both were "
                              "active (" + n->name + ")",
            false);
      continue;
    }
    bool decides = grouped ? n->kind == ha::NotifyLine::Kind::Group : n->kind == ha::NotifyLine::Kind::Instance;
    if (decides && n->state != role_) roleChanged(n->state);
  }
}

void HaRuntime::roleChanged(VrrpState to) {
  auto from = role_;
  role_ = to;
  roleSince_ = std::chrono::system_clock::now();
  ++transitions_total_[std::string(ha::stateName(to))];
  if (guard_) guard_->roleChanged(to, Clock::now());
  const std::string node = view_ ? view_->node : "?";
  audit("ha-role", node + ": " + std::string(ha::stateName(from)) + " -> " + std::string(ha::stateName(to)),
        to != VrrpState::Fault, {{"node", node}, {"from", ha::stateName(from)}, {"to", ha::stateName(to)}});
  if (transitions_) transitions_->run(to);
  charon(to == VrrpState::Master);
}

void HaRuntime::onTransition(const ha::TransitionReport& r) {
  lastReport_ = r;
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps) {
    steps.push_back({{"step", ha::commandName(s.command)}, {"ms", s.millis}, {"error", s.error}});
  }
  nlohmann::json detail{{"to", ha::stateName(r.to)}, {"ms", r.millis}, {"steps", steps}};
  if (r.committed) detail["committed"] = *r.committed;
  if (r.externalBefore) detail["external_cache"] = *r.externalBefore;
  audit("ha-transition", "to " + std::string(ha::stateName(r.to)) + ": " + r.summary(), r.ok(), detail);
  if (r.to != VrrpState::Master) return;
  auto committed = r.committed ? r.committed : r.externalBefore;
  if (committed && *committed == 0 && !syncEverUp_) {
    log("took over with nothing to commit; the peer has not been heard from since this node started");
  } else if (committed && *committed == 0) {
    ++commitEmpty_;
    audit("ha-commit-empty",
          "became active and committed 0 connection-tracking entries: connections the peer carried are dropped "
          "unless none were open (is the sync link up? did this node take over before the resync?)",
          false, detail);
  }
}

void HaRuntime::charon(bool run) {
  if (opt_.charon.empty()) return;
  if (run && !charon_) {
    std::vector<std::string> env{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    if (!opt_.charonConf.empty()) env.push_back("STRONGSWAN_CONF=" + opt_.charonConf);
    auto c = ha::Child::spawn({"charon", {opt_.charon}, env, paths_.dir / "charon.log"});
    if (!c) {
      audit("ha-charon", "cannot start charon on becoming active: " + c.error().message, false);
      return;
    }
    charon_ = std::move(*c);
    audit("ha-charon", "charon started (pid " + std::to_string(charon_->pid()) + "): the admin VPN answers on this node",
          true);
  } else if (!run && charon_) {
    charon_->signal(SIGTERM);
    auto st = charon_->wait(std::chrono::milliseconds(5000));
    if (!st) {
      charon_->signal(SIGKILL);
      st = charon_->wait(std::chrono::milliseconds(2000));
    }
    audit("ha-charon", "charon stopped (" + (st ? st->str() : std::string("did not exit")) + "): not the active node",
          true);
    charon_.reset();
  }
}

// ---- split brain -------------------------------------------------------------------------------
void HaRuntime::onArp(const ha::ArpSeen& s) {
  if (!guard_) return;
  answered_ = true;
  bool before = guard_->splitBrain();
  auto d = guard_->claimSeen(s.gratuitous, "the machine at " + ha::macString(s.mac) + " on " + s.interface, Clock::now());
  if (guard_->splitBrain() && !before) {
    ++splitBrains_;
    audit("ha-split-brain",
          "the machine at " + ha::macString(s.mac) + " " + (s.gratuitous ? "announces" : "answers for") + " " +
              s.address.str() + " on " + s.interface + " while this node is active: both nodes are active",
          false, {{"address", s.address.str()}, {"mac", ha::macString(s.mac)}, {"interface", s.interface}});
  }
  act(d);
}

void HaRuntime::act(const ha::SplitBrainGuard::Decision& d) {
  using A = ha::SplitBrainGuard::Action;
  if (d.action == A::StandDown) {
    standDown(true);
    ++standDowns_;
    probesPending_ = 0;
    audit("ha-stand-down", d.why, false);
  } else if (d.action == A::Resume) {
    standDown(false);
    audit("ha-resume", d.why, true);
  }
}

void HaRuntime::standDown(bool down) {
  auto st = writeFile(paths_.standDownFile(), down ? "1\n" : "0\n");
  if (!st) log("stand-down file: " + st.error().message);
}

void HaRuntime::tick() {
  tick_ = loop_.after(std::chrono::seconds(1), [this] { tick(); });
  if (!running()) return;
  if (!statsRequest_) {
    auto req = ha::CtdRequest::start(paths_.conntrackdSocket(), ha::CtdCommand::Stats);
    if (req) {
      statsRequest_ = std::move(*req);
      haLoop_.watchReadable(statsRequest_->fd(), [this] {
        auto done = statsRequest_->read();
        if (done && !*done) return;
        loop_.unwatch(statsRequest_->fd());
        auto reply = done ? statsRequest_->reply() : std::string();
        statsRequest_.reset();
        onSyncStats(reply);
      });
    } else {
      onSyncStats({});
    }
  }
  if (!guard_ || !arp_ || !view_) return;
  // Someone else holding the floating uplink address: asked from this node's own address there.
  std::optional<policies::IpAddress> target, sender;
  std::string uplink;
  for (const auto& i : view_->instances) {
    if (auto t = firstV4(i.addresses)) {
      for (const auto& o : view_->own) {
        if (o.interface == i.interface && o.address.ip.isV4() && !target) {
          target = t;
          sender = o.address.ip;
          uplink = i.interface;
        }
      }
    }
  }
  if (!target) return;
  if (guard_->standingDown()) {
    if (probesPending_ > 0) act(guard_->probeRound(answered_));
  } else if (role_ != VrrpState::Master) {
    return;
  }
  answered_ = false;
  ++probesPending_;
  auto st = arp_->probe(uplink, *sender, *target);
  if (!st) log(st.error().message);
}

void HaRuntime::onSyncStats(const std::string& reply) {
  auto now = Clock::now();
  auto pkts = ha::packetsReceived(reply);
  if (pkts && (!syncPackets_ || *pkts != *syncPackets_)) {
    if (syncPackets_) syncLastRx_ = now;
    syncPackets_ = pkts;
  }
  bool up = syncPackets_ && now - syncLastRx_ < kSyncSilence;
  syncEverUp_ = syncEverUp_ || up;
  if (syncKnown_ && up == syncUp_) return;
  bool first = !syncKnown_;
  syncKnown_ = true;
  syncUp_ = up;
  if (!(first && !up)) {  // quiet at start: nothing has arrived yet
    std::string peer = view_ ? view_->peer : "the peer";
    audit("ha-sync-link",
          up ? "the sync link works: " + peer + "'s conntrackd packets arrive"
             : "the sync link is down: nothing from " + peer + "'s conntrackd for " +
                   std::to_string(kSyncSilence.count()) + " s (no state sync, VRRP adverts lost)",
          up);
  }
  if (guard_) act(guard_->syncLink(up));
}

// ---- reporting ---------------------------------------------------------------------------------
nlohmann::json HaRuntime::status() const {
  nlohmann::json j{{"node", view_ ? view_->node : ""},
                   {"peer", view_ ? view_->peer : ""},
                   {"role", ha::stateName(role_)},
                   {"since", role_ == VrrpState::Init ? "" : utcString(roleSince_)},
                   {"running", running()},
                   {"sync_link", !syncKnown_ ? "unknown" : syncUp_ ? "up" : "down"},
                   {"split_brain", guard_ && guard_->splitBrain()},
                   {"standing_down", guard_ && guard_->standingDown()},
                   {"commit_empty", commitEmpty_}};
  nlohmann::json daemons = nlohmann::json::array();
  if (sup_) {
    for (const auto& c : sup_->states()) {
      daemons.push_back({{"name", c.name}, {"pid", c.pid}, {"ready", c.ready}, {"restarts", c.restarts},
                         {"last_exit", c.lastExit}});
    }
  }
  j["daemons"] = daemons;
  if (!opt_.charon.empty()) j["charon"] = charon_ ? "running" : "stopped";
  if (lastReport_) {
    j["last_transition"] = {{"to", ha::stateName(lastReport_->to)}, {"ms", lastReport_->millis},
                            {"summary", lastReport_->summary()}};
    if (lastReport_->committed) j["last_transition"]["committed"] = *lastReport_->committed;
  }
  return j;
}

std::string HaRuntime::metrics() const {
  std::ostringstream o;
  const std::string node = view_ ? view_->node : "";
  o << "# HELP bulwark_ha_role This node's VRRP role (1 for the current one).\n# TYPE bulwark_ha_role gauge\n";
  for (auto s : {VrrpState::Init, VrrpState::Backup, VrrpState::Master, VrrpState::Fault, VrrpState::Stop}) {
    o << "bulwark_ha_role{node=\"" << node << "\",role=\"" << ha::stateName(s) << "\"} " << (s == role_ ? 1 : 0) << "\n";
  }
  o << "# HELP bulwark_ha_transitions_total Role changes keepalived reported, by the role entered.\n"
    << "# TYPE bulwark_ha_transitions_total counter\n";
  for (auto s : {VrrpState::Backup, VrrpState::Master, VrrpState::Fault, VrrpState::Stop}) {
    auto it = transitions_total_.find(std::string(ha::stateName(s)));
    o << "bulwark_ha_transitions_total{to=\"" << ha::stateName(s) << "\"} " << (it == transitions_total_.end() ? 0 : it->second)
      << "\n";
  }
  o << "# HELP bulwark_ha_commit_entries Connection-tracking entries committed at the last takeover.\n"
    << "# TYPE bulwark_ha_commit_entries gauge\n"
    << "bulwark_ha_commit_entries " << (lastReport_ && lastReport_->committed ? *lastReport_->committed : 0) << "\n";
  double commitMs = 0;
  if (lastReport_) {
    for (const auto& s : lastReport_->steps) {
      if (s.command == ha::CtdCommand::Commit) commitMs = s.millis;
    }
  }
  o << "# HELP bulwark_ha_commit_seconds How long the last commit took.\n# TYPE bulwark_ha_commit_seconds gauge\n"
    << "bulwark_ha_commit_seconds " << commitMs / 1000.0 << "\n"
    << "# HELP bulwark_ha_commit_empty_total Takeovers that committed no entry.\n"
    << "# TYPE bulwark_ha_commit_empty_total counter\nbulwark_ha_commit_empty_total " << commitEmpty_ << "\n"
    << "# HELP bulwark_ha_sync_link_up 1 while the peer's conntrackd packets arrive on the sync link.\n"
    << "# TYPE bulwark_ha_sync_link_up gauge\nbulwark_ha_sync_link_up " << (syncUp_ ? 1 : 0) << "\n"
    << "# HELP bulwark_ha_sync_packets_received_total Packets conntrackd received from the peer.\n"
    << "# TYPE bulwark_ha_sync_packets_received_total counter\nbulwark_ha_sync_packets_received_total "
    << syncPackets_.value_or(0) << "\n"
    << "# HELP bulwark_ha_split_brain 1 while another machine answers for this active node's floating addresses.\n"
    << "# TYPE bulwark_ha_split_brain gauge\nbulwark_ha_split_brain " << (guard_ && guard_->splitBrain() ? 1 : 0) << "\n"
    << "# TYPE bulwark_ha_split_brain_total counter\nbulwark_ha_split_brain_total " << splitBrains_ << "\n"
    << "# HELP bulwark_ha_standing_down 1 while this node keeps out of a split brain.\n"
    << "# TYPE bulwark_ha_standing_down gauge\nbulwark_ha_standing_down " << (guard_ && guard_->standingDown() ? 1 : 0)
    << "\n"
    << "# HELP bulwark_ha_daemon_up 1 while the supervised daemon runs.\n# TYPE bulwark_ha_daemon_up gauge\n";
  if (sup_) {
    for (const auto& c : sup_->states()) o << "bulwark_ha_daemon_up{daemon=\"" << c.name << "\"} " << (c.pid > 0) << "\n";
    o << "# TYPE bulwark_ha_daemon_restarts_total counter\n";
    for (const auto& c : sup_->states()) {
      o << "bulwark_ha_daemon_restarts_total{daemon=\"" << c.name << "\"} " << c.restarts << "\n";
    }
  }
  return o.str();
}

}  // namespace bulwark::daemon
