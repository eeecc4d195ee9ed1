#pragma once
// What bulwarkd --ha needs of its own privileges before it starts anything: keepalived (its
// VRRP socket is raw, IPPROTO_VRRP), the split-brain ARP watch (AF_PACKET) and conntrackd
// (ctnetlink) run with the capabilities bulwarkd hands down, and a process that is not root
// hands down only its ambient set. A node without them would start keepalived only to see it
// fail on its first socket; this says so at startup, naming the fix (gateway/daemon/README.md,
// "Running as _bulwarkd"; the unit's drop-in bulwarkd-ha.conf).
#include <cstdint>

#include "bulwark/ha/result.h"

namespace bulwark::ha {

// The capabilities as the kernel reports them for this process (/proc/self/status masks).
struct ProcessCaps {
  bool root = false;         // effective uid 0: children keep the full effective set
  std::uint64_t effective = 0;
  std::uint64_t ambient = 0;
};

[[nodiscard]] Result<ProcessCaps> currentCaps();

// Ok when CAP_NET_ADMIN and CAP_NET_RAW reach the children: in the ambient set, or effective
// as root; with `charon` (--charon: the admin VPN on the active node) CAP_NET_BIND_SERVICE too,
// for IKE's ports 500 and 4500. The error names what is missing and the two ways to grant it.
[[nodiscard]] Status checkChildPrivileges(const ProcessCaps& caps, bool charon);

}  // namespace bulwark::ha
