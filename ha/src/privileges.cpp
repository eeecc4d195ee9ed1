#include "bulwark/ha/privileges.h"

#include <linux/capability.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <string>

namespace bulwark::ha {
namespace {

constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << cap; }

struct Needed {
  int cap;
  const char* name;
  const char* why;
  bool charonOnly;
};
constexpr Needed kNeeded[] = {
    {CAP_NET_ADMIN, "CAP_NET_ADMIN", "conntrackd's ctnetlink and keepalived's addresses", false},
    {CAP_NET_RAW, "CAP_NET_RAW", "keepalived's VRRP socket and the split-brain ARP watch", false},
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE", "--charon: IKE's ports 500 and 4500", true},
};

}  // namespace

Result<ProcessCaps> currentCaps() {
  std::ifstream in("/proc/self/status");
  if (!in) return Error{"cannot read /proc/self/status for this process's capabilities"};
  ProcessCaps caps;
  caps.root = ::geteuid() == 0;
  bool eff = false, amb = false;
  for (std::string line; std::getline(in, line);) {
    // "CapEff:\t000001ffffffffff": 16 hex digits.
    const auto parse = [&](const char* key, std::uint64_t& out) {
      const std::string k(key);
      if (line.compare(0, k.size(), k) != 0) return false;
      const auto first = line.find_first_not_of(" \t", k.size());
      if (first == std::string::npos) return false;
      return std::from_chars(line.data() + first, line.data() + line.size(), out, 16).ec == std::errc{};
    };
    eff = parse("CapEff:", caps.effective) || eff;
    amb = parse("CapAmb:", caps.ambient) || amb;
  }
  if (!eff || !amb) return Error{"/proc/self/status has no CapEff/CapAmb line"};
  return caps;
}

Status checkChildPrivileges(const ProcessCaps& caps, bool charon) {
  // Root's children keep root's effective set across exec; anyone else's keep the ambient set.
  const std::uint64_t handedDown = caps.root ? caps.effective : caps.ambient & caps.effective;
  std::string missing;
  for (const auto& n : kNeeded) {
    if ((handedDown & bit(n.cap)) != 0 || (n.charonOnly && !charon)) continue;
    if (!missing.empty()) missing += "; ";
    missing += std::string(n.name) + " (" + n.why + ")";
  }
  if (missing.empty()) return okStatus();
  const std::string unitCaps =
      std::string("CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_NICE") + (charon ? " CAP_NET_BIND_SERVICE" : "");
  const std::string setprivCaps = std::string("net_admin,net_raw,sys_nice") + (charon ? ",net_bind_service" : "");
  return Error{"--ha: keepalived and conntrackd run with the capabilities bulwarkd hands down (its ambient set), "
               "and these are missing: " +
               missing + ". Install the unit's drop-in bulwarkd-ha.conf (AmbientCapabilities=" + unitCaps +
               "), or start it with run-bulwarkd.sh --caps " + setprivCaps};
}

}  // namespace bulwark::ha
