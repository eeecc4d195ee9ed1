#pragma once
// The Ruleset IR: Bulwark's nftables table as plain data. The compiler produces it from a
// Policy; the renderer prints it as nft syntax; the programmer turns it into one libnftnl
// batch; the evaluator runs packets through it offline. The statements are a closed set
// (exactly what Bulwark emits), so each consumer handles every case explicitly.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/model.h"
#include "bulwark/policies/net.h"

namespace bulwark::firewall {

using policies::IpAddress;
using policies::Location;
using policies::PortRange;
using policies::Prefix;

inline constexpr const char* kTableName = "bulwark";  // family inet, always

// What a packet field a match or a key reads.
enum class Selector : std::uint8_t {
  IifName,   // meta iifname
  OifName,   // meta oifname
  Ip4Saddr,  // ip saddr
  Ip4Daddr,  // ip daddr
  Ip6Saddr,  // ip6 saddr
  Ip6Daddr,  // ip6 daddr
  L4Proto,   // meta l4proto
  ThDport,   // th dport (transport header destination port: tcp, udp, sctp)
};

// Key types of sets/maps, one per concatenated field. Slot: the output of `numgen inc mod N`
// (a 32-bit integer in host byte order), the key of a DNAT map that spreads connections.
enum class KeyType : std::uint8_t { IfName, Ipv4Addr, Ipv6Addr, InetProto, InetService, Slot };

// One field of a set element's key. Addresses are prefixes (interval sets) or hosts;
// ports are ranges (a single port is first == last).
using KeyPart = std::variant<std::string /*ifname*/, Prefix, std::uint8_t /*proto*/, PortRange,
                             std::uint32_t /*slot*/>;

struct SetElement {
  std::vector<KeyPart> key;
  std::string jumpTo;  // verdict maps only: the chain this element goes to (goto)
  std::string comment;
  std::optional<IpAddress> target = std::nullopt;  // address maps only: the element's data
};

struct SetDef {
  std::string name;
  std::vector<KeyType> key;  // > 1 field = concatenation
  bool interval = false;     // elements are prefixes/ranges
  bool verdictMap = false;   // map to verdicts (jump chain)
  bool dynamic = false;      // filled by the packet path (per-source meters)
  std::uint32_t timeoutSec = 0;  // dynamic sets: entry lifetime (0 = none)
  std::uint32_t size = 0;        // dynamic sets: max entries
  std::vector<SetElement> elements;
  std::string comment;
  // A map to addresses of this family (DNAT backends): `type <key> : ipv4_addr|ipv6_addr`.
  std::optional<policies::Family> addressMap = std::nullopt;
  // Key {Slot}: the map is declared `typeof numgen inc mod N : ip[6] daddr`, N = this.
  std::uint32_t numgenMod = 0;
};

// ---- matches -------------------------------------------------------------------------
enum CtStateBit : std::uint32_t {  // the kernel's NF_CT_STATE_* bits
  kCtInvalid = 1u << 0,
  kCtEstablished = 1u << 1,
  kCtRelated = 1u << 2,
  kCtNew = 1u << 3,
};

struct MatchCtState {  // ct state & mask != 0  (e.g. established,related)
  std::uint32_t mask = 0;
};
struct MatchCtDirection {  // ct direction original|reply (of the packet within its connection)
  bool reply = false;
};
struct MatchIfName {  // meta iifname/oifname == name (or != with negate)
  Selector which = Selector::IifName;
  std::string name;
  bool negate = false;
};
struct MatchNfProto {  // meta nfproto ipv4|ipv6
  policies::Family family = policies::Family::V4;
};
struct MatchL4Proto {  // meta l4proto == proto
  std::uint8_t proto = 0;
};
struct MatchPrefix {  // ip saddr 10.0.0.0/8 (selector must be an address)
  Selector which = Selector::Ip4Saddr;
  Prefix prefix;
  bool negate = false;
};
struct MatchPort {  // th dport 80 / th dport 1000-2000
  PortRange ports;
};
struct MatchLookup {  // sel1 . sel2 ... @set   (or != @set)
  std::vector<Selector> key;
  std::string set;
  bool negate = false;
};
struct MatchIpsecIn {  // meta ipsec exists: the packet was decapsulated by kernel XFRM
};
struct MatchFibSaddrMissing {  // fib saddr . iif oif missing: no route back = spoofed
};
struct MatchTcpSynOnly {  // tcp flags & (fin|syn|rst|ack) == syn
};
struct MatchNotTcpSyn {  // tcp flags & (fin|syn|rst|ack) != syn (with meta l4proto tcp)
};

// ---- statements ------------------------------------------------------------------------
enum class RateUnit : std::uint8_t { Second, Minute, Hour };

struct StmtCounter {};
struct StmtLimit {  // limit rate [over] N/unit burst B packets
  std::uint32_t rate = 0;
  RateUnit unit = RateUnit::Second;
  std::uint32_t burst = 0;
  bool over = false;
};
// add @set { <key> limit rate over N/unit burst B packets }: per-key (per-source) meter;
// matches when that source is over its rate.
struct StmtMeterOver {
  std::string set;
  std::vector<Selector> key;
  StmtLimit limit;
};
// add @set { <key> ct count over N }: matches when that source has more than N connections.
struct StmtConnLimitOver {
  std::string set;
  std::vector<Selector> key;
  std::uint32_t count = 0;
};
struct StmtLog {
  std::string prefix;  // ≤ 127 bytes
};
// dnat ip to 203.0.113.11[:port] / dnat ip6 to ...
struct StmtDnat {
  IpAddress to;
  std::optional<std::uint16_t> port;
};
// DNAT to the address a map holds, keyed by the destination address (failover: VIP → the
// backend chosen) or by `numgen inc mod N` (balance: slot → backend). A backend's health
// change is then one element update of the map, never a rule change.
//   dnat ip to ip daddr map @m[:port]    /    dnat ip to numgen inc mod N map @m[:port]
struct StmtDnatMap {
  policies::Family family = policies::Family::V4;
  std::uint32_t numgenMod = 0;  // 0: keyed by ip/ip6 daddr
  std::string map;
  std::optional<std::uint16_t> port;
};
struct StmtSnat {
  IpAddress to;
};
struct StmtMasquerade {};
// <key> vmap @map : goto the chain the element names (falls through on no match)
struct StmtVmap {
  std::vector<Selector> key;
  std::string map;
};

using Expr = std::variant<MatchCtState, MatchCtDirection, MatchIfName, MatchNfProto, MatchL4Proto, MatchPrefix,
                          MatchPort, MatchLookup, MatchIpsecIn, MatchFibSaddrMissing,
                          MatchTcpSynOnly, MatchNotTcpSyn, StmtCounter, StmtLimit, StmtMeterOver,
                          StmtConnLimitOver, StmtLog, StmtDnat, StmtDnatMap, StmtSnat, StmtMasquerade,
                          StmtVmap>;

enum class VerdictKind : std::uint8_t { None, Accept, Drop, Reject, Jump, Goto, Return };
struct Verdict {
  VerdictKind kind = VerdictKind::None;
  std::string chain;  // Jump / Goto
};

// Where a rule comes from, so counters, kernel errors and `why` can name the policy line.
struct Origin {
  Location where;     // policy file:line:col ("" file = built in by Bulwark)
  std::string what;   // policy rule name, "dnat:<name>", "builtin:established", ...
};

struct Rule {
  std::vector<Expr> exprs;
  Verdict verdict;
  Origin origin;
  // "<file>:<line> <what>", stored in the kernel as the rule's comment (≤ 128 bytes).
  [[nodiscard]] std::string comment() const;
};

// Rule::comment() read back (counters, observe): "campus.yaml:78 public-web" → file
// "campus.yaml", line 78, what "public-web"; "bulwark: drop app>db" → what "drop app>db".
// A comment of neither form (a foreign rule's) is all `what`.
[[nodiscard]] Origin originOfComment(const std::string& comment);

// The counted default drop that ends the chain of zone pair from → to, and its decoding from
// a kernel comment ("bulwark: drop app>db" → {"app", "db"}): counters find the pair chains by it.
inline constexpr std::string_view kPairDrop = "drop ";
[[nodiscard]] Origin pairDropOrigin(const std::string& from, const std::string& to);
[[nodiscard]] std::optional<std::pair<std::string, std::string>> pairOfDropComment(const std::string& comment);

// The counted accept that ends the chain counting the established traffic of zone pair
// from → to in one direction ("bulwark: flow app>db", "bulwark: flow-reply app>db"), and its
// decoding: the totals add these to the pair, so they count every forwarded packet.
inline constexpr std::string_view kPairFlow = "flow ";
inline constexpr std::string_view kPairFlowReply = "flow-reply ";
struct PairFlow {
  std::string from, to;
  bool reply = false;  // the connection's replies (to → from), counted under the pair that opened it
};
[[nodiscard]] Origin pairFlowOrigin(const std::string& from, const std::string& to, bool reply);
[[nodiscard]] std::optional<PairFlow> pairOfFlowComment(const std::string& comment);

enum class Hook : std::uint8_t { Prerouting, Input, Forward, Output, Postrouting };
enum class ChainType : std::uint8_t { Filter, Nat };

struct BaseChain {
  ChainType type = ChainType::Filter;
  Hook hook = Hook::Forward;
  int priority = 0;
  bool policyDrop = false;
};

struct Chain {
  std::string name;
  std::optional<BaseChain> base;  // none: a regular chain reached by jump/vmap
  std::vector<Rule> rules;
  std::string comment;
};

struct Ruleset {
  std::vector<SetDef> sets;      // sets and maps, declared before the chains that use them
  std::vector<Chain> chains;     // any order: chains are all created before any rule
  [[nodiscard]] const Chain* findChain(std::string_view name) const;
  [[nodiscard]] const SetDef* findSet(std::string_view name) const;
};

}  // namespace bulwark::firewall
