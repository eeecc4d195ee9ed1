#pragma once
// Conntrack entries on demand inside a private network namespace (the caller has done
// unshare(CLONE_NEWNET)): conntrack hooked in by a one-rule nft table, accounting on, and N
// UDP flows over lo. Shared by the reader tests and bench/conntrack.
#include <cstddef>
#include <string>

namespace bulwark::conntrack::testing {

// lo up, `table inet ctlab` with a `ct state new` rule (registers conntrack in this netns),
// nf_conntrack_acct=1. false (with `why`) when that fails.
bool setUp(std::string& why);

// `count` UDP flows 127.0.0.1:<sport> -> 127.0.0.1:<dport>, distinct tuples, `payload` bytes
// each, `datagrams` per flow. Returns the flows made.
std::size_t makeUdpFlows(std::size_t count, std::size_t payload, int datagrams = 1);

// `cmd`'s stdout (stderr dropped).
std::string run(const std::string& cmd);

}  // namespace bulwark::conntrack::testing
