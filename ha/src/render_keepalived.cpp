#include <sstream>

#include "bulwark/ha/render.h"
#include "rendered_by.h"

namespace bulwark::ha {

namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

}  // namespace

std::string renderKeepalived(const NodeView& v, const RuntimePaths& paths) {
  std::ostringstream o;
  o << renderedBy("keepalived.conf", v)
    << "# Do not edit: bulwarkd writes it again, checks it with `keepalived -t` and reloads keepalived.\n"
    << "global_defs {\n"
    << "  router_id " << v.node << "\n"
    // Sub-second adverts need VRRPv3 (v2 rounds advert_int up to whole seconds).
    << "  vrrp_version 3\n"
    // State changes go to bulwarkd, which runs the conntrackd steps in order; no scripts.
    << "  notify_fifo " << quoted(paths.notifyFifo()) << "\n"
    // No vrrp_strict: it installs its own firewall rules and forbids unicast peers.
    << "}\n\n";

  o << "# This node stands down (FAULT: no floating address) while the file holds a non-zero\n"
    << "# value: bulwarkd writes it (0 before keepalived starts, 1 in a split brain).\n"
    << "track_file bulwark_stand_down {\n"
    << "  file " << quoted(paths.standDownFile()) << "\n"
    << "  weight 0\n"
    << "  init_file 0\n"
    << "}\n\n";

  if (v.instances.size() > 1) {
    o << "# One group: every floating address moves at once.\n"
      << "vrrp_sync_group bulwark {\n  group {\n";
    for (const auto& i : v.instances) o << "    " << i.name << "\n";
    o << "  }\n}\n\n";
  }

  for (const auto& i : v.instances) {
    o << "# The floating addresses on " << i.interface << "\n"
      << "vrrp_instance " << i.name << " {\n"
      << "  state BACKUP\n"
      // Adverts go over the sync link only; a cut sync link is not this node's fault
      // (both nodes would drop everything): it shows as a split brain instead.
      << "  interface " << v.syncInterface << "\n"
      << "  dont_track_primary\n"
      << "  virtual_router_id " << i.vrid << "\n"
      << "  priority " << v.priority << "\n"
      << "  advert_int " << advertSeconds(v.advertCentis) << "\n";
    if (v.failback == policies::HaFailback::NoPreempt) {
      o << "  nopreempt\n";
    } else if (v.preemptDelay) {
      o << "  preempt_delay " << *v.preemptDelay << "\n";
    }
    o << "  unicast_src_ip " << v.syncSelf.str() << "\n"
      << "  unicast_peer {\n    " << v.syncPeer.str() << "\n  }\n"
      << "  track_interface {\n    " << i.interface << "\n  }\n"
      << "  track_file {\n    bulwark_stand_down\n  }\n";
    // VRRPv3 advertises one address family per instance; the instance is IPv4 (its adverts
    // run over the IPv4 sync link), IPv6 addresses move with it unadvertised.
    std::ostringstream v4, v6;
    for (const auto& a : i.addresses) (a.ip.isV4() ? v4 : v6) << "    " << a.str() << " dev " << i.interface << "\n";
    if (!v4.str().empty()) o << "  virtual_ipaddress {\n" << v4.str() << "  }\n";
    if (!v6.str().empty()) o << "  virtual_ipaddress_excluded {\n" << v6.str() << "  }\n";
    o << "}\n";
    if (&i != &v.instances.back()) o << "\n";
  }
  return o.str();
}

std::vector<std::string> keepalivedArgv(const std::string& binary, const RuntimePaths& p) {
  return {binary,
          "--dont-fork",
          "--log-console",
          "--no-syslog",
          "--vrrp",
          "--use-file=" + p.keepalivedConf().string(),
          "--pid=" + p.keepalivedPid().string(),
          "--vrrp_pid=" + p.vrrpPid().string(),
          "--checkers_pid=" + p.checkersPid().string(),
          "--bfd_pid=" + p.bfdPid().string()};
}

}  // namespace bulwark::ha
