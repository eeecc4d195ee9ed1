#pragma once
// The HA pair on this node, at run time: keepalived and conntrackd as supervised children
// (ha::Supervisor), keepalived's state changes from its notify_fifo, the conntrackd steps of
// each role change (ha::TransitionRunner), the admin VPN's charon on the active node only,
// the sync link's health (the peer's conntrackd packets arriving), and split-brain detection
// (ha::ArpWatch + ha::SplitBrainGuard: a node that sees another announce its floating
// addresses stands down through keepalived's stand-down file). Every role change, failed
// step, empty commit, split brain and daemon restart is audited (and so on the events
// stream); `status` and /metrics show the rest.
//
// The two resource kinds (gateway/engine/kinds/ha_kinds.h) write the configuration files
// through it and start it.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "audit.h"
#include "bulwark/ha/arp_watch.h"
#include "bulwark/ha/node_view.h"
#include "bulwark/ha/notify.h"
#include "bulwark/ha/render.h"
#include "bulwark/ha/split_brain.h"
#include "bulwark/ha/supervisor.h"
#include "bulwark/ha/transitions.h"
#include "event_loop.h"
#include "ha_loop.h"
#include "kinds/ha_kinds.h"

namespace bulwark::daemon {

struct HaOptions {
  std::string node;                                // --node: overrides /etc/bulwark/node and the hostname
  std::filesystem::path dir = "/run/bulwark/ha";   // --ha-dir: private (0700)
  std::string keepalived = "/usr/sbin/keepalived";
  std::string conntrackd = "/usr/sbin/conntrackd";
  std::string charon;      // --charon: the admin VPN's charon, run on the active node only
  std::string charonConf;  // --charon-conf: its strongswan.conf (STRONGSWAN_CONF)
};

using engine::HaFile;

class HaRuntime final : public engine::HaFiles {
 public:
  using Audit = std::function<void(AuditEvent)>;
  HaRuntime(EventLoop& loop, HaOptions options, Audit audit);
  ~HaRuntime();  // stops the children (keepalived first), removes the runtime files
  HaRuntime(const HaRuntime&) = delete;
  HaRuntime& operator=(const HaRuntime&) = delete;

  // This node's view of `policy` (which node it is: --node, /etc/bulwark/node, hostname),
  // with every interface it names checked to exist here.
  [[nodiscard]] ha::Result<ha::NodeView> view(const policies::Policy& policy) const override;
  // `keepalived -t` of a rendering, on a scratch file next to the real one.
  [[nodiscard]] ha::Status checkKeepalived(const std::string& text) const override;

  [[nodiscard]] std::optional<std::string> installed(HaFile f) const override;  // the file as it is now
  // Writes the file (atomically, 0600) and puts it in effect: keepalived reloads (SIGHUP),
  // conntrackd restarts; once both files exist the children start.
  // `view`: the node view it was rendered from (nullopt: a file adopted from disk, keep the last).
  [[nodiscard]] ha::Status install(HaFile f, const std::string& text, const std::optional<ha::NodeView>& view) override;
  // No ha section any more: stop both daemons (keepalived first: it hands the floating
  // addresses to the peer) and remove everything in the runtime directory.
  void shutdown() override;
  [[nodiscard]] bool running() const override { return sup_ && sup_->running(); }
  [[nodiscard]] const ha::RuntimePaths& paths() const override { return paths_; }
  // --charon: this node runs no charon now (it is not the active node).
  [[nodiscard]] bool charonStandby() const { return !opt_.charon.empty() && !charon_; }

  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] std::string metrics() const;  // Prometheus text (bulwark_ha_*)

 private:
  std::filesystem::path fileOf(HaFile f) const;
  void start();
  void onNotify();
  void roleChanged(ha::VrrpState to);
  void onTransition(const ha::TransitionReport& r);
  void charon(bool run);
  void onArp(const ha::ArpSeen& seen);
  void act(const ha::SplitBrainGuard::Decision& d);
  void standDown(bool down);
  void tick();  // once a second: sync link, probes
  void onSyncStats(const std::string& reply);
  void audit(const std::string& event, const std::string& summary, bool ok, nlohmann::json detail = {}) const;
  void removeFiles() const;

  EventLoop& loop_;
  HaLoop haLoop_;
  HaOptions opt_;
  Audit audit_;
  ha::RuntimePaths paths_;
  std::optional<ha::NodeView> view_;
  std::unique_ptr<ha::Supervisor> sup_;
  std::optional<ha::NotifyFifo> fifo_;
  std::unique_ptr<ha::TransitionRunner> transitions_;
  std::unique_ptr<ha::ArpWatch> arp_;
  std::unique_ptr<ha::SplitBrainGuard> guard_;
  std::optional<ha::Child> charon_;
  EventLoop::TimerId tick_ = 0;
  std::optional<ha::CtdRequest> statsRequest_;

  ha::VrrpState role_ = ha::VrrpState::Init;
  std::chrono::system_clock::time_point roleSince_{};
  std::map<std::string, std::uint64_t> transitions_total_;  // by target role
  std::optional<ha::TransitionReport> lastReport_;
  std::uint64_t commitEmpty_ = 0;
  std::optional<long> syncPackets_;
  Clock::time_point syncLastRx_{};
  bool syncUp_ = false;
  bool syncKnown_ = false;
  bool syncEverUp_ = false;
  int probesPending_ = 0;
  bool answered_ = false;
  std::uint64_t splitBrains_ = 0;
  std::uint64_t standDowns_ = 0;
};

}  // namespace bulwark::daemon
