#pragma once
// The link set as pure values: what the policy wants (desiredLinks), what the kernel holds
// (ObservedState, filled by observe() in reconcile.h or by hand in tests), and the ordered
// operations that turn one into the other (diff). No sockets here.
//
// Ownership. Bulwark marks every link it manages with its interface alias (IFLA_IFALIAS):
//   "bulwark:<segment>"                          a VLAN sub-interface Bulwark created
//   "bulwark:<segment> adopted <addr/len> ..."   a plain interface the policy names, which
//                                                Bulwark configures; the addresses it added
//                                                are recorded so it can take them back.
// A link is changed only when it carries such a mark; it is deleted only when it is a VLAN
// Bulwark created. A clash with an unmarked link of the wanted VLAN name, or with a plain
// interface whose alias belongs to someone else, is an error naming the policy line — never a
// takeover. A plain interface with an empty alias is adopted: the policy names it explicitly.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/policies/model.h"
#include "bulwark/vlan/result.h"

namespace bulwark::vlan {

// An interface address: the gateway's own address with its subnet's prefix length.
struct Address {
  policies::IpAddress ip;
  int prefixLen = 0;
  [[nodiscard]] std::string str() const;  // "10.20.0.1/24"
  [[nodiscard]] bool linkLocalV6() const;  // fe80::/10: the kernel's, never managed
  friend auto operator<=>(const Address&, const Address&) = default;
};

enum class LinkKind : std::uint8_t {
  Vlan,      // an 802.1Q sub-interface of the trunk, created and owned by Bulwark
  Existing,  // a plain interface that must already exist (adopted, never created/deleted)
};

struct DesiredLink {
  std::string segment;      // segment name (also the ownership mark)
  policies::Location where; // where the segment's vlan / interface was written
  std::string name;         // policies::segmentInterface(): "<trunk>.<vlan>" or the interface
  LinkKind kind = LinkKind::Vlan;
  std::string parent;       // the trunk (Vlan only)
  std::uint16_t vlanId = 0; // Vlan only
  std::uint32_t mtu = 1500;
  std::vector<Address> addresses;  // IPv4 then IPv6 gateway addresses (a pair's node: its own)
  // A pair (policy ha:): the floating addresses keepalived adds and removes on this link.
  // Bulwark's link reconciler neither adds nor removes them.
  std::vector<Address> tolerated;
  bool ipv6 = false;               // the segment has IPv6 (IPv6 forwarding wanted)
};

struct LinkSet {
  std::vector<DesiredLink> links;  // in policy order
  std::string trunk;               // empty when the policy has no trunk
  // Structural problems that make the set unusable (VLAN segment without a trunk, id out of
  // range ...): "file:line:col: message". The validator reports them too; the reconciler
  // refuses to act while any is present.
  std::vector<std::string> problems;
};

// The policy's links. Pure; never fails (problems are recorded in the set). A policy with an
// `ha:` section describes a pair: each node's links carry its own addresses, the floating ones
// are left to keepalived (`tolerated`), so `haNode` (the node's name in ha.nodes) is needed;
// without it the set holds a problem (the gateway address on both nodes would collide).
[[nodiscard]] LinkSet desiredLinks(const policies::Policy& policy, std::string_view haNode = {});

// ---- the kernel's view ---------------------------------------------------------------------
struct ObservedLink {
  int index = 0;
  std::string name;
  std::string kind;             // IFLA_INFO_KIND ("vlan", "veth" ...); empty for plain devices
  int parentIndex = 0;          // IFLA_LINK
  std::optional<std::uint16_t> vlanId;  // IFLA_VLAN_ID
  std::uint16_t vlanProtocol = 0;       // IFLA_VLAN_PROTOCOL, host order (0x8100 = 802.1Q)
  std::string alias;            // IFLA_IFALIAS
  std::uint32_t mtu = 0;
  bool up = false;              // IFF_UP (administrative state)
  std::vector<Address> addresses;
};

// Per-link sysctls of one interface (from RTM_GETNETCONF; -1 = not reported).
struct LinkConf {
  int ipv4Forwarding = -1;
  int rpFilter = -1;
  int ipv6Forwarding = -1;
};

struct ObservedState {
  std::vector<ObservedLink> links;
  std::vector<std::pair<int, LinkConf>> conf;  // by ifindex
  int dumps = 0;  // netlink dump round trips it took to observe (for the benchmark)
  [[nodiscard]] const ObservedLink* find(std::string_view name) const;
  [[nodiscard]] const ObservedLink* findIndex(int index) const;
  [[nodiscard]] LinkConf confOf(int index) const;
};

// ---- operations ----------------------------------------------------------------------------
enum class OpKind : std::uint8_t {
  CreateVlan,     // RTM_NEWLINK CREATE|EXCL: name, parent, id, mtu, alias in one message
  SetMtu,         // RTM_NEWLINK IFLA_MTU
  SetAlias,       // RTM_NEWLINK IFLA_IFALIAS (adopting a plain interface, or re-marking)
  SetUp,          // RTM_NEWLINK ifi_flags IFF_UP (up = false: down, only as an undo)
  AddAddress,     // RTM_NEWADDR CREATE|EXCL
  RemoveAddress,  // RTM_DELADDR
  SetSysctl,      // write /proc/sys/<path>
  DeleteLink,     // RTM_DELLINK (owned VLANs of removed segments only)
};

struct Op {
  OpKind kind = OpKind::SetUp;
  std::string link;          // interface name
  std::string segment;       // segment it serves ("" for none)
  policies::Location where;  // the policy line to blame (unknown for removed segments)
  // Payload, by kind.
  std::string parent;        // CreateVlan
  std::uint16_t vlanId = 0;  // CreateVlan
  std::uint32_t mtu = 0;     // CreateVlan, SetMtu
  std::string alias;         // CreateVlan, SetAlias
  bool up = true;            // SetUp
  Address address;           // Add/RemoveAddress
  std::string sysctl;        // SetSysctl: path under /proc/sys ("net/ipv4/conf/eth1.20/forwarding")
  std::string value;         // SetSysctl
  // What restores the state before this op (in order); computed by diff from the observed
  // state, used by applyLinks to roll back a failed run.
  std::vector<Op> undo;

  // The equivalent command line: "ip link add link eth1 name eth1.20 mtu 1500 type vlan id 20
  // alias bulwark:app", "ip address add 10.20.0.1/24 dev eth1.20",
  // "sysctl -w net.ipv4.conf.eth1/20.forwarding=1" ...
  [[nodiscard]] std::string description() const;
};

// Ordered operations from `observed` to `desired`, or every conflict found (one per line,
// each naming the policy file:line:col). Order: per desired link (policy order) create, MTU,
// mark, up, address removals, address additions, sysctls; then removed segments (their
// addresses on adopted interfaces, then owned VLAN links). Idempotent: diff of the state
// after applying the result is empty.
[[nodiscard]] Result<std::vector<Op>> diff(const LinkSet& desired, const ObservedState& observed);

// Ownership marks.
inline constexpr std::string_view kAliasPrefix = "bulwark:";
struct Mark {
  std::string segment;
  bool adopted = false;
  std::vector<Address> recorded;  // adopted only: addresses Bulwark added
};
[[nodiscard]] std::optional<Mark> parseMark(std::string_view alias);  // nullopt: not ours
[[nodiscard]] std::string formatMark(const Mark& mark);

// The sysctls an owned link gets (path under /proc/sys → value).
[[nodiscard]] std::vector<std::pair<std::string, std::string>> linkSysctls(const DesiredLink& link);

}  // namespace bulwark::vlan
