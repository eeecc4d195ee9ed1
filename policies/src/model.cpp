#include "bulwark/policies/model.h"

#include <algorithm>
#include <charconv>

#include "bulwark/base/enum_names.h"

namespace bulwark::policies {

const Location& Located::at(std::string_view field) const {
  auto it = fields.find(field);
  return it == fields.end() ? where : it->second;
}

namespace {

// Each enum's spelling in policy files, for naming a value and for parsing it (the loader):
// one row per enumerator.
struct ProtocolRow {
  Protocol value;
  std::string_view name;
  std::uint8_t number;  // IANA
};
constexpr ProtocolRow kProtocols[] = {
    {Protocol::Tcp, "tcp", 6},   {Protocol::Udp, "udp", 17},         {Protocol::Sctp, "sctp", 132},
    {Protocol::Icmp, "icmp", 1}, {Protocol::Icmpv6, "icmpv6", 58},
};
constexpr EnumName<Action> kActions[] = {
    {Action::Allow, "allow"}, {Action::Deny, "deny"}, {Action::Reject, "reject"}};
constexpr EnumName<CheckType> kCheckTypes[] = {
    {CheckType::Tcp, "tcp"}, {CheckType::Http, "http"}, {CheckType::Https, "https"}, {CheckType::Tls, "tls"}};
constexpr EnumName<DnatMode> kDnatModes[] = {
    {DnatMode::Single, "single"}, {DnatMode::Failover, "failover"}, {DnatMode::Balance, "balance"}};

}  // namespace

std::string_view protocolName(Protocol p) { return nameOf(kProtocols, p); }
std::optional<Protocol> protocolFromName(std::string_view s) { return parseName(kProtocols, s); }

bool protocolHasPorts(Protocol p) {
  return p == Protocol::Tcp || p == Protocol::Udp || p == Protocol::Sctp;
}

std::uint8_t protocolNumber(Protocol p) {
  const auto* row = rowOf(kProtocols, p);
  return row ? row->number : 0;
}

std::optional<Protocol> protocolFromNumber(std::uint8_t number) {
  for (const auto& row : kProtocols) {
    if (row.number == number) return row.value;
  }
  return std::nullopt;
}

std::string_view actionName(Action a) { return nameOf(kActions, a); }
std::optional<Action> actionFromName(std::string_view s) { return parseName(kActions, s); }

std::string_view checkTypeName(CheckType t) { return nameOf(kCheckTypes, t); }
std::optional<CheckType> checkTypeFromName(std::string_view s) { return parseName(kCheckTypes, s); }

std::string_view dnatModeName(DnatMode m) { return nameOf(kDnatModes, m); }
std::optional<DnatMode> dnatModeFromName(std::string_view s) { return parseName(kDnatModes, s); }

double SynLimit::perSecond() const {
  double n = count;
  return per == "hour" ? n / 3600 : per == "minute" ? n / 60 : n;
}

std::string SynLimit::str() const {
  if (off) return "off";
  return std::to_string(count) + "/" + per + ", burst " + std::to_string(burst);
}

SynLimit effectiveSynLimit(const Policy& policy) {
  if (policy.gateway && policy.gateway->synLimit) return *policy.gateway->synLimit;
  return SynLimit{};
}

std::string Invariant::str() const {
  auto list = [](const auto& items) {
    if (items.size() == 1) return items.front().text;
    std::string s = "[";
    for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i].text;
    return s + "]";
  };
  std::string s = kind == Kind::Never ? "never {from: " + list(from) + ", to: " + list(to)
                                      : "only {to: " + list(to) + ", from: " + list(from);
  if (!services.empty()) s += ", services: " + list(services);
  return s + "}";
}

std::string Invariant::label() const { return name.empty() ? str() : name; }

std::string PortSpec::str() const {
  std::string s(protocolName(protocol));
  if (!protocolHasPorts(protocol) || ports.all()) {
    return s;
  }
  s += '/' + std::to_string(ports.first);
  if (ports.last != ports.first) {
    s += '-' + std::to_string(ports.last);
  }
  return s;
}

namespace {

// Digits only, value kept in a wide type so "99999" is reported as out of range.
std::optional<long> parseNumber(std::string_view s) {
  if (s.empty() || s.size() > 9) {
    return std::nullopt;
  }
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

PortSpecParse parsePortSpec(std::string_view text) {
  auto slash = text.find('/');
  auto protoText = text.substr(0, slash);
  auto proto = protocolFromName(protoText);
  if (!proto) {
    return {std::nullopt, "unknown protocol '" + std::string(protoText) +
                              "' (expected tcp, udp, sctp, icmp or icmpv6)"};
  }
  PortSpec spec{*proto, {}};
  if (slash == std::string_view::npos) {
    return {spec, {}};
  }
  if (!protocolHasPorts(*proto)) {
    return {std::nullopt, std::string(protoText) + " has no ports"};
  }
  auto range = text.substr(slash + 1);
  auto dash = range.find('-');
  auto first = parseNumber(range.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : parseNumber(range.substr(dash + 1));
  if (!first || !last) {
    return {std::nullopt, "malformed port '" + std::string(range) + "' (expected N or N-M)"};
  }
  if (*first < 1 || *first > 65535 || *last < 1 || *last > 65535) {
    return {std::nullopt, "port out of range in '" + std::string(range) + "' (1-65535)"};
  }
  if (*first > *last) {
    return {std::nullopt, "empty port range '" + std::string(range) + "' (first port above last)"};
  }
  spec.ports = {static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*last)};
  return {spec, {}};
}

namespace {
template <typename T>
const T* findByName(const std::vector<T>& items, std::string_view name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == name; });
  return it == items.end() ? nullptr : &*it;
}
}  // namespace

const Segment* Policy::findSegment(std::string_view name) const { return findByName(segments, name); }
const Host* Policy::findHost(std::string_view name) const { return findByName(hosts, name); }
const Service* Policy::findService(std::string_view name) const { return findByName(services, name); }
const HealthCheck* Policy::findCheck(std::string_view name) const { return findByName(checks, name); }
const Zone* Policy::findZone(std::string_view name) const { return findByName(zones, name); }
const VpnGroup* Policy::findVpnGroup(std::string_view name) const {
  return vpn ? findByName(vpn->groups, name) : nullptr;
}

}  // namespace bulwark::policies
