#include "bulwark/policies/validator.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "atom_index.h"
#include "bulwark/policies/resolve.h"
#include "validate_ha.h"
#include "yaml_reader.h"

namespace bulwark::policies {

namespace {

struct Named {
  std::string kind;
  Location where;
};

class Validator {
 public:
  Validator(const Policy& p, Diagnostics& out) : p_(p), out_(out), index_(p) {}

  void run() {
    checkNames();
    checkGateway();
    checkSegments();
    checkHosts();
    checkServices();
    checkZones();
    checkRules();
    checkNat();
    checkHealthChecks();
    checkVpn();
    checkExpectations();
    detail::validateHa(p_, out_);
    checkInvariants();
  }

 private:
  // --- names -------------------------------------------------------------------------
  // Segments, hosts, zones and VPN groups share one namespace: a rule's `from: web` must
  // mean exactly one thing.
  void declare(std::map<std::string, Named>& space, const std::string& name, const std::string& kind,
               const Location& where) {
    if (name.empty()) return;  // the loader already reported the bad name
    if (name == kAny || name == kInternet) {
      out_.error(where, "'" + name + "' is a reserved name", "choose another name for this " + kind);
      return;
    }
    auto [it, inserted] = space.emplace(name, Named{kind, where});
    if (!inserted) {
      out_.error(where, "duplicate name '" + name + "': already used by the " + it->second.kind +
                            " at " + it->second.where.str());
    }
  }

  void checkNames() {
    for (const auto& s : p_.segments) declare(endpoints_, s.name, "segment", s.at("name"));
    for (const auto& h : p_.hosts) declare(endpoints_, h.name, "host", h.at("name"));
    for (const auto& z : p_.zones) declare(endpoints_, z.name, "zone", z.at("name"));
    if (p_.vpn) {
      for (const auto& g : p_.vpn->groups) declare(endpoints_, g.name, "VPN group", g.at("name"));
    }
    std::map<std::string, Named> services, rules, nat;
    for (const auto& s : p_.services) {
      if (s.name == kAny) {
        out_.error(s.at("name"), "'any' is a reserved service name");
        continue;
      }
      declare(services, s.name, "service", s.at("name"));
    }
    for (const auto& r : p_.rules) declare(rules, r.name, "rule", r.at("name"));
    std::map<std::string, Named> checks;
    for (const auto& c : p_.checks) declare(checks, c.name, "check", c.at("name"));
    for (const auto& d : p_.dnat) declare(nat, d.name, "dnat entry", d.at("name"));
    for (const auto& s : p_.snat) declare(nat, s.name, "snat entry", s.at("name"));
    for (const auto& [name, _] : endpoints_) endpointNames_.push_back(name);
    endpointNames_.push_back(kAny);
    endpointNames_.push_back(kInternet);
    for (const auto& s : p_.services) serviceNames_.push_back(s.name);
    serviceNames_.push_back(kAny);
  }

  // --- gateway and segments ----------------------------------------------------------
  void checkGateway() {
    if (!p_.gateway) {
      // A file that did not parse may hold it: its syntax error is the one to fix.
      if (!p_.files.empty() && p_.unparsed.empty()) {
        out_.error({p_.files.front(), 1, 1}, "the policy has no 'gateway' section",
                   "add 'gateway: { uplink: <interface> }' to one of its files");
      }
      return;
    }
    const auto& g = *p_.gateway;
    if (!g.trunk.empty() && g.trunk == g.uplink) {
      out_.error(g.at("trunk"), "the trunk and the uplink are the same interface '" + g.trunk + "'");
    }
    if (g.control) checkControl(*g.control);
    if (g.web) checkWeb(g);
  }

  // A listener of bulwarkd (`what`: "control API", "web view"; `key`: its key for messages)
  // only on an address the gateway holds on one of its segments (the management segment,
  // which the admin VPN reaches), never on every address or the uplink; the firewall opens
  // its port from that segment and the VPN pools only.
  void checkListenAddress(const Located& at, const IpAddress& listen, const std::string& what,
                          const std::string& key) {
    std::vector<std::string> candidates;
    for (const auto& s : p_.segments) {
      for (const auto* fam : {&s.ipv4, &s.ipv6}) {
        if (!*fam || !(*fam)->gateway) continue;
        candidates.push_back((*fam)->gateway->str() + " (" + s.name + ")");
        if (*(*fam)->gateway == listen) return;
      }
    }
    bool any = listen.str() == "0.0.0.0" || listen.str() == "::";
    std::string hint = candidates.empty() ? "give the management segment a 'gateway' address and name it here"
                                          : "use the gateway's address on the management segment: one of ";
    for (std::size_t i = 0; i < candidates.size(); ++i) hint += (i ? ", " : "") + candidates[i];
    out_.error(at.at("listen"),
               any ? "the " + what + " must not listen on every address (" + listen.str() + ")"
                   : key + " listen address " + listen.str() + " is not the gateway's own address on any segment",
               hint);
  }

  // The web view: like control; the certificate groups of control may open it.
  void checkWeb(const Gateway& g) {
    const auto& w = *g.web;
    checkListenAddress(w, w.listen, "web view", "web");
    if (!g.control) {
      out_.error(w.where, "'web' has no certificate groups: it admits the groups of 'control'",
                 "add 'control: { listen: ..., change: [<group>], view: [<group>] }' (view suffices)");
    } else if (g.control->listen == w.listen && g.control->port == w.port) {
      out_.error(w.at("port"), "web port " + std::to_string(w.port) + " is the control API's port on " +
                                   w.listen.str(),
                 "use another port (the default is 8443)");
    }
  }

  // Remote control access: the address as checkListenAddress says, and its certificate groups.
  void checkControl(const ControlAccess& c) {
    checkListenAddress(c, c.listen, "control API", "control");
    if (c.change.empty() && c.view.empty()) {
      out_.error(c.where, "'control' grants no role: no certificate group may change or view",
                 "add 'change: [<group>]' and/or 'view: [<group>]' (the --group of `bulwarkctl pki issue`)");
    }
    std::map<std::string, std::string> seen;  // group -> "change"/"view"
    for (const auto* list : {&c.change, &c.view}) {
      const char* role = list == &c.change ? "change" : "view";
      for (const auto& ref : *list) {
        auto [it, inserted] = seen.emplace(ref.name, role);
        if (!inserted) {
          out_.error(ref.where, "certificate group '" + ref.name + "' is listed twice" +
                                    (it->second == role ? std::string() : " (in 'change' and in 'view')"),
                     "a group has one role; 'change' includes reading");
        }
      }
    }
  }

  void checkFamily(const Segment& s, const std::optional<AddressFamilyConfig>& fam,
                   const char* key) {
    if (!fam || !fam->gateway) return;
    const auto& gw = *fam->gateway;
    auto where = s.at(key);
    if (!fam->subnet.contains(gw)) {
      out_.error(where, "gateway address " + gw.str() + " of segment '" + s.name +
                            "' is outside its subnet " + fam->subnet.str());
    } else if (gw.isV4() && fam->subnet.length() < 31 &&
               (gw == fam->subnet.address() || gw == fam->subnet.last())) {
      out_.error(where, "gateway address " + gw.str() + " of segment '" + s.name +
                            "' is the network or broadcast address of " + fam->subnet.str());
    }
  }

  void checkSegments() {
    std::map<int, const Segment*> vlans;
    std::map<std::string, const Segment*> interfaces;
    std::vector<std::pair<Prefix, const Segment*>> subnets;
    for (const auto& s : p_.segments) {
      if (s.name.empty()) continue;
      bool hasVlan = s.vlan.has_value();
      bool hasIf = !s.interface.empty() || s.fields.count("interface");
      if (hasVlan == hasIf && !(s.fields.count("vlan") && !hasVlan)) {
        out_.error(s.at("name"), "segment '" + s.name + "' needs exactly one of 'vlan' or 'interface'",
                   hasVlan ? "a VLAN segment lives on the gateway's trunk; drop 'interface'"
                           : "give its 802.1Q 'vlan' id on the trunk, or the plain 'interface' it uses");
      }
      if (hasVlan) {
        if (p_.gateway && p_.gateway->trunk.empty()) {
          out_.error(s.at("vlan"), "segment '" + s.name + "' has a VLAN id but the gateway has no 'trunk'",
                     "name the trunk interface in 'gateway: { trunk: ... }'");
        }
        if (p_.gateway && !p_.gateway->trunk.empty() &&
            segmentInterface(p_, s).size() > kMaxInterfaceName) {
          out_.error(s.at("vlan"), "interface name '" + segmentInterface(p_, s) + "' of segment '" + s.name +
                                       "' is longer than Linux allows (15)",
                     "use a shorter trunk interface name");
        }
        auto [it, inserted] = vlans.emplace(*s.vlan, &s);
        if (!inserted) {
          out_.error(s.at("vlan"), "VLAN " + std::to_string(*s.vlan) + " of segment '" + s.name +
                                       "' is already used by segment '" + it->second->name + "' at " +
                                       it->second->at("vlan").str());
        }
      }
      if (!s.interface.empty()) {
        if (p_.gateway && (s.interface == p_.gateway->uplink || s.interface == p_.gateway->trunk)) {
          out_.error(s.at("interface"), "segment '" + s.name + "' uses interface '" + s.interface +
                                            "', which is the gateway's " +
                                            (s.interface == p_.gateway->uplink ? "uplink" : "trunk"));
        }
        auto [it, inserted] = interfaces.emplace(s.interface, &s);
        if (!inserted) {
          out_.error(s.at("interface"), "interface '" + s.interface + "' of segment '" + s.name +
                                            "' is already used by segment '" + it->second->name + "'");
        }
      }
      if (!s.ipv4 && !s.ipv6 && !s.fields.count("ipv4") && !s.fields.count("ipv6")) {
        out_.error(s.at("name"), "segment '" + s.name + "' has no addresses",
                   "give it an 'ipv4' and/or 'ipv6' subnet");
      }
      checkFamily(s, s.ipv4, "ipv4");
      checkFamily(s, s.ipv6, "ipv6");
      for (const auto* fam : {&s.ipv4, &s.ipv6}) {
        if (!*fam) continue;
        const auto& subnet = (*fam)->subnet;
        const char* key = fam == &s.ipv4 ? "ipv4" : "ipv6";
        for (const auto& [other, seg] : subnets) {
          if (other.overlaps(subnet)) {
            out_.error(s.at(key), "subnet " + subnet.str() + " of segment '" + s.name +
                                      "' overlaps subnet " + other.str() + " of segment '" +
                                      seg->name + "' at " + seg->at(key).str());
          }
        }
        subnets.emplace_back(subnet, &s);
      }
    }
  }

  // --- hosts ---------------------------------------------------------------------------
  void checkHosts() {
    std::map<IpAddress, const Host*> used;
    for (const auto& h : p_.hosts) {
      if (h.name.empty()) continue;
      const Segment* seg = nullptr;
      if (!h.segment.name.empty()) {
        seg = p_.findSegment(h.segment.name);
        if (!seg) unknown(h.segment.name, "segment", h.segment.where, segmentNames());
      }
      for (std::size_t i = 0; i < h.addresses.size(); ++i) {
        const auto& a = h.addresses[i];
        auto where = h.at("addresses[" + std::to_string(i) + "]");
        auto [it, inserted] = used.emplace(a, &h);
        if (!inserted) {
          out_.error(where, "address " + a.str() + " of host '" + h.name + "' is also host '" +
                                it->second->name + "'s");
        }
        if (!seg) continue;
        const auto& fam = a.isV4() ? seg->ipv4 : seg->ipv6;
        if (!fam) {
          out_.error(where, "host '" + h.name + "' has an IPv" + (a.isV4() ? "4" : "6") +
                                " address but segment '" + seg->name + "' has no IPv" +
                                (a.isV4() ? "4" : "6") + " subnet");
          continue;
        }
        if (!fam->subnet.contains(a)) {
          out_.error(where, "address " + a.str() + " of host '" + h.name +
                                "' is outside its segment '" + seg->name + "' (" +
                                fam->subnet.str() + ")",
                     "fix the address or move the host to the segment that holds it");
        } else if (fam->gateway && *fam->gateway == a) {
          out_.error(where, "address " + a.str() + " of host '" + h.name +
                                "' is the gateway's own address on segment '" + seg->name + "'");
        } else if (a.isV4() && fam->subnet.length() < 31 &&
                   (a == fam->subnet.address() || a == fam->subnet.last())) {
          out_.error(where, "address " + a.str() + " of host '" + h.name +
                                "' is the network or broadcast address of " + fam->subnet.str());
        }
      }
    }
  }

  // --- services and zones ------------------------------------------------------------
  void checkServices() {
    for (const auto& s : p_.services) {
      for (std::size_t i = 0; i < s.ports.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (s.ports[j].overlaps(s.ports[i])) {
            out_.warning(s.at("ports"), "service '" + s.name + "' lists " + s.ports[i].str() +
                                            ", which overlaps " + s.ports[j].str());
          }
        }
      }
    }
  }

  void checkZones() {
    std::map<std::string, const Zone*> segmentZone, groupZone;
    for (const auto& z : p_.zones) {
      for (const auto& m : z.segments) {
        zoneMember(z, m, "segment", p_.findSegment(m.name) != nullptr, &Validator::segmentNames, segmentZone,
                   "a segment belongs to one zone");
      }
      for (const auto& m : z.vpnGroups) {
        zoneMember(z, m, "VPN group", p_.findVpnGroup(m.name) != nullptr, &Validator::groupNames, groupZone);
      }
    }
  }

  // A member `m` of zone `z`, a `kind` that `exists` or not: known, and in no other zone
  // (`zoneOf` remembers which zone holds each). `names` lists the candidates for a misspelling.
  void zoneMember(const Zone& z, const NameRef& m, const std::string& kind, bool exists,
                  std::vector<std::string_view> (Validator::*names)() const,
                  std::map<std::string, const Zone*>& zoneOf, const std::string& hint = {}) {
    if (m.name.empty()) return;
    if (!exists) {
      unknown(m.name, kind, m.where, (this->*names)());
      return;
    }
    auto [it, inserted] = zoneOf.emplace(m.name, &z);
    if (!inserted) {
      out_.error(m.where, kind + " '" + m.name + "' is already in zone '" + it->second->name + "'", hint);
    }
  }

  // --- references ----------------------------------------------------------------------
  std::vector<std::string_view> segmentNames() const {
    std::vector<std::string_view> v;
    for (const auto& s : p_.segments) v.push_back(s.name);
    return v;
  }
  std::vector<std::string_view> hostNames() const {
    std::vector<std::string_view> v;
    for (const auto& h : p_.hosts) v.push_back(h.name);
    return v;
  }
  std::vector<std::string_view> groupNames() const {
    std::vector<std::string_view> v;
    if (p_.vpn) {
      for (const auto& g : p_.vpn->groups) v.push_back(g.name);
    }
    return v;
  }

  void unknown(const std::string& name, const std::string& kind, const Location& where,
               const std::vector<std::string_view>& candidates) {
    auto guess = detail::closestMatch(name, candidates);
    out_.error(where, "unknown " + kind + " '" + name + "'",
               guess.empty() ? std::string() : "did you mean '" + guess + "'?");
  }

  std::optional<ResolvedEndpoint> endpoint(const Endpoint& e) {
    if (e.text.empty()) return std::nullopt;
    if (!e.literal && !e.text.empty() &&
        (std::isdigit(static_cast<unsigned char>(e.text[0])) || e.text.find(':') != std::string::npos)) {
      return std::nullopt;  // a malformed literal, reported by the loader
    }
    auto r = index_.endpoint(e);
    if (!r) unknown(e.text, "zone, segment, host or VPN group", e.where, endpointNames_);
    return r;
  }

  std::optional<ServiceSet> service(const ServiceRef& s) {
    if (s.text.empty()) return std::nullopt;
    if (!s.literal && (s.text.find('/') != std::string::npos || parsePortSpec(s.text).spec)) {
      return std::nullopt;  // a malformed literal, reported by the loader
    }
    auto r = index_.service(s);
    if (!r) unknown(s.text, "service", s.where, serviceNames_);
    return r;
  }

  struct ResolvedRule {
    const FlowRule* rule;
    std::vector<Atom> from, to;
    ServiceSet services;
  };

  static bool coversAll(const std::vector<Atom>& outer, const std::vector<Atom>& inner) {
    return std::all_of(inner.begin(), inner.end(), [&](const Atom& a) {
      return std::any_of(outer.begin(), outer.end(), [&](const Atom& o) { return o.covers(a); });
    });
  }

  // --- rules ---------------------------------------------------------------------------
  void checkRules() {
    for (const auto& r : p_.rules) {
      if (r.limits && r.action != Action::Allow) {
        out_.error(r.limits->where, "rule '" + r.name + "' sets a limit but does not allow anything",
                   "limits apply to the connections an allow rule lets through");
      }
    }
    auto rules = flowRules(p_);
    std::vector<ResolvedRule> resolved;
    detail::AtomIndex fromIndex, toIndex;  // the sides of the rules in `resolved`
    for (const auto& fr : rules) {
      ResolvedRule rr{&fr, {}, {}, {}};
      bool ok = !fr.from.empty() && !fr.to.empty() && !fr.services.empty();
      for (const auto& e : fr.from) {
        if (auto x = endpoint(e)) rr.from.insert(rr.from.end(), x->atoms.begin(), x->atoms.end());
        else ok = false;
      }
      for (const auto& e : fr.to) {
        if (auto x = endpoint(e)) rr.to.insert(rr.to.end(), x->atoms.begin(), x->atoms.end());
        else ok = false;
      }
      for (const auto& s : fr.services) {
        if (auto x = service(s)) {
          rr.services.any = rr.services.any || x->any;
          rr.services.specs.insert(rr.services.specs.end(), x->specs.begin(), x->specs.end());
        } else {
          ok = false;
        }
      }
      if (!ok) continue;  // already reported; shadow analysis needs complete rules
      warnIfToVpnPool(fr);
      if (fr.rule) warnIfAboveSynLimit(*fr.rule, rr.from);
      checkShadowing(rr, resolved, shadowCandidates(rr, resolved.size(), fromIndex, toIndex));
      fromIndex.add(resolved.size(), rr.from);
      toIndex.add(resolved.size(), rr.to);
      resolved.push_back(std::move(rr));
    }
  }

  // The firewall dispatches by egress interface; traffic towards a VPN pool leaves through
  // the tunnel, so a rule naming a pool as its destination cannot match.
  void warnIfToVpnPool(const FlowRule& fr) {
    if (!p_.vpn) return;
    for (const auto& e : fr.to) {
      auto r = index_.endpoint(e);
      if (!r || r->kind == EndpointKind::Any) continue;
      for (const auto& a : r->atoms) {
        for (const auto& g : p_.vpn->groups) {
          // The pool, not the whole zone: a zone may also hold segments.
          if (!a.overlaps(Atom{index_.zoneOfGroup(g.name), g.pool})) continue;
          out_.warning(e.where, "rule '" + fr.name + "' names VPN group '" + g.name +
                                    "' as a destination; connections towards admins' virtual IPs are not "
                                    "opened by Bulwark (only replies to the admins' own connections pass)",
                       "remove it from 'to'");
          return;
        }
      }
    }
  }

  // The uplink's per-source SYN limit drops new TCP connections before any rule: a rule limit
  // above it never takes effect for sources on the internet.
  void warnIfAboveSynLimit(const Rule& r, const std::vector<Atom>& from) {
    if (!r.limits || !r.limits->rate) return;
    auto syn = effectiveSynLimit(p_);
    if (syn.off) return;
    bool internet = std::any_of(from.begin(), from.end(), [](const Atom& a) { return a.zone == kInternet; });
    const auto& rate = *r.limits->rate;
    SynLimit asRate;
    asRate.count = rate.count;
    asRate.per = rate.per;
    if (!internet || asRate.perSecond() <= syn.perSecond()) return;
    out_.warning(r.limits->at("rate"),
                 "rule '" + r.name + "' allows " + std::to_string(rate.count) + "/" + rate.per +
                     " new connections per source, above the uplink's per-source SYN limit (" + syn.str() +
                     "): new TCP connections from the internet are dropped at that limit first",
                 "raise gateway.syn_limit, or lower the rule's rate");
  }

  // First match wins. A rule whose every flow an earlier rule already decides never takes
  // effect: an error when the earlier rule decides the opposite (the policy says both
  // "allow" and "deny" for the same flows), a warning when it is merely redundant. Only
  // single-rule coverage is detected; a rule covered by a union of earlier rules is not.
  void checkShadowing(const ResolvedRule& rr, const std::vector<ResolvedRule>& earlier,
                      const std::vector<std::size_t>& candidates) {
    for (std::size_t i : candidates) {
      const auto& e = earlier[i];
      // Services first: the cheapest test, and the one that tells most pairs of rules apart.
      if (!e.services.covers(rr.services) || !coversAll(e.to, rr.to) || !coversAll(e.from, rr.from)) {
        continue;
      }
      const auto& later = *rr.rule;
      const auto& first = *e.rule;
      bool sameEffect = (first.action == Action::Allow) == (later.action == Action::Allow);
      if (!sameEffect) {
        out_.error(later.where,
                   "rule '" + later.name + "' " + (later.action == Action::Allow ? "allows" : "denies") +
                       " flows that rule '" + first.name + "' at " + first.where.str() + " already " +
                       (first.action == Action::Allow ? "allows" : "denies") +
                       ": the same flows are both allowed and denied",
                   "first match wins; move '" + later.name + "' above '" + first.name +
                       "' or narrow '" + first.name + "'");
      } else {
        out_.warning(later.where,
                     "rule '" + later.name + "' is shadowed by rule '" + first.name + "' at " +
                         first.where.str() + " and never matches",
                     "remove it, or move it above '" + first.name + "' if it should decide first");
      }
      return;
    }
  }

  // The earlier rules, in order, that may cover all of rr: a rule that does has an atom
  // covering rr's first source atom and one covering its first destination atom, so only
  // the rules found by the rarer of the two need the full test. Without atoms on either side
  // every earlier rule covers that side, and all are candidates.
  static std::vector<std::size_t> shadowCandidates(const ResolvedRule& rr, std::size_t earlier,
                                                   const detail::AtomIndex& fromIndex,
                                                   const detail::AtomIndex& toIndex) {
    std::vector<std::size_t> out, byTo;
    if (rr.from.empty() && rr.to.empty()) {
      out.resize(earlier);
      std::iota(out.begin(), out.end(), std::size_t{0});
      return out;
    }
    if (!rr.from.empty()) fromIndex.appendCovering(rr.from.front(), out);
    if (!rr.to.empty()) toIndex.appendCovering(rr.to.front(), byTo);
    if (rr.from.empty() || (!rr.to.empty() && byTo.size() < out.size())) out.swap(byTo);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // --- NAT -------------------------------------------------------------------------------
  void checkNat() {
    std::map<IpAddress, const Host*> hostAddresses;
    for (const auto& h : p_.hosts) {
      for (const auto& a : h.addresses) hostAddresses.emplace(a, &h);
    }
    std::vector<std::pair<const Dnat*, ServiceSet>> seen;
    auto rules = flowRules(p_);
    for (const auto& d : p_.dnat) {
      if (d.fields.count("vip") == 0 || d.name.empty()) continue;
      if (auto it = hostAddresses.find(d.vip); it != hostAddresses.end()) {
        out_.error(d.at("vip"), "VIP " + d.vip.str() + " of dnat '" + d.name + "' is host '" +
                                    it->second->name + "'s address",
                   "a VIP is an address only the gateway answers for");
      }
      auto targets = dnatBackends(d);
      auto svc = service(d.service);
      if (!svc) continue;
      if (svc->any) {
        out_.error(d.service.where, "dnat '" + d.name + "' needs a specific service, not 'any'");
        continue;
      }
      for (const auto& spec : svc->specs) {
        if (!protocolHasPorts(spec.protocol)) {
          out_.error(d.service.where, "dnat '" + d.name + "' service " + spec.str() + " has no ports");
        } else if (d.port && spec.ports.first != spec.ports.last) {
          out_.error(d.at("port"), "dnat '" + d.name + "' translates to one port, but its service " +
                                       spec.str() + " is a range");
        }
      }
      const auto isTcp = [](const PortSpec& s) { return s.protocol == Protocol::Tcp; };
      if (d.synLimit && !d.synLimit->off && std::none_of(svc->specs.begin(), svc->specs.end(), isTcp)) {
        out_.error(d.synLimit->where, "dnat '" + d.name + "' has a syn_limit, but its service " + svc->str() +
                                          " has no TCP port",
                   "syn_limit counts new TCP connections; remove it");
      }
      if (d.port && svc->specs.size() > 1) {
        out_.error(d.at("port"), "dnat '" + d.name + "' translates to one port, but its service has " +
                                     std::to_string(svc->specs.size()) + " ports",
                   "write one dnat entry per port");
      }
      for (const auto& [other, otherSvc] : seen) {
        if (other->vip == d.vip && otherSvc.overlaps(*svc)) {
          out_.error(d.at("service"), "dnat '" + d.name + "' and dnat '" + other->name + "' at " +
                                          other->where.str() + " both translate VIP " + d.vip.str() +
                                          " " + svc->str());
        }
      }
      seen.emplace_back(&d, *svc);
      for (const auto& t : targets) warnIfNotAllowed(d, t, *svc, rules);
    }
    for (const auto& s : p_.snat) {
      for (const auto& e : s.from) endpoint(e);
      if (s.address && !s.address->isV4()) {
        out_.error(s.at("to"), "snat '" + s.name + "' translates to an IPv6 address; Bulwark does NAT for IPv4 only",
                   "IPv6 traffic leaves with its own addresses; use an IPv4 address or masquerade");
      }
    }
  }

  // The backends of a DNAT entry that resolve (each problem reported at its own place):
  // known hosts, or address literals inside a segment, of the VIP's family.
  struct DnatTarget {
    std::string name;  // host name or the literal's text
    Location where;
    std::optional<Prefix> literal;
  };
  std::vector<DnatTarget> dnatBackends(const Dnat& d) {
    std::vector<DnatTarget> out;
    std::set<std::string> seen;
    if (d.to.size() > kMaxDnatBackends) {
      out_.error(d.at("to"), "dnat '" + d.name + "' names " + std::to_string(d.to.size()) + " backends, at most " +
                                 std::to_string(kMaxDnatBackends) + " are allowed");
      return out;
    }
    for (const auto& b : d.to) {
      if (b.text.empty()) continue;
      if (!seen.insert(b.literal ? b.literal->str() : b.text).second) {
        out_.error(b.where, "backend '" + b.text + "' is named twice in dnat '" + d.name + "'");
        continue;
      }
      if (b.literal) {
        if (b.literal->family() != d.vip.family()) {
          out_.error(b.where, "backend " + b.literal->str() + " of dnat '" + d.name + "' is not of the VIP's address family");
          continue;
        }
        if (!segmentOf(*b.literal)) {
          out_.error(b.where, "backend " + b.literal->str() + " of dnat '" + d.name + "' is outside every segment",
                     "a backend sits in one of the gateway's segments: give an address of a segment's subnet or a host name");
          continue;
        }
        out.push_back({b.text, b.where, Prefix(*b.literal, b.literal->bits())});
        continue;
      }
      if (b.text.find_first_of("0123456789:") == 0) continue;  // a malformed literal, reported by the loader
      const Host* h = p_.findHost(b.text);
      if (!h) {
        unknown(b.text, "host", b.where, hostNames());
        continue;
      }
      if (std::none_of(h->addresses.begin(), h->addresses.end(),
                       [&](const IpAddress& a) { return a.family() == d.vip.family(); })) {
        out_.error(b.where, "dnat '" + d.name + "' sends an IPv" + (d.vip.isV4() ? "4" : "6") + " VIP to host '" +
                                h->name + "', which has no such address");
        continue;
      }
      out.push_back({h->name, b.where, std::nullopt});
    }
    bool several = d.to.size() > 1;
    if (d.fields.count("mode") && !several) {
      out_.error(d.at("mode"), "dnat '" + d.name + "' has mode '" + std::string(dnatModeName(d.mode)) +
                                   "' but one backend",
                 "name the backends in order: 'to: [first, second]'");
    }
    if (d.check && !d.check->name.empty() && !p_.findCheck(d.check->name)) {
      unknown(d.check->name, "check", d.check->where, healthCheckNames());
    } else if (d.check && !several) {
      out_.warning(d.check->where, "dnat '" + d.name + "' has a check but one backend: when it fails there is "
                                   "no other backend, so the check changes nothing",
                   "name a standby backend: 'to: [" + (d.to.empty() ? std::string("a") : d.to.front().text) + ", b]'");
    }
    if (several && d.mode == DnatMode::Failover && !d.check) {
      out_.error(d.at("to"), "dnat '" + d.name + "' fails over between backends but has no 'check'",
                 "add 'check: <name>' naming an entry of 'checks:', or use 'mode: balance'");
    }
    return out;
  }

  const Segment* segmentOf(const IpAddress& a) const {
    for (const auto& s : p_.segments) {
      const auto& fam = a.isV4() ? s.ipv4 : s.ipv6;
      if (fam && fam->subnet.contains(a)) return &s;
    }
    return nullptr;
  }

  std::vector<std::string_view> healthCheckNames() const {
    std::vector<std::string_view> v;
    for (const auto& c : p_.checks) v.push_back(c.name);
    return v;
  }

  // --- health checks -----------------------------------------------------------------------
  static constexpr std::size_t kMaxCheckTargets = 1024;

  // The TCP port a check probes: its service (one TCP port), or the type's default.
  std::optional<std::uint16_t> checkPort(const HealthCheck& c, bool report) {
    if (!c.service) {
      if (c.type == CheckType::Http) return 80;
      if (c.type == CheckType::Https || c.type == CheckType::Tls) return 443;
      if (report) {
        out_.error(c.at("type"), "tcp check '" + c.name + "' needs a 'service'",
                   "name the TCP port it connects to, e.g. 'service: tcp/443' or a service with one TCP port");
      }
      return std::nullopt;
    }
    auto svc = report ? service(*c.service) : index_.service(*c.service);
    if (!svc) return std::nullopt;
    if (svc->any || svc->specs.size() != 1 || svc->specs[0].protocol != Protocol::Tcp ||
        svc->specs[0].ports.first != svc->specs[0].ports.last) {
      if (report) {
        out_.error(c.service->where, "check '" + c.name + "' probes '" + c.service->text + "' (" + svc->str() +
                                        "), but a check probes exactly one TCP port",
                   "use a service with one TCP port, or a literal like tcp/443");
      }
      return std::nullopt;
    }
    return svc->specs[0].ports.first;
  }

  // Does anything send tcp/port to `host` (a rule allowing it there, or a DNAT)? A check of a
  // port nothing uses probes a service the policy does not know the host has.
  bool hostServes(const std::string& host, std::optional<Prefix> literal, std::uint16_t port) {
    ServiceSet want;
    want.specs.push_back(PortSpec{Protocol::Tcp, {port, port}});
    std::vector<Atom> target;
    if (literal) {
      auto zone = index_.zoneOfAddress(literal->address());
      target.push_back(Atom{zone, literal});
    } else {
      auto r = index_.endpoint(Endpoint{host, {}, std::nullopt});
      if (!r) return true;  // reported elsewhere
      target = r->atoms;
    }
    if (!allowed_) {
      // Resolved once: a policy may have thousands of rules and hundreds of checks.
      allowed_.emplace();
      for (const auto& fr : flowRules(p_)) {
        if (fr.action != Action::Allow) continue;
        std::pair<std::vector<Atom>, ServiceSet> entry;
        for (const auto& e : fr.to) {
          if (auto r = index_.endpoint(e)) entry.first.insert(entry.first.end(), r->atoms.begin(), r->atoms.end());
        }
        for (const auto& sref : fr.services) {
          if (auto r = index_.service(sref)) {
            entry.second.any = entry.second.any || r->any;
            entry.second.specs.insert(entry.second.specs.end(), r->specs.begin(), r->specs.end());
          }
        }
        allowed_->push_back(std::move(entry));
      }
    }
    for (const auto& [to, all] : *allowed_) {
      if (coversAll(to, target) && all.covers(want)) return true;
    }
    for (const auto& d : p_.dnat) {
      bool toHost = std::any_of(d.to.begin(), d.to.end(), [&](const Backend& b) {
        return literal ? (b.literal && *b.literal == literal->address()) : b.text == host;
      });
      if (!toHost) continue;
      auto svc = index_.service(d.service);
      if (!svc) continue;
      for (const auto& spec : svc->specs) {
        PortRange translated = d.port ? PortRange{*d.port, *d.port} : spec.ports;
        if (spec.protocol == Protocol::Tcp && translated.first <= port && port <= translated.last) return true;
      }
    }
    return false;
  }

  void checkHealthChecks() {
    for (const auto& c : p_.checks) {
      if (c.name.empty()) continue;
      if (c.timeoutMs >= c.intervalMs) {
        out_.error(c.at(c.fields.count("timeout") ? "timeout" : "interval"),
                   "check '" + c.name + "' has a timeout (" + std::to_string(c.timeoutMs) +
                       "ms) not below its interval (" + std::to_string(c.intervalMs) + "ms)",
                   "a probe must end before the next one starts: lower 'timeout' or raise 'interval'");
      }
      if (!c.typeKnown) continue;  // the loader reported it; type-specific checks would only guess
      bool web = c.type == CheckType::Http || c.type == CheckType::Https;
      for (const char* key : {"path", "expect"}) {
        if (c.fields.count(key) && !web) {
          out_.error(c.at(key), "'" + std::string(key) + "' applies to http and https checks; check '" + c.name +
                                    "' is of type " + std::string(checkTypeName(c.type)));
        }
      }
      if (c.fields.count("host") && c.type == CheckType::Tcp) {
        out_.error(c.at("host"), "'host' (HTTP Host header, TLS server name) does not apply to tcp check '" +
                                     c.name + "'");
      }
      (void)checkPort(c, true);
    }
    std::size_t targets = 0;
    auto probe = [&](const HealthCheck& c, const std::string& host, std::optional<Prefix> literal,
                     const Location& where, const std::string& via) {
      ++targets;
      auto port = c.typeKnown ? checkPort(c, false) : std::nullopt;
      if (!port || hostServes(host, literal, *port)) return;
      out_.error(where, "check '" + c.name + "' probes tcp/" + std::to_string(*port) + " on " + via + "'" + host +
                            "', but no rule or dnat sends tcp/" + std::to_string(*port) + " to it",
                 "check a service the host offers, or allow that service to it");
    };
    for (const auto& h : p_.hosts) {
      std::set<std::string> seen;
      for (const auto& ref : h.checks) {
        if (ref.name.empty()) continue;
        if (!seen.insert(ref.name).second) {
          out_.error(ref.where, "check '" + ref.name + "' is listed twice for host '" + h.name + "'");
          continue;
        }
        const auto* c = p_.findCheck(ref.name);
        if (!c) {
          unknown(ref.name, "check", ref.where, healthCheckNames());
          continue;
        }
        probe(*c, h.name, std::nullopt, ref.where, "host ");
      }
    }
    for (const auto& d : p_.dnat) {
      if (!d.check) continue;
      const auto* c = p_.findCheck(d.check->name);
      if (!c) continue;
      for (const auto& b : d.to) {
        if (b.text.empty()) continue;
        if (b.literal) {
          if (segmentOf(*b.literal)) probe(*c, b.text, Prefix(*b.literal, b.literal->bits()), d.check->where, "backend ");
        } else if (p_.findHost(b.text)) {
          probe(*c, b.text, std::nullopt, d.check->where, "backend ");
        }
      }
    }
    if (targets > kMaxCheckTargets) {
      out_.error(p_.checks.empty() ? Location{p_.files.empty() ? "" : p_.files.front(), 1, 1} : p_.checks.front().where,
                 "the policy runs " + std::to_string(targets) + " health checks, at most " +
                     std::to_string(kMaxCheckTargets) + " are allowed");
    }
  }

  // DNAT only rewrites the destination; a rule must still let internet reach the target.
  void warnIfNotAllowed(const Dnat& d, const DnatTarget& target, const ServiceSet& svc,
                        const std::vector<FlowRule>& rules) {
    Endpoint internet{std::string(kInternet), {}, std::nullopt};
    Endpoint host{target.name, {}, target.literal};
    auto from = index_.endpoint(internet);
    auto to = index_.endpoint(host);
    ServiceSet translated = svc;
    if (d.port) {
      for (auto& spec : translated.specs) spec.ports = {*d.port, *d.port};
    }
    for (const auto& fr : rules) {
      bool fromOk = false, toOk = false, svcOk = false;
      for (const auto& e : fr.from) {
        auto r = index_.endpoint(e);
        if (r && coversAll(r->atoms, from->atoms)) fromOk = true;
      }
      for (const auto& e : fr.to) {
        auto r = index_.endpoint(e);
        if (r && coversAll(r->atoms, to->atoms)) toOk = true;
      }
      ServiceSet all;
      for (const auto& s : fr.services) {
        if (auto r = index_.service(s)) {
          all.any = all.any || r->any;
          all.specs.insert(all.specs.end(), r->specs.begin(), r->specs.end());
        }
      }
      svcOk = all.covers(translated);
      if (fromOk && toOk && svcOk) {
        if (fr.action != Action::Allow) break;
        return;
      }
    }
    out_.warning(d.to.size() > 1 ? target.where : d.where,
                 "dnat '" + d.name + "' sends " + translated.str() + " to " + (target.literal ? "" : "host ") + "'" +
                     target.name + "', but no rule allows internet to reach it there",
                 "add a rule from internet to " + target.name + " for " + translated.str());
  }

  // --- VPN -------------------------------------------------------------------------------
  void checkVpn() {
    if (!p_.vpn) return;
    std::vector<const VpnGroup*> pools;
    for (const auto& g : p_.vpn->groups) {
      if (g.fields.count("pool") == 0 || g.pool.length() == 0) continue;
      int hostBits = g.pool.address().bits() - g.pool.length();
      if (hostBits < 2) {
        out_.error(g.at("pool"), "pool " + g.pool.str() + " of VPN group '" + g.name + "' is too small",
                   "give it at least a /30 (IPv4) or /126 (IPv6)");
      }
      for (const auto& s : p_.segments) {
        for (const auto* fam : {&s.ipv4, &s.ipv6}) {
          if (*fam && (*fam)->subnet.overlaps(g.pool)) {
            out_.error(g.at("pool"), "pool " + g.pool.str() + " of VPN group '" + g.name +
                                         "' overlaps subnet " + (*fam)->subnet.str() + " of segment '" +
                                         s.name + "'");
          }
        }
      }
      for (const auto* other : pools) {
        if (other->pool.overlaps(g.pool)) {
          out_.error(g.at("pool"), "pool " + g.pool.str() + " of VPN group '" + g.name +
                                       "' overlaps pool " + other->pool.str() + " of group '" +
                                       other->name + "'");
        }
      }
      pools.push_back(&g);
      if (g.access.empty()) {
        out_.warning(g.at("name"), "VPN group '" + g.name + "' has no 'access': its admins reach nothing");
      }
    }
    if (p_.vpn->groups.empty()) {
      out_.error(p_.vpn->at("groups"), "the VPN has no admin groups");
    }
  }

  // --- invariants --------------------------------------------------------------------------
  // Names here; whether they hold is decided on the compiled ruleset (review/invariants.h).
  void checkInvariants() {
    std::map<std::string, Named> names;
    for (const auto& inv : p_.invariants) {
      if (!inv.name.empty()) declare(names, inv.name, "invariant", inv.at("name"));
      for (const auto& e : inv.from) endpoint(e);
      for (const auto& e : inv.to) endpoint(e);
      for (const auto& s : inv.services) service(s);
    }
  }

  // --- expectations ------------------------------------------------------------------------
  void checkExpectations() {
    for (const auto& e : p_.expectations) {
      endpoint(e.from);
      endpoint(e.to);
      service(e.service);
    }
  }

  const Policy& p_;
  Diagnostics& out_;
  PolicyIndex index_;
  std::map<std::string, Named> endpoints_;
  std::vector<std::string_view> endpointNames_;
  std::vector<std::string_view> serviceNames_;
  // Allow rules as (destination atoms, services), for hostServes.
  std::optional<std::vector<std::pair<std::vector<Atom>, ServiceSet>>> allowed_;
};

}  // namespace

void validatePolicy(const Policy& policy, Diagnostics& out) {
  Validator v(policy, out);
  v.run();
}

}  // namespace bulwark::policies
