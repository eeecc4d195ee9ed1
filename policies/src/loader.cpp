#include "bulwark/policies/loader.h"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <utility>

#include "bulwark/policies/source_files.h"
#include "bulwark/policies/validator.h"
#include "load_ha.h"
#include "yaml_reader.h"

namespace bulwark::policies {

using detail::Field;
using detail::Fields;
using detail::YamlReader;

namespace {

// The syntax of YamlReader::name() for items of a list (scalarList gives text + location).
bool validNameSyntax(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::isalpha(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

// Reads one file's document into `policy`, appending to its lists.
class FileLoader {
 public:
  FileLoader(YamlReader& r, Policy& policy, std::map<std::string, Location>& singletons)
      : r_(r), p_(policy), singletons_(singletons) {}

  void load(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
      return;  // an empty file is an empty policy fragment
    }
    auto top = r_.mapping(root, {r_.file(), 1, 1}, "the policy",
                          {"gateway", "segments", "hosts", "services", "checks", "zones", "rules",
                           "nat", "vpn", "ha", "invariants", "expect"});
    if (!top) {
      return;
    }
    for (const auto& f : top->all()) {
      if (auto loadEntry = listEntryLoader(f.key)) {
        for (const auto& n : r_.sequence(f)) (this->*loadEntry)(n);
      } else if (f.key == "gateway") {
        if (claimSingleton(f)) loadGateway(f);
      } else if (f.key == "nat") {
        loadNat(f);
      } else if (f.key == "vpn") {
        if (claimSingleton(f)) loadVpn(f);
      } else if (f.key == "ha") {
        if (claimSingleton(f)) p_.ha = detail::loadHa(r_, f);
      }
    }
  }

 private:
  using EntryLoader = void (FileLoader::*)(const YAML::Node&);

  // The top-level keys that hold a list, each entry loaded by its own member; null for the others.
  static EntryLoader listEntryLoader(std::string_view key) {
    static constexpr std::pair<std::string_view, EntryLoader> kLists[] = {
        {"segments", &FileLoader::loadSegment},   {"hosts", &FileLoader::loadHost},
        {"services", &FileLoader::loadService},   {"checks", &FileLoader::loadCheck},
        {"zones", &FileLoader::loadZone},         {"rules", &FileLoader::loadRule},
        {"expect", &FileLoader::loadExpectation}, {"invariants", &FileLoader::loadInvariant},
    };
    for (const auto& [name, loader] : kLists) {
      if (name == key) return loader;
    }
    return nullptr;
  }

  bool claimSingleton(const Field& f) {
    auto [it, inserted] = singletons_.emplace(f.key, r_.loc(f.keyNode));
    if (!inserted) {
      r_.diags().error(r_.loc(f.keyNode), "'" + f.key + "' is given more than once",
                       "first given at " + it->second.str() + "; keep it in one file");
    }
    return inserted;
  }

  std::optional<Fields> entry(const YAML::Node& n, std::string_view what,
                              std::initializer_list<std::string_view> allowed,
                              std::initializer_list<std::string_view> required, Located& target) {
    target.where = r_.loc(n);
    auto fields = r_.mapping(n, target.where, what, allowed, required);
    if (fields) {
      for (const auto& f : fields->all()) {
        r_.recordField(target, f);
      }
    }
    return fields;
  }

  void loadGateway(const Field& f) {
    Gateway g;
    auto fields = entry(f.value, "gateway", {"name", "uplink", "trunk", "control", "web", "syn_limit"},
                        {"uplink"}, g);
    if (!fields) return;
    g.where = r_.loc(f.keyNode);
    if (auto* x = fields->get("name")) g.name = r_.name(*x).value_or("");
    if (auto* x = fields->get("uplink")) g.uplink = r_.interfaceName(*x);
    if (auto* x = fields->get("trunk")) g.trunk = r_.interfaceName(*x);
    if (auto* x = fields->get("control")) g.control = loadControl(*x);
    if (auto* x = fields->get("web")) g.web = loadWeb(*x);
    if (auto* x = fields->get("syn_limit")) g.synLimit = loadSynLimit(*x);
    p_.gateway = std::move(g);
  }

  std::optional<WebAccess> loadWeb(const Field& f) {
    WebAccess w;
    auto fields = entry(f.value, "web", {"listen", "port"}, {"listen"}, w);
    if (!fields) return std::nullopt;
    w.where = r_.loc(f.keyNode);
    auto* listen = fields->get("listen");
    auto a = listen ? r_.address(*listen) : std::nullopt;
    if (auto* x = fields->get("port")) {
      if (auto port = r_.integer(*x, 1, 65535)) w.port = static_cast<std::uint16_t>(*port);
    }
    if (!a) return std::nullopt;
    w.listen = *a;
    return w;
  }

  // `syn_limit: off`, or `{ rate: N/second, burst: M }` (burst defaults to twice the rate).
  std::optional<SynLimit> loadSynLimit(const Field& f) {
    SynLimit l;
    l.where = r_.loc(f);
    if (f.value.IsScalar()) {
      if (f.value.Scalar() == "off") {
        l.off = true;
        return l;
      }
      r_.diags().error(r_.loc(f), "'syn_limit' must be 'off' or { rate: N/second, burst: M }, got '" +
                                      f.value.Scalar() + "'");
      return std::nullopt;
    }
    auto fields = r_.mapping(f.value, r_.loc(f), "syn_limit", {"rate", "burst"}, {"rate"});
    if (!fields) return std::nullopt;
    const auto* rateField = fields->get("rate");
    auto parsed = rateField ? rate(*rateField) : std::nullopt;
    if (!parsed) return std::nullopt;
    l.count = parsed->count;
    l.per = parsed->per;
    l.burst = parsed->count * 2;
    if (auto* x = fields->get("burst")) {
      if (auto b = r_.integer(*x, 1, 2000000)) l.burst = static_cast<std::uint32_t>(*b);
    }
    return l;
  }

  std::optional<ControlAccess> loadControl(const Field& f) {
    ControlAccess c;
    auto fields = entry(f.value, "control", {"listen", "port", "change", "view"}, {"listen"}, c);
    if (!fields) return std::nullopt;
    c.where = r_.loc(f.keyNode);
    bool ok = true;
    for (const auto& x : fields->all()) {
      if (x.key == "listen") {
        auto a = r_.address(x);
        ok = ok && a.has_value();
        if (a) c.listen = *a;
      } else if (x.key == "port") {
        auto port = r_.integer(x, 1, 65535);
        if (port) c.port = static_cast<std::uint16_t>(*port);
      } else if (x.key == "change" || x.key == "view") {
        auto& target = x.key == "change" ? c.change : c.view;
        for (const auto& [text, where] : r_.scalarList(x, true)) {
          if (!validNameSyntax(text)) {
            r_.diags().error(where, "invalid certificate group name '" + text + "'",
                             "names start with a letter and hold up to 32 letters, digits, '-' or '_'");
            continue;
          }
          target.push_back(NameRef{text, where});
        }
      }
    }
    if (!ok) return std::nullopt;
    return c;
  }

  std::optional<AddressFamilyConfig> loadFamily(const Field& f, Family family) {
    const char* what = family == Family::V4 ? "ipv4" : "ipv6";
    Located ignored;
    auto fields = r_.mapping(f.value, r_.loc(f), what, {"subnet", "gateway"}, {"subnet"});
    if (!fields) return std::nullopt;
    AddressFamilyConfig cfg;
    auto* subnet = fields->get("subnet");
    if (!subnet) return std::nullopt;
    auto p = r_.prefix(*subnet);
    if (!p) return std::nullopt;
    if (p->family() != family) {
      r_.diags().error(r_.loc(*subnet), std::string(what) + " subnet " + p->str() + " is not an " +
                                            (family == Family::V4 ? "IPv4" : "IPv6") + " prefix");
      return std::nullopt;
    }
    cfg.subnet = *p;
    if (auto* g = fields->get("gateway")) {
      cfg.gateway = r_.address(*g);
      if (cfg.gateway && cfg.gateway->family() != family) {
        r_.diags().error(r_.loc(*g), std::string(what) + " gateway " + cfg.gateway->str() +
                                         " is of the wrong address family");
        cfg.gateway.reset();
      }
    }
    return cfg;
  }

  void loadSegment(const YAML::Node& n) {
    Segment s;
    auto fields = entry(n, "a segment",
                        {"name", "description", "vlan", "interface", "ipv4", "ipv6", "mtu"},
                        {"name"}, s);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") s.name = r_.name(f).value_or("");
      else if (f.key == "description") s.description = r_.string(f).value_or("");
      else if (f.key == "vlan") {
        if (auto v = r_.integer(f, 1, 4094)) s.vlan = static_cast<int>(*v);
      } else if (f.key == "interface") s.interface = r_.interfaceName(f);
      else if (f.key == "ipv4") s.ipv4 = loadFamily(f, Family::V4);
      else if (f.key == "ipv6") s.ipv6 = loadFamily(f, Family::V6);
      else if (f.key == "mtu") s.mtu = static_cast<int>(r_.integer(f, 576, 9216).value_or(1500));
    }
    p_.segments.push_back(std::move(s));
  }

  void loadHost(const YAML::Node& n) {
    Host h;
    auto fields = entry(n, "a host", {"name", "description", "segment", "addresses", "checks"},
                        {"name", "segment", "addresses"}, h);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") h.name = r_.name(f).value_or("");
      else if (f.key == "description") h.description = r_.string(f).value_or("");
      else if (f.key == "segment") h.segment = {r_.string(f).value_or(""), r_.loc(f)};
      else if (f.key == "addresses") {
        for (const auto& [text, where] : r_.scalarList(f, true)) {
          if (auto a = IpAddress::parse(text)) {
            h.addresses.push_back(*a);
            h.fields["addresses[" + std::to_string(h.addresses.size() - 1) + "]"] = where;
          } else {
            r_.diags().error(where, "invalid IP address '" + text + "'",
                             text.find('/') != std::string::npos
                                 ? "host addresses are written without a prefix length"
                                 : "");
          }
        }
      } else if (f.key == "checks") {
        h.checks = nameRefs(f);
      }
    }
    p_.hosts.push_back(std::move(h));
  }

  // "500ms", "2s", "1m": a duration in milliseconds within [min, max].
  std::optional<std::uint32_t> duration(const Field& f, std::uint32_t minMs, std::uint32_t maxMs) {
    auto s = r_.string(f);
    if (!s) return std::nullopt;
    std::size_t digits = 0;
    while (digits < s->size() && std::isdigit(static_cast<unsigned char>((*s)[digits]))) ++digits;
    auto unit = s->substr(digits);
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + digits, v);
    std::uint64_t scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 0;
    if (digits == 0 || digits > 9 || ec != std::errc{} || end != s->data() + digits || scale == 0) {
      r_.diags().error(r_.loc(f), "invalid duration '" + *s + "' for '" + f.key + "'",
                       "write it as N ms, s or m without a space, e.g. 500ms, 2s, 1m");
      return std::nullopt;
    }
    std::uint64_t ms = v * scale;
    if (ms < minMs || ms > maxMs) {
      r_.diags().error(r_.loc(f), "'" + f.key + "' " + *s + " is out of range (" + std::to_string(minMs) +
                                      "ms to " + std::to_string(maxMs / 1000) + "s)");
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(ms);
  }

  void loadCheck(const YAML::Node& n) {
    HealthCheck c;
    auto fields = entry(n, "a check",
                        {"name", "description", "type", "service", "path", "host", "expect", "interval",
                         "timeout", "rise", "fall"},
                        {"name", "type"}, c);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") c.name = r_.name(f).value_or("");
      else if (f.key == "description") c.description = r_.string(f).value_or("");
      else if (f.key == "type") {
        auto t = r_.string(f);
        if (!t) continue;
        if (auto type = checkTypeFromName(*t)) c.type = *type;
        else {
          c.typeKnown = false;
          r_.diags().error(r_.loc(f), "unknown check type '" + *t + "'", "use tcp, http, https or tls");
        }
      } else if (f.key == "service") {
        if (auto s = r_.string(f)) c.service = serviceRef(*s, r_.loc(f));
      } else if (f.key == "path") {
        auto s = r_.string(f);
        if (!s) continue;
        bool ok = !s->empty() && s->size() <= 256 && s->front() == '/' &&
                  std::all_of(s->begin(), s->end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
        if (ok) c.path = *s;
        else r_.diags().error(r_.loc(f), "invalid check path '" + *s + "'",
                              "a path starts with '/' and holds up to 256 printable characters, no spaces");
      } else if (f.key == "host") {
        auto s = r_.string(f);
        if (!s) continue;
        bool ok = !s->empty() && s->size() <= 253 && std::all_of(s->begin(), s->end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == ':';
        });
        if (ok) c.host = *s;
        else r_.diags().error(r_.loc(f), "invalid check host name '" + *s + "'",
                              "a DNS name (letters, digits, '-', '.') of at most 253 characters");
      } else if (f.key == "expect") {
        for (const auto& [text, where] : r_.scalarList(f, true)) {
          int v = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (ec != std::errc{} || end != text.data() + text.size() || v < 100 || v > 599) {
            r_.diags().error(where, "invalid HTTP status '" + text + "'", "expected statuses are 100-599");
            continue;
          }
          c.expect.push_back(static_cast<std::uint16_t>(v));
        }
      } else if (f.key == "interval") {
        c.intervalMs = duration(f, kCheckIntervalMinMs, kCheckIntervalMaxMs).value_or(c.intervalMs);
      } else if (f.key == "timeout") {
        c.timeoutMs = duration(f, kCheckTimeoutMinMs, kCheckIntervalMaxMs).value_or(c.timeoutMs);
      } else if (f.key == "rise" || f.key == "fall") {
        auto v = r_.integer(f, 1, kCheckCountMax);
        if (v) (f.key == "rise" ? c.rise : c.fall) = static_cast<std::uint32_t>(*v);
      }
    }
    p_.checks.push_back(std::move(c));
  }

  void loadService(const YAML::Node& n) {
    Service s;
    auto fields = entry(n, "a service", {"name", "description", "ports"}, {"name", "ports"}, s);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") s.name = r_.name(f).value_or("");
      else if (f.key == "description") s.description = r_.string(f).value_or("");
      else if (f.key == "ports") {
        for (const auto& [text, where] : r_.scalarList(f, true)) {
          auto parsed = parsePortSpec(text);
          if (parsed.spec) {
            s.ports.push_back(*parsed.spec);
          } else {
            r_.diags().error(where, "invalid port '" + text + "': " + parsed.error,
                             "write ports as tcp/443, udp/10000-20000 or icmp");
          }
        }
      }
    }
    p_.services.push_back(std::move(s));
  }

  std::vector<NameRef> nameRefs(const Field& f) {
    std::vector<NameRef> out;
    for (auto& [text, where] : r_.scalarList(f, true)) {
      out.push_back({std::move(text), where});
    }
    return out;
  }

  void loadZone(const YAML::Node& n) {
    Zone z;
    auto fields = entry(n, "a zone", {"name", "description", "segments", "vpn_groups"}, {"name"}, z);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") z.name = r_.name(f).value_or("");
      else if (f.key == "description") z.description = r_.string(f).value_or("");
      else if (f.key == "segments") z.segments = nameRefs(f);
      else if (f.key == "vpn_groups") z.vpnGroups = nameRefs(f);
    }
    if (!fields->get("segments") && !fields->get("vpn_groups")) {
      r_.diags().error(z.where, "zone '" + z.name + "' has no members",
                       "list its 'segments' and/or 'vpn_groups'");
    }
    p_.zones.push_back(std::move(z));
  }

  std::vector<Endpoint> endpoints(const Field& f) {
    std::vector<Endpoint> out;
    for (auto& [text, where] : r_.scalarList(f, true)) {
      out.push_back(endpoint(text, where));
    }
    return out;
  }

  Endpoint endpoint(const std::string& text, const Location& where) {
    Endpoint e{text, where, std::nullopt};
    bool looksLiteral = !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) ||
                                          text.find(':') != std::string::npos);
    if (looksLiteral) {
      e.literal = Prefix::parse(text);
      if (!e.literal) {
        auto loose = Prefix::parse(text, false);
        r_.diags().error(where, "invalid address or prefix '" + text + "'",
                         loose ? "did you mean " + loose->str() + "?" : "");
      }
    }
    return e;
  }

  ServiceRef serviceRef(const std::string& text, const Location& where) {
    ServiceRef s{text, where, std::nullopt};
    // "tcp/443", or a bare protocol meaning all of its ports ("tcp", "icmp").
    if (text.find('/') != std::string::npos || parsePortSpec(text).spec) {
      auto parsed = parsePortSpec(text);
      if (parsed.spec) {
        s.literal = parsed.spec;
      } else {
        r_.diags().error(where, "invalid service '" + text + "': " + parsed.error);
      }
    }
    return s;
  }

  std::vector<ServiceRef> serviceRefs(const Field& f) {
    std::vector<ServiceRef> out;
    for (auto& [text, where] : r_.scalarList(f, true)) {
      out.push_back(serviceRef(text, where));
    }
    return out;
  }

  std::optional<Action> action(const Field& f, bool allowReject) {
    auto s = r_.string(f);
    if (!s) return std::nullopt;
    auto a = actionFromName(*s);
    if (a && (*a != Action::Reject || allowReject)) return *a;
    r_.diags().error(r_.loc(f), "'" + f.key + "' must be " +
                                    (allowReject ? "allow, deny or reject" : "allow or deny") +
                                    ", got '" + *s + "'");
    return std::nullopt;
  }

  std::optional<RateLimit> rate(const Field& f) {
    auto s = r_.string(f);
    if (!s) return std::nullopt;
    auto slash = s->find('/');
    RateLimit rl;
    if (slash != std::string::npos) {
      auto count = s->substr(0, slash);
      rl.per = s->substr(slash + 1);
      unsigned long v = 0;
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), v);
      bool countOk = ec == std::errc{} && end == count.data() + count.size() && v >= 1 && v <= 1000000;
      bool unitOk = rl.per == "second" || rl.per == "minute" || rl.per == "hour";
      if (countOk && unitOk) {
        rl.count = static_cast<std::uint32_t>(v);
        return rl;
      }
    }
    r_.diags().error(r_.loc(f), "invalid rate '" + *s + "'",
                     "write it as N/second, N/minute or N/hour with N from 1 to 1000000");
    return std::nullopt;
  }

  std::optional<Limits> limits(const Field& f) {
    Limits l;
    l.where = r_.loc(f);
    auto fields = r_.mapping(f.value, r_.loc(f), "limit", {"rate", "burst", "connections"});
    if (!fields) return std::nullopt;
    for (const auto& x : fields->all()) {
      r_.recordField(l, x);
    }
    if (auto* x = fields->get("rate")) l.rate = rate(*x);
    if (auto* x = fields->get("burst")) {
      if (auto b = r_.integer(*x, 1, 1000000)) {
        if (l.rate) l.rate->burst = static_cast<std::uint32_t>(*b);
        else if (!fields->get("rate")) r_.diags().error(r_.loc(*x), "'burst' needs a 'rate'");
      }
    }
    if (auto* x = fields->get("connections")) {
      if (auto c = r_.integer(*x, 1, 1000000)) l.connections = static_cast<std::uint32_t>(*c);
    }
    if (fields->all().empty()) {
      r_.diags().error(l.where, "empty 'limit'", "give a 'rate' and/or 'connections'");
    }
    return l;
  }

  void loadRule(const YAML::Node& n) {
    Rule rule;
    auto fields = entry(n, "a rule",
                        {"name", "description", "from", "to", "services", "action", "limit", "log"},
                        {"name", "from", "to", "services", "action"}, rule);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") rule.name = r_.name(f).value_or("");
      else if (f.key == "description") rule.description = r_.string(f).value_or("");
      else if (f.key == "from") rule.from = endpoints(f);
      else if (f.key == "to") rule.to = endpoints(f);
      else if (f.key == "services") rule.services = serviceRefs(f);
      else if (f.key == "action") rule.action = action(f, true).value_or(Action::Deny);
      else if (f.key == "limit") rule.limits = limits(f);
      else if (f.key == "log") rule.log = r_.boolean(f).value_or(false);
    }
    p_.rules.push_back(std::move(rule));
  }

  void loadNat(const Field& f) {
    auto fields = r_.mapping(f.value, r_.loc(f), "nat", {"dnat", "snat"});
    if (!fields) return;
    if (auto* x = fields->get("dnat")) {
      for (const auto& n : r_.sequence(*x)) loadDnat(n);
    }
    if (auto* x = fields->get("snat")) {
      for (const auto& n : r_.sequence(*x)) loadSnat(n);
    }
  }

  void loadDnat(const YAML::Node& n) {
    Dnat d;
    auto fields = entry(n, "a dnat entry", {"name", "vip", "service", "to", "mode", "check", "port", "syn_limit"},
                        {"name", "vip", "service", "to"}, d);
    if (!fields) return;
    bool modeGiven = false;
    for (const auto& f : fields->all()) {
      if (f.key == "name") d.name = r_.name(f).value_or("");
      else if (f.key == "vip") d.vip = r_.address(f).value_or(IpAddress{});
      else if (f.key == "service") {
        if (auto s = r_.string(f)) d.service = serviceRef(*s, r_.loc(f));
      } else if (f.key == "to") {
        for (auto& [text, where] : r_.scalarList(f, true)) d.to.push_back(backend(text, where));
      } else if (f.key == "mode") {
        auto m = r_.string(f);
        if (!m) continue;
        modeGiven = true;
        // single is what a DNAT with one backend gets, not a mode to write
        auto mode = dnatModeFromName(*m);
        if (mode && *mode != DnatMode::Single) d.mode = *mode;
        else r_.diags().error(r_.loc(f), "unknown dnat mode '" + *m + "'", "use failover or balance");
      } else if (f.key == "check") {
        if (auto s = r_.string(f)) d.check = NameRef{*s, r_.loc(f)};
      } else if (f.key == "port") {
        if (auto v = r_.integer(f, 1, 65535)) d.port = static_cast<std::uint16_t>(*v);
      } else if (f.key == "syn_limit") {
        d.synLimit = loadSynLimit(f);
      }
    }
    if (!modeGiven && d.to.size() > 1) d.mode = DnatMode::Failover;
    p_.dnat.push_back(std::move(d));
  }

  Backend backend(const std::string& text, const Location& where) {
    Backend b{text, where, std::nullopt};
    if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text.find(':') != std::string::npos)) {
      b.literal = IpAddress::parse(text);
      if (!b.literal) r_.diags().error(where, "invalid backend address '" + text + "'", "a backend is a host name or one address");
    }
    return b;
  }

  void loadSnat(const YAML::Node& n) {
    Snat s;
    auto fields = entry(n, "an snat entry", {"name", "from", "to"}, {"name", "from", "to"}, s);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") s.name = r_.name(f).value_or("");
      else if (f.key == "from") s.from = endpoints(f);
      else if (f.key == "to") {
        auto v = r_.string(f);
        if (v && *v == "masquerade") {
          s.masquerade = true;
        } else if (v) {
          s.masquerade = false;
          s.address = r_.address(f);
        }
      }
    }
    p_.snat.push_back(std::move(s));
  }

  void loadVpn(const Field& f) {
    Vpn v;
    auto fields = entry(f.value, "vpn",
                        {"ca", "local_id", "listen", "ike_proposals", "esp_proposals", "groups"},
                        {"ca", "local_id", "groups"}, v);
    if (!fields) return;
    v.where = r_.loc(f.keyNode);
    for (const auto& x : fields->all()) {
      if (x.key == "ca") v.caName = r_.string(x).value_or("");
      else if (x.key == "local_id") v.localId = r_.string(x).value_or("");
      else if (x.key == "listen") {
        for (const auto& [text, where] : r_.scalarList(x, true)) {
          if (auto a = IpAddress::parse(text)) v.listen.push_back(*a);
          else r_.diags().error(where, "invalid IP address '" + text + "'");
        }
      } else if (x.key == "ike_proposals" || x.key == "esp_proposals") {
        auto& target = x.key == "ike_proposals" ? v.ikeProposals : v.espProposals;
        for (auto& [text, where] : r_.scalarList(x, true)) target.push_back(std::move(text));
      } else if (x.key == "groups") {
        for (const auto& n : r_.sequence(x)) loadVpnGroup(n, v);
      }
    }
    p_.vpn = std::move(v);
  }

  void loadVpnGroup(const YAML::Node& n, Vpn& vpn) {
    VpnGroup g;
    auto fields = entry(n, "a VPN group", {"name", "description", "pool", "access"},
                        {"name", "pool"}, g);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") g.name = r_.name(f).value_or("");
      else if (f.key == "description") g.description = r_.string(f).value_or("");
      else if (f.key == "pool") g.pool = r_.prefix(f).value_or(Prefix{});
      else if (f.key == "access") {
        for (const auto& item : r_.sequence(f)) {
          VpnAccess a;
          auto af = entry(item, "a VPN access entry", {"to", "services"}, {"to", "services"}, a);
          if (!af) continue;
          if (auto* x = af->get("to")) a.to = endpoints(*x);
          if (auto* x = af->get("services")) a.services = serviceRefs(*x);
          g.access.push_back(std::move(a));
        }
      }
    }
    vpn.groups.push_back(std::move(g));
  }

  void loadExpectation(const YAML::Node& n) {
    Expectation e;
    auto fields = entry(n, "an expectation", {"from", "to", "service", "verdict"},
                        {"from", "to", "service", "verdict"}, e);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "from" || f.key == "to") {
        if (auto s = r_.string(f)) (f.key == "from" ? e.from : e.to) = endpoint(*s, r_.loc(f));
      } else if (f.key == "service") {
        if (auto s = r_.string(f)) e.service = serviceRef(*s, r_.loc(f));
      } else if (f.key == "verdict") {
        e.verdict = action(f, false).value_or(Action::Deny);
      }
    }
    p_.expectations.push_back(std::move(e));
  }

  // `- never: { from, to, services? }` or `- only: { to, from, services? }`, with an optional
  // name and description beside it.
  void loadInvariant(const YAML::Node& n) {
    Invariant inv;
    auto fields = entry(n, "an invariant", {"name", "description", "never", "only"}, {}, inv);
    if (!fields) return;
    const auto* never = fields->get("never");
    const auto* only = fields->get("only");
    if ((never != nullptr) == (only != nullptr)) {
      r_.diags().error(inv.where, "an invariant needs exactly one of 'never' or 'only'",
                       "never: { from: internet, to: db } -- or -- only: { to: mgmt, from: [netops] }");
      return;
    }
    const auto& body = never ? *never : *only;
    inv.kind = never ? Invariant::Kind::Never : Invariant::Kind::Only;
    auto statement = r_.mapping(body.value, r_.loc(body), never ? "'never'" : "'only'",
                                {"from", "to", "services"}, {"from", "to"});
    if (!statement) return;
    for (const auto& f : statement->all()) {
      r_.recordField(inv, f);
      if (f.key == "from") inv.from = endpoints(f);
      else if (f.key == "to") inv.to = endpoints(f);
      else if (f.key == "services") inv.services = serviceRefs(f);
    }
    if (auto* x = fields->get("name")) inv.name = r_.name(*x).value_or("");
    if (auto* x = fields->get("description")) inv.description = r_.string(*x).value_or("");
    p_.invariants.push_back(std::move(inv));
  }

  YamlReader& r_;
  Policy& p_;
  std::map<std::string, Location>& singletons_;
};

void loadOne(const Source& src, Policy& policy, Diagnostics& diags,
             std::map<std::string, Location>& singletons) {
  policy.files.push_back(src.name);
  detail::FirstDocument doc;
  try {
    doc = detail::loadFirstDocument(src.text);
  } catch (const YAML::Exception& e) {
    Location where{src.name, e.mark.is_null() ? 0 : e.mark.line + 1,
                   e.mark.is_null() ? 0 : e.mark.column + 1};
    diags.error(where, "YAML syntax: " + e.msg);
    policy.unparsed.push_back(src.name);
    return;
  }
  if (doc.next) {
    Location where{src.name, doc.next->line + 1, doc.next->column + 1};
    if (doc.stray) {
      diags.error(where, "YAML syntax: unexpected text after the end of the document");
      policy.unparsed.push_back(src.name);
    } else {
      diags.error(where, "a policy file holds one YAML document, this is the second",
                  "remove the '---' separator or split the file");
    }
    return;
  }
  YamlReader reader(src.name, diags);
  FileLoader loader(reader, policy, singletons);
  loader.load(doc.root);
}

}  // namespace

LoadResult loadPolicy(const std::vector<Source>& sources) {
  LoadResult result;
  std::map<std::string, Location> singletons;
  for (const auto& src : sources) {
    // The name reaches diagnostics, history and kernel rule comments: refused before the text
    // is looked at (shown escaped).
    if (auto bad = sourceNameProblem(src.name); !bad.empty()) {
      result.diagnostics.error({printable(src.name, 128), 0, 0}, bad);
      continue;
    }
    loadOne(src, result.policy, result.diagnostics, singletons);
  }
  return result;
}

LoadResult loadPolicyText(std::string_view text, std::string name) {
  return loadPolicy(std::vector<Source>{{std::move(name), std::string(text)}});
}

PolicyFiles listPolicyFiles(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  PolicyFiles out;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    out.error = path.string() + ": error: no such file or directory";
    return out;
  }
  if (!fs::is_directory(status)) {
    // A FIFO or a device would block or never end: only regular files are policies.
    if (!fs::is_regular_file(status)) {
      out.error = printable(path.string(), kMaxSourceNameBytes) + ": error: not a regular file";
      return out;
    }
    out.files.push_back(path);
    return out;
  }
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
      out.files.push_back(entry.path());
    }
  }
  if (ec) {
    out.error = path.string() + ": error: cannot read directory: " + ec.message();
    return out;
  }
  std::sort(out.files.begin(), out.files.end());
  if (out.files.empty()) {
    out.error = path.string() + ": error: no *.yaml or *.yml files in this directory";
  }
  return out;
}

LoadResult loadPolicy(const std::filesystem::path& path) {
  auto read = readPolicySources(path);
  if (!read.ok()) {
    LoadResult r;
    auto at = read.error.find(": error: ");
    r.diagnostics.error({at == std::string::npos ? printable(path.string()) : read.error.substr(0, at), 0, 0},
                        at == std::string::npos ? read.error : read.error.substr(at + 9));
    return r;
  }
  return loadPolicy(read.sources);
}

LoadResult loadAndValidate(const std::filesystem::path& path) {
  auto result = loadPolicy(path);
  validatePolicy(result.policy, result.diagnostics);
  result.diagnostics.sort();
  return result;
}

}  // namespace bulwark::policies
