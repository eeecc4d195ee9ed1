#pragma once
// One ctnetlink entry message (IPCTNL_MSG_CT_NEW, as a dump sends it) read straight into a
// Flow with libmnl attribute callbacks: only what the top talkers need (the original tuple,
// the id, both directions' counters). A dump of 10,000 entries then builds no nf_conntrack
// object and allocates nothing per entry (libnetfilter_conntrack's nfct_query does both and
// parses every attribute).
struct nlmsghdr;

namespace bulwark::conntrack {

struct Flow;

// false: not an IPv4/IPv6 entry, or an attribute of the wrong size (the entry is skipped).
[[nodiscard]] bool parseFlow(const nlmsghdr* nlh, Flow& out);

}  // namespace bulwark::conntrack
