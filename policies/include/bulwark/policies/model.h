#pragma once
// The typed policy: what the YAML says, after syntax and type checks but before
// cross-reference checks (see validator.h). Every element remembers where it was written
// so later stages (validator, firewall compiler, counters, `why`) can name file:line.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/net.h"

namespace bulwark::policies {

// Where each field of an element was written; falls back to the element itself.
struct Located {
  Location where;
  std::map<std::string, Location, std::less<>> fields;
  [[nodiscard]] const Location& at(std::string_view field) const;
};

// A name written somewhere (a reference to a segment, host, zone, service ...).
struct NameRef {
  std::string name;
  Location where;
};

enum class Protocol : std::uint8_t { Tcp, Udp, Sctp, Icmp, Icmpv6 };
[[nodiscard]] std::string_view protocolName(Protocol p);
[[nodiscard]] std::optional<Protocol> protocolFromName(std::string_view s);
[[nodiscard]] bool protocolHasPorts(Protocol p);
[[nodiscard]] std::uint8_t protocolNumber(Protocol p);  // IANA number: tcp 6, udp 17 ...
[[nodiscard]] std::optional<Protocol> protocolFromNumber(std::uint8_t number);

struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 65535;
  [[nodiscard]] bool all() const { return first == 0 && last == 65535; }
  [[nodiscard]] bool contains(const PortRange& o) const { return first <= o.first && o.last <= last; }
  [[nodiscard]] bool overlaps(const PortRange& o) const { return first <= o.last && o.first <= last; }
  friend auto operator<=>(const PortRange&, const PortRange&) = default;
};

// One protocol with one port range: "tcp/443", "udp/10000-20000", "icmp".
struct PortSpec {
  Protocol protocol = Protocol::Tcp;
  PortRange ports;  // all() for port-less protocols
  [[nodiscard]] std::string str() const;
  [[nodiscard]] bool contains(const PortSpec& o) const {
    return protocol == o.protocol && ports.contains(o.ports);
  }
  [[nodiscard]] bool overlaps(const PortSpec& o) const {
    return protocol == o.protocol && ports.overlaps(o.ports);
  }
  friend auto operator<=>(const PortSpec&, const PortSpec&) = default;
};

struct Service : Located {
  std::string name;
  std::string description;
  std::vector<PortSpec> ports;
};

// Remote access to bulwarkd's control API: TLS 1.3 with client certificates from Bulwark's
// CA, on one address of the gateway's own (the validator: a segment's gateway address).
// The role comes from the certificate's group (its OU, `bulwarkctl pki issue --group`).
struct ControlAccess : Located {
  IpAddress listen;
  std::uint16_t port = 9443;
  std::vector<NameRef> change;  // certificate groups that may change
  std::vector<NameRef> view;    // certificate groups that may only read
};

// bulwarkd's read-only web view (HTTPS, TLS 1.3, client certificates from Bulwark's CA) on
// one address of the gateway's own, like ControlAccess; the certificate groups of `control`
// (change or view) may open it.
struct WebAccess : Located {
  IpAddress listen;
  std::uint16_t port = 8443;
};

// The per-source limit on new TCP connections (SYNs) that arrive on the uplink, checked before
// any rule: one address flooding SYNs is cut there, and it caps every rule's own limit.rate for
// sources on the internet. Hundreds of users behind one campus NAT address are one source, so
// the default is high (at ~20 connections per page load, 500 users loading a page at once fit
// in the burst); `syn_limit: off` removes it.
inline constexpr std::uint32_t kDefaultSynRate = 10000;   // per second
inline constexpr std::uint32_t kDefaultSynBurst = 20000;
struct SynLimit : Located {
  bool off = false;
  std::uint32_t count = kDefaultSynRate;
  std::string per = "second";  // second | minute | hour
  std::uint32_t burst = kDefaultSynBurst;
  [[nodiscard]] double perSecond() const;
  [[nodiscard]] std::string str() const;  // "10000/second, burst 20000" or "off"
};

struct Gateway : Located {
  std::string name;
  std::string uplink;  // interface towards the internet
  std::string trunk;   // 802.1Q trunk carrying VLAN segments (optional)
  std::optional<ControlAccess> control;
  std::optional<WebAccess> web;
  std::optional<SynLimit> synLimit;  // unset: the default
};

struct AddressFamilyConfig {
  Prefix subnet;
  std::optional<IpAddress> gateway;  // the gateway's own address on the segment
};

struct Segment : Located {
  std::string name;
  std::string description;
  std::optional<int> vlan;          // 802.1Q id on the trunk ...
  std::string interface;            // ... or a plain interface (no tag)
  std::optional<AddressFamilyConfig> ipv4;
  std::optional<AddressFamilyConfig> ipv6;
  int mtu = 1500;
};

// An endpoint in a rule: "any", "internet", a zone/segment/host/VPN group name, or an
// address/prefix literal ("198.51.100.0/24").
struct Endpoint {
  std::string text;
  Location where;
  std::optional<Prefix> literal;  // set when text is an address or prefix
};

// A service in a rule: a named service, "any", or a literal like "tcp/8443".
struct ServiceRef {
  std::string text;
  Location where;
  std::optional<PortSpec> literal;
};

struct Host : Located {
  std::string name;
  std::string description;
  NameRef segment;
  std::vector<IpAddress> addresses;
  std::vector<NameRef> checks;  // health checks run against this host (names in `checks:`)
};

// A health check the gateway runs against hosts (hosts[].checks) and DNAT backends
// (nat.dnat[].check), from its own network namespace. The engine is gateway/health.
enum class CheckType : std::uint8_t { Tcp, Http, Https, Tls };
[[nodiscard]] std::string_view checkTypeName(CheckType t);
[[nodiscard]] std::optional<CheckType> checkTypeFromName(std::string_view s);

// Defaults and bounds of the timing fields, shared by the loader (bounds), the validator
// (timeout < interval) and the engine.
inline constexpr std::uint32_t kCheckIntervalDefaultMs = 1000;
inline constexpr std::uint32_t kCheckTimeoutDefaultMs = 500;
inline constexpr std::uint32_t kCheckIntervalMinMs = 100;
inline constexpr std::uint32_t kCheckIntervalMaxMs = 300000;
inline constexpr std::uint32_t kCheckTimeoutMinMs = 50;
inline constexpr std::uint32_t kCheckCountDefault = 2;  // rise and fall
inline constexpr std::uint32_t kCheckCountMax = 10;

struct HealthCheck : Located {
  std::string name;
  std::string description;
  CheckType type = CheckType::Tcp;
  bool typeKnown = true;              // false: 'type' did not parse (reported by the loader)
  std::optional<ServiceRef> service;  // the TCP port probed; default http 80, https/tls 443
  std::string path = "/";             // http(s): the GET request's path
  std::string host;                   // http(s): Host header; https/tls: SNI ("": the address)
  std::vector<std::uint16_t> expect;  // http(s): statuses counted as up (empty: 200)
  std::uint32_t intervalMs = kCheckIntervalDefaultMs;
  std::uint32_t timeoutMs = kCheckTimeoutDefaultMs;
  std::uint32_t rise = kCheckCountDefault;  // consecutive successes to be up
  std::uint32_t fall = kCheckCountDefault;  // consecutive failures to be down
};

struct Zone : Located {
  std::string name;
  std::string description;
  std::vector<NameRef> segments;
  std::vector<NameRef> vpnGroups;
};

enum class Action : std::uint8_t { Allow, Deny, Reject };
[[nodiscard]] std::string_view actionName(Action a);
[[nodiscard]] std::optional<Action> actionFromName(std::string_view s);

// Per-source limits on the flows a rule allows.
struct RateLimit {
  std::uint32_t count = 0;  // new connections ...
  std::string per;          // ... per "second" | "minute" | "hour"
  std::uint32_t burst = 0;  // 0 = same as count
};
struct Limits : Located {
  std::optional<RateLimit> rate;
  std::optional<std::uint32_t> connections;  // concurrent connections per source
};


struct Rule : Located {
  std::string name;
  std::string description;
  std::vector<Endpoint> from;
  std::vector<Endpoint> to;
  std::vector<ServiceRef> services;
  Action action = Action::Allow;
  std::optional<Limits> limits;
  bool log = false;
};

// How a DNAT with several backends picks one: the first healthy in the order written
// (standby backends take over), or new connections spread over all healthy ones.
enum class DnatMode : std::uint8_t { Single, Failover, Balance };
[[nodiscard]] std::string_view dnatModeName(DnatMode m);
[[nodiscard]] std::optional<DnatMode> dnatModeFromName(std::string_view s);
inline constexpr std::size_t kMaxDnatBackends = 32;

// A DNAT backend: a host name, or an address literal inside one of the segments.
struct Backend {
  std::string text;
  Location where;
  std::optional<IpAddress> literal;
};

struct Dnat : Located {
  std::string name;
  IpAddress vip;
  ServiceRef service;
  std::vector<Backend> to;            // backends receiving the traffic, in order
  DnatMode mode = DnatMode::Single;   // several backends: failover unless 'mode' says
  std::optional<NameRef> check;       // health check deciding which backends get traffic
  std::optional<std::uint16_t> port;  // translated port; default: unchanged
  // New TCP connections to the VIP's service from the uplink, all sources together (the
  // gateway's syn_limit is per source; a spoofed flood has a new source per SYN). Unset or
  // `off`: no such limit.
  std::optional<SynLimit> synLimit;
};

struct Snat : Located {
  std::string name;
  std::vector<Endpoint> from;
  bool masquerade = true;
  std::optional<IpAddress> address;  // when not masquerading
};

struct VpnAccess : Located {
  std::vector<Endpoint> to;
  std::vector<ServiceRef> services;
};

struct VpnGroup : Located {
  std::string name;
  std::string description;
  Prefix pool;
  std::vector<VpnAccess> access;
};

struct Vpn : Located {
  std::string caName;            // subject CN of Bulwark's admin CA
  std::string localId;           // the gateway's IKE identity (certificate SAN)
  std::vector<IpAddress> listen; // addresses charon accepts IKE on (empty: all)
  std::vector<std::string> ikeProposals;
  std::vector<std::string> espProposals;
  std::vector<VpnGroup> groups;
};

// ---- ha: an active/standby gateway pair (keepalived VRRP + conntrackd state sync) -------

// An address with the prefix length of the subnet it sits on: "198.51.100.2/24" (host bits
// kept, unlike Prefix). Used where the policy knows no subnet of its own (uplink, sync link).
struct InterfaceAddress {
  IpAddress ip;
  int length = 0;
  [[nodiscard]] std::string str() const;  // "198.51.100.2/24"
  [[nodiscard]] Prefix subnet() const { return Prefix(ip, length); }
  friend auto operator<=>(const InterfaceAddress&, const InterfaceAddress&) = default;
};

// One node's own addresses on one segment (never the floating gateway address).
struct HaSegmentAddresses {
  NameRef segment;
  std::vector<IpAddress> addresses;
  std::vector<Location> where;  // one per address
};

struct HaNode : Located {
  std::string name;
  std::vector<InterfaceAddress> uplink;     // its own addresses on the uplink
  std::optional<InterfaceAddress> sync;     // on a dedicated sync interface
  std::optional<IpAddress> control;         // where the peer reaches its control API
  std::vector<HaSegmentAddresses> segments;
};

// A floating address written out in `ha.floating` (otherwise they are derived, see ha.h).
struct HaFloating : Located {
  IpAddress address;
  std::optional<int> length;  // given as "address/length"
  bool uplink = false;        // on the uplink ...
  NameRef segment;            // ... or on this segment
};

enum class HaFailback : std::uint8_t { NoPreempt, Preempt };

struct Ha : Located {
  std::vector<HaNode> nodes;
  std::vector<InterfaceAddress> uplink;  // the pair's floating addresses on the uplink
  std::string syncInterface;             // the sync link: a dedicated interface ...
  NameRef syncSegment;                   // ... or a segment
  int vrrpId = 51;                       // the first VRRP id; one per floating interface
  int advertCentis = 100;                // VRRPv3 advert interval in centiseconds
  HaFailback failback = HaFailback::NoPreempt;
  std::optional<int> preemptDelay;       // seconds, with failback: preempt
  bool floatingListed = false;           // `floating` given: exactly these float
  std::vector<HaFloating> floating;
  [[nodiscard]] const HaNode* findNode(std::string_view name) const;
};

// A statement about every flow the compiled policy allows, checked exactly over the compiled
// ruleset (review/invariants.h: bulwarkctl validate and test; diff reports the ones a change
// touches):
//   never: no allowed flow goes from `from` to `to` on `services`;
//   only:  every allowed flow to `to` on `services` comes from `from`.
// `services` empty means any. `to` is where a flow is delivered (after DNAT).
struct Invariant : Located {
  enum class Kind : std::uint8_t { Never, Only };
  Kind kind = Kind::Never;
  std::string name;  // optional
  std::vector<Endpoint> from;
  std::vector<Endpoint> to;
  std::vector<ServiceRef> services;
  std::string description;
  [[nodiscard]] std::string str() const;    // "never {from: internet, to: [db]}"
  [[nodiscard]] std::string label() const;  // its name, or str()
};

struct Expectation : Located {
  Endpoint from;
  Endpoint to;
  ServiceRef service;
  Action verdict = Action::Allow;  // allow | deny
};

struct Policy {
  std::vector<std::string> files;  // the files it was loaded from, in load order
  // Files whose YAML did not parse (their syntax error is reported): nothing of them is in
  // this model, so a section missing here may be in one of them.
  std::vector<std::string> unparsed;
  std::optional<Gateway> gateway;
  std::vector<Segment> segments;
  std::vector<Host> hosts;
  std::vector<Service> services;
  std::vector<HealthCheck> checks;
  std::vector<Zone> zones;
  std::vector<Rule> rules;
  std::vector<Dnat> dnat;
  std::vector<Snat> snat;
  std::optional<Vpn> vpn;
  std::optional<Ha> ha;
  std::vector<Expectation> expectations;
  std::vector<Invariant> invariants;

  [[nodiscard]] const Segment* findSegment(std::string_view name) const;
  [[nodiscard]] const Host* findHost(std::string_view name) const;
  [[nodiscard]] const Service* findService(std::string_view name) const;
  [[nodiscard]] const HealthCheck* findCheck(std::string_view name) const;
  [[nodiscard]] const Zone* findZone(std::string_view name) const;
  [[nodiscard]] const VpnGroup* findVpnGroup(std::string_view name) const;
};

// The uplink's per-source SYN limit in force: the policy's, or the default.
[[nodiscard]] SynLimit effectiveSynLimit(const Policy& policy);

// "tcp/443", "udp/1000-2000", "icmp": nullopt and a message when malformed.
struct PortSpecParse {
  std::optional<PortSpec> spec;
  std::string error;
};
[[nodiscard]] PortSpecParse parsePortSpec(std::string_view text);

}  // namespace bulwark::policies
