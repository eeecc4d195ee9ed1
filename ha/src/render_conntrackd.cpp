#include <sstream>

#include "bulwark/ha/render.h"
#include "rendered_by.h"

namespace bulwark::ha {

std::string renderConntrackd(const NodeView& v, const RuntimePaths& paths) {
  std::ostringstream o;
  o << renderedBy("conntrackd.conf", v)
    << "# Do not edit: bulwarkd writes it again and restarts conntrackd.\n"
    << "Sync {\n"
    << "  Mode FTFW {\n"
    // The standby keeps the peer's state in its external cache and bulwarkd commits it on
    // becoming active (commit, flush, resync, bulk send): its own kernel table holds only
    // what it forwards, and the commit is a step bulwarkd times and checks (ha/README.md).
    << "    DisableExternalCache Off\n"
    // `conntrackd -t` (on becoming standby) flushes the kernel table this long after.
    << "    PurgeTimeout 60\n"
    << "  }\n"
    << "  UDP {\n"
    << "    IPv4_address " << v.syncSelf.str() << "\n"
    << "    IPv4_Destination_Address " << v.syncPeer.str() << "\n"
    << "    Port " << kConntrackdPort << "\n"
    << "    Interface " << v.syncInterface << "\n"
    << "    SndSocketBuffer 1249280\n"
    << "    RcvSocketBuffer 1249280\n"
    << "    Checksum on\n"
    << "  }\n"
    << "}\n"
    << "General {\n"
    << "  Systemd off\n"
    << "  HashSize 32768\n"
    << "  HashLimit 262144\n"
    << "  LogFile " << paths.conntrackdLog().string() << "\n"
    << "  Syslog off\n"
    << "  LockFile " << paths.conntrackdLock().string() << "\n"
    << "  UNIX {\n"
    << "    Path " << paths.conntrackdSocket().string() << "\n"
    << "  }\n"
    << "  NetlinkBufferSize 2097152\n"
    << "  NetlinkBufferSizeMaxGrowth 8388608\n"
    // In the kernel: events the filter drops are never copied to conntrackd (its CPU).
    << "  Filter From Kernelspace {\n"
    << "    Protocol Accept {\n"
    << "      TCP\n"
    << "      UDP\n"
    << "    }\n"
    // A TCP connection is synced once established and when it ends, not at every handshake
    // step (half the events at high connection rates): one that has not finished its
    // handshake at a failover starts again with its SYN retransmit.
    << "    State Accept {\n"
    << "      ESTABLISHED CLOSED TIME_WAIT CLOSE_WAIT for TCP\n"
    << "    }\n"
    // In the kernel, matched against the original source and destination: flows to or from
    // the gateways themselves (control API, IKE) are not synced. The DNAT VIPs are not in
    // the list: a flow to a VIP is forwarded traffic (its original destination is the VIP).
    << "    Address Ignore {\n"
    << "      IPv4_address 127.0.0.1\n";
  for (const auto& a : v.ownAndFloating) {
    if (a.isV4()) o << "      IPv4_address " << a.str() << "\n";
  }
  o << "      IPv6_address ::1\n";
  for (const auto& a : v.ownAndFloating) {
    if (!a.isV4()) o << "      IPv6_address " << a.str() << "\n";
  }
  o << "    }\n"
    << "  }\n"
    << "}\n";
  return o.str();
}

std::vector<std::string> conntrackdArgv(const std::string& binary, const RuntimePaths& p) {
  // Without -d conntrackd stays in the foreground: the supervisor's child is the daemon.
  return {binary, "-C", p.conntrackdConf().string()};
}

}  // namespace bulwark::ha
