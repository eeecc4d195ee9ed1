#include "bulwark/review/invariants.h"

#include <algorithm>
#include <map>
#include <set>

#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/review/flow_groups.h"
#include "bulwark/review/naming.h"

namespace bulwark::review {

namespace fw = firewall;
using policies::Invariant;

namespace {

IntervalSet zoneAddresses(const policies::PolicyIndex& index, const std::string& zone, Family f) {
  const auto& p = index.policy();
  std::vector<Interval> ours, members;
  for (const auto& s : p.segments) {
    const auto& cfg = f == Family::V4 ? s.ipv4 : s.ipv6;
    if (!cfg) continue;
    auto set = prefixSet(cfg->subnet).intervals().front();
    ours.push_back(set);
    if (index.zoneOfSegment(s.name) == zone) members.push_back(set);
  }
  if (p.vpn) {
    for (const auto& g : p.vpn->groups) {
      if (g.pool.length() == 0 || g.pool.family() != f) continue;
      auto set = prefixSet(g.pool).intervals().front();
      ours.push_back(set);
      if (index.zoneOfGroup(g.name) == zone) members.push_back(set);
    }
  }
  if (zone == policies::kInternet) return IntervalSet::fromUnsorted(std::move(ours)).complement(addressMax(f));
  return IntervalSet::fromUnsorted(std::move(members));
}

IntervalSet servicesOf(const policies::PolicyIndex& index, const std::vector<policies::ServiceRef>& refs) {
  if (refs.empty()) return allServices();
  IntervalSet out;
  for (const auto& r : refs) {
    auto set = index.service(r);
    if (!set) continue;
    if (set->any) return allServices();
    for (const auto& spec : set->specs) out = out.unite(serviceSpecSet(spec));
  }
  return out;
}

// The sets an invariant speaks of, per family; `only` becomes `never` from everyone else.
struct Statement {
  IntervalSet from[2], to[2];
  IntervalSet services;
};

Statement statementOf(const policies::PolicyIndex& index, const Invariant& inv) {
  Statement s;
  for (auto f : {Family::V4, Family::V6}) {
    auto i = f == Family::V4 ? 0 : 1;
    for (const auto& e : inv.from) s.from[i] = s.from[i].unite(endpointAddresses(index, e, f));
    for (const auto& e : inv.to) s.to[i] = s.to[i].unite(endpointAddresses(index, e, f));
    if (inv.kind == Invariant::Kind::Only) s.from[i] = s.from[i].complement(addressMax(f));
  }
  s.services = servicesOf(index, inv.services);
  return s;
}

// The services of `svc` that arrive as one of `wanted` after DNAT rewrote the port to `port`.
IntervalSet deliveredServices(const IntervalSet& svc, const IntervalSet& wanted, std::optional<std::uint16_t> port) {
  if (!port) return svc.intersect(wanted);
  IntervalSet out;
  for (unsigned proto = svcProto(svc.min()); proto <= svcProto(svc.max()); ++proto) {
    auto p = static_cast<std::uint8_t>(proto);
    auto mine = svc.intersect(protoSet(p));
    if (mine.empty()) continue;
    if (!protoHasPorts(p)) {
      out = out.unite(mine.intersect(wanted));
    } else if (wanted.contains(svcValue(p, *port))) {
      out = out.unite(mine);
    }
  }
  return out;
}

// The part of an allowed piece that breaks the statement (empty when none does).
FlowCube breaking(const Piece& piece, const Statement& st, Family f) {
  const auto& o = piece.outcome;
  if (!o.accepted || o.local) return {};
  auto i = f == Family::V4 ? 0 : 1;
  FlowCube c{piece.cube.src.intersect(st.from[i]), piece.cube.dst, {}};
  if (c.src.empty()) return {};
  if (o.dnatTo) {
    if (!st.to[i].contains(*o.dnatTo)) return {};
  } else {
    c.dst = c.dst.intersect(st.to[i]);
    if (c.dst.empty()) return {};
  }
  c.svc = deliveredServices(piece.cube.svc, st.services, o.dnatPort);
  return c;
}

// A readable member of `set`: the address `test` uses for the internet, a host's, the
// network address + 10 of the first range wide enough, or its first.
U128 pickAddress(const policies::Policy& p, Family f, const IntervalSet& set) {
  auto internet = IpAddress::parse(f == Family::V4 ? "198.51.100.7" : "2001:db8:ffff::7");
  if (internet && set.contains(addressValue(*internet))) return addressValue(*internet);
  for (const auto& h : p.hosts) {
    for (const auto& a : h.addresses) {
      if (a.family() == f && set.contains(addressValue(a))) return addressValue(a);
    }
  }
  for (const auto& i : set.intervals()) {
    if (i.hi - i.lo >= 10) return i.lo + 10;
  }
  return set.min();
}

U128 pickService(const IntervalSet& svc) {
  for (std::uint8_t proto : {std::uint8_t{6}, std::uint8_t{17}, std::uint8_t{132}}) {
    auto s = svc.intersect(protoSet(proto));
    if (!s.empty()) return s.min() == svcValue(proto, 0) && s.max() > s.min() ? s.min() + 1 : s.min();
  }
  return svc.min();
}

ExampleFlow exampleOf(const policies::Policy& p, const BreachFlows& b) {
  ExampleFlow e;
  e.family = b.family;
  e.path = b.path;
  e.src = addressAt(b.family, pickAddress(p, b.family, b.cube.src));
  // A flow from an address to itself never leaves the host: another destination if there is one.
  auto dst = b.cube.dst.subtract(IntervalSet::point(addressValue(e.src)));
  e.dst = addressAt(b.family, pickAddress(p, b.family, dst.empty() ? b.cube.dst : dst));
  auto v = pickService(b.cube.svc);
  e.proto = svcProto(v);
  e.port = svcPort(v);
  if (b.outcome.dnatTo) e.dnatTo = addressAt(b.family, *b.outcome.dnatTo);
  e.dnatPort = b.outcome.dnatPort;
  return e;
}

std::string serviceOf(std::uint8_t proto, std::uint16_t port) {
  return protocolText(proto) + (protoHasPorts(proto) ? "/" + std::to_string(port) : std::string());
}

// The rulesets whose flows count: the compiled one (every DNAT pool on its first choice),
// and per pool backend the pool could choose instead, the ruleset with it chosen.
struct Variant {
  const fw::Ruleset* ruleset;
  std::string backend;                // "" for the compiled ruleset
  std::optional<IpAddress> backendAt;  // only flows DNATed there are new in a variant
  fw::Ruleset owned;
};

std::vector<Variant> variantsOf(const fw::CompileResult& compiled) {
  std::vector<Variant> out;
  out.push_back({&compiled.ruleset, "", std::nullopt, {}});
  const auto& pools = compiled.pools;
  for (std::size_t p = 0; p < pools.size(); ++p) {
    for (std::size_t b = 1; b < pools[p].backends.size(); ++b) {
      std::vector<fw::PoolChoice> choices(pools.size());
      for (std::size_t q = 0; q < pools.size(); ++q) choices[q] = fw::allUpChoice(pools[q]);
      choices[p] = fw::PoolChoice(pools[p].slotCount(), b);
      const auto& be = pools[p].backends[b];
      auto label = be.name + " (" + be.address.str() + ") of DNAT " +
                   (pools[p].entries.empty() ? pools[p].map : joinNames(pools[p].entries, 4));
      out.push_back({nullptr, std::move(label), be.address, fw::withPoolChoices(compiled.ruleset, pools, choices)});
    }
  }
  for (auto& v : out) {
    if (!v.ruleset) v.ruleset = &v.owned;
  }
  return out;
}

}  // namespace

IntervalSet endpointAddresses(const policies::PolicyIndex& index, const policies::Endpoint& e, Family f) {
  auto r = index.endpoint(e);
  if (!r) return {};
  if (r->kind == policies::EndpointKind::Any) return allAddresses(f);
  IntervalSet out;
  for (const auto& a : r->atoms) {
    if (a.prefix) {
      if (a.prefix->family() == f) out = out.unite(prefixSet(*a.prefix));
    } else {
      out = out.unite(zoneAddresses(index, a.zone, f));
    }
  }
  return out;
}

std::string ExampleFlow::str() const {
  std::string s = src.str() + " → " + dst.str() + " " + serviceOf(proto, port);
  if (dnatTo) {
    s += " (DNAT to " + dnatTo->str();
    if (dnatPort) s += " port " + std::to_string(*dnatPort);
    s += ")";
  }
  if (path == IpsecPath::Libipsec) s += " (libipsec)";
  return s;
}

namespace {

// What the check needs before any ruleset: the statements' sets, the DNAT VIPs and where
// flows enter and leave, per family and IPsec path (the same for every ruleset variant).
struct Prepared {
  Prepared(const policies::Policy& policy, const InvariantOptions& options) : index(policy) {
    for (const auto& inv : policy.invariants) statements.push_back(statementOf(index, inv));
    for (const auto& d : policy.dnat) {
      auto& v = vips[d.vip.family() == Family::V4 ? 0 : 1];
      v = v.unite(IntervalSet::point(addressValue(d.vip)));
    }
    for (auto family : {Family::V4, Family::V6}) {
      for (auto path : ipsecPathsOf(policy, family)) {
        setups.push_back(flowSetup(policy, family, path, options.libipsecInterface));
      }
    }
  }
  policies::PolicyIndex index;
  std::vector<Statement> statements;
  IntervalSet vips[2];
  std::vector<FlowSetup> setups;  // V4's paths, then V6's
};

// Per statement and setup, the flows that could break it: from its `from`, to its `to` or to a
// VIP that DNAT may send into it, on its services unless DNAT may rewrite a port (then the
// service that arrives is not the one asked for). Each statement's own cells cost far less
// than the cross product of all statements' sources and destinations. `cell` is called with
// each source and destination class's part of those flows; false: the statement has none.
template <typename Cell>
bool forEachCell(const policies::Policy& policy, const Prepared& prep, const Statement& st, const FlowSetup& setup,
                 Cell&& cell) {
  const auto fi = setup.family == Family::V4 ? 0 : 1;
  auto dests = st.to[fi].unite(prep.vips[fi]);
  auto services = policy.dnat.empty() ? st.services : allServices();
  if (st.from[fi].empty() || dests.empty() || services.empty()) return false;
  for (const auto& src : setup.sources) {
    auto s = src.addrs.intersect(st.from[fi]);
    if (s.empty()) continue;
    for (const auto& dst : setup.dests) {
      auto d = dst.addrs.intersect(dests);
      if (!d.empty()) cell(FlowCube{s, d, services}, src, dst);
    }
  }
  return true;
}

// The zone pairs whose chains the check's flows can reach (CompileOptions::zonePairs): from
// the zone of the interface a source arrives on, or of the VPN group whose pool holds it, to
// the zone of the interface its destination leaves by, or to every zone when the policy has
// DNAT (a backend may be anywhere). A pair too many only costs time; one too few would hide
// a breach, so this errs wide (the tests compare with the whole ruleset's results).
std::set<std::pair<std::string, std::string>> reachedZonePairs(const policies::Policy& policy, const Prepared& prep) {
  std::map<std::string, std::string> zoneOf;  // interface → zone, as the compiler dispatches
  std::set<std::string> allZones;
  if (policy.gateway && !policy.gateway->uplink.empty()) zoneOf.emplace(policy.gateway->uplink, policies::kInternet);
  for (const auto& s : policy.segments) {
    zoneOf.emplace(policies::segmentInterface(policy, s), prep.index.zoneOfSegment(s.name));
  }
  for (const auto& [iface, zone] : zoneOf) allZones.insert(zone);
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& setup : prep.setups) {
    for (const auto& st : prep.statements) {
      std::set<std::string> from, to;
      forEachCell(policy, prep, st, setup, [&](const FlowCube& cube, const SourceClass& src, const DestClass& dst) {
        if (auto it = zoneOf.find(src.iif); it != zoneOf.end()) from.insert(it->second);
        if (policy.vpn) {
          for (const auto& g : policy.vpn->groups) {
            if (g.pool.length() == 0 || g.pool.family() != setup.family) continue;
            if (cube.src.intersects(prefixSet(g.pool))) from.insert(prep.index.zoneOfGroup(g.name));
          }
        }
        if (!policy.dnat.empty()) {
          to = allZones;
        } else if (dst.oif && !dst.local) {
          if (auto it = zoneOf.find(*dst.oif); it != zoneOf.end()) to.insert(it->second);
        }
      });
      for (const auto& f : from) {
        for (const auto& t : to) pairs.emplace(f, t);
      }
    }
  }
  return pairs;
}

std::vector<InvariantResult> check(const policies::Policy& policy, const Prepared& prep,
                                   const fw::CompileResult& compiled) {
  std::vector<InvariantResult> results;
  for (const auto& inv : policy.invariants) results.push_back({&inv, {}});
  // Per invariant: breach key (rule, backend) → its index in breaches.
  std::vector<std::map<std::string, std::size_t>> keys(results.size());
  auto variants = variantsOf(compiled);
  for (const auto& variant : variants) {
    for (const auto& setup : prep.setups) {
      const auto family = setup.family;
      Partitioner partitioner(*variant.ruleset, setup);
      std::vector<Piece> pieces;
      for (std::size_t i = 0; i < prep.statements.size(); ++i) {
        const auto& st = prep.statements[i];
        pieces.clear();
        auto run = [&](const FlowCube& cube, const SourceClass& src, const DestClass& dst) {
          partitioner.run(cube, src, dst, pieces);
        };
        if (!forEachCell(policy, prep, st, setup, run)) continue;
        for (const auto& piece : pieces) {
          if (variant.backendAt &&
              (!piece.outcome.dnatTo || *piece.outcome.dnatTo != addressValue(*variant.backendAt))) {
            continue;
          }
          auto cube = breaking(piece, st, family);
          if (cube.empty()) continue;
          const auto& rule = piece.outcome.decidedBy;
          auto key = rule.where.str() + "\n" + rule.what + "\n" + variant.backend;
          auto [it, fresh] = keys[i].emplace(key, results[i].breaches.size());
          if (fresh) results[i].breaches.push_back({rule, variant.backend, {}, {}, {}});
          results[i].breaches[it->second].flows.push_back({family, setup.path, std::move(cube), piece.outcome});
        }
      }
    }
  }
  Namer names({&policy});
  for (auto& r : results) {
    for (auto& b : r.breaches) {
      const auto& first = b.flows.front();
      b.example = exampleOf(policy, first);
      b.summary = names.addressText(first.family, first.cube.src, 4) + " → " +
                  names.addressText(first.family, first.cube.dst, 4);
      if (first.outcome.dnatTo) {
        b.summary += " → " + names.addressText(first.family, IntervalSet::point(*first.outcome.dnatTo), 2);
      }
      b.summary += " " + names.serviceText(first.cube.svc, 4);
    }
    std::stable_sort(r.breaches.begin(), r.breaches.end(), [](const Breach& a, const Breach& b) {
      return std::tie(a.rule.where.file, a.rule.where.line, a.backend) <
             std::tie(b.rule.where.file, b.rule.where.line, b.backend);
    });
  }
  return results;
}

}  // namespace

std::vector<InvariantResult> checkInvariants(const policies::Policy& policy, const fw::CompileResult& compiled,
                                             const InvariantOptions& options) {
  if (policy.invariants.empty()) return {};
  return check(policy, Prepared(policy, options), compiled);
}

std::string Breach::str() const {
  auto s = switched() ? "flows the gateway never sees (" + rule.what + "): " : describeOrigin(rule) + " allows ";
  s += summary + ", e.g. " + example.str();
  if (!backend.empty()) s += ", when DNAT sends it to backend " + backend;
  return s;
}

void reportInvariants(const std::vector<InvariantResult>& results, policies::Diagnostics& out) {
  for (const auto& r : results) {
    const auto& inv = *r.invariant;
    auto what = inv.name.empty() ? "invariant " + inv.str() : "invariant '" + inv.name + "' (" + inv.str() + ")";
    for (const auto& b : r.breaches) {
      out.error(inv.where, what + " is broken: " + b.str(),
                b.switched() ? "put the hosts in different segments, or narrow the invariant"
                             : "narrow or deny these flows before that rule, or change the invariant");
    }
  }
}

void checkPolicyInvariants(const policies::Policy& policy, policies::Diagnostics& out) {
  if (policy.invariants.empty()) return;
  // Only the chains the check's flows can reach: validate does not compile otherwise, and the
  // rest of a large policy's ruleset was most of what the check cost.
  const InvariantOptions options;
  const Prepared prep(policy, options);
  fw::CompileOptions compileOptions;
  compileOptions.libipsecInterface = options.libipsecInterface;
  compileOptions.zonePairs = reachedZonePairs(policy, prep);
  auto compiled = fw::compile(policy, compileOptions);
  if (!compiled.ok()) {
    out.append(compiled.diagnostics);
    return;
  }
  reportInvariants(check(policy, prep, compiled), out);
}

}  // namespace bulwark::review
