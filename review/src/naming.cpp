#include "bulwark/review/naming.h"

#include <algorithm>
#include <set>

#include "bulwark/policies/resolve.h"

namespace bulwark::review {

namespace {

void addNamed(std::vector<std::string>& seen, std::string name, IntervalSet set, auto& list) {
  if (set.empty() || std::find(seen.begin(), seen.end(), name) != seen.end()) return;
  seen.push_back(name);
  list.push_back({std::move(name), std::move(set)});
}

// log2 of the largest aligned block that starts at `lo` and ends at or before `hi`.
int blockBits(U128 lo, U128 hi, int bits) {
  int k = 0;
  while (k < bits) {
    if (k + 1 == 128) return lo == 0 && hi == ~U128{0} ? 128 : k;
    U128 size = U128{1} << (k + 1);
    if ((lo & (size - 1)) != 0 || hi - lo < size - 1) break;
    ++k;
  }
  return k;
}

}  // namespace

Namer::Namer(std::vector<const policies::Policy*> policies) {
  for (auto fam : {Family::V4, Family::V6}) {
    auto& pf = fam == Family::V4 ? v4_ : v6_;
    std::vector<std::string> segSeen, poolSeen, hostSeen, gwSeen, vipSeen;
    std::vector<Interval> ours;
    bool first = true;
    for (const auto* p : policies) {
      if (!p) continue;
      for (const auto& s : p->segments) {
        const auto& cfg = fam == Family::V4 ? s.ipv4 : s.ipv6;
        if (!cfg) continue;
        auto set = prefixSet(cfg->subnet);
        if (first) ours.push_back(set.intervals().front());
        addNamed(segSeen, s.name, set, pf.segments);
        if (cfg->gateway) {
          std::string gw = "gateway " + cfg->gateway->str();
          addNamed(gwSeen, gw, IntervalSet::point(addressValue(*cfg->gateway)), pf.gateway);
        }
      }
      if (p->vpn) {
        for (const auto& g : p->vpn->groups) {
          if (g.pool.length() == 0 || g.pool.family() != fam) continue;
          auto set = prefixSet(g.pool);
          if (first) ours.push_back(set.intervals().front());
          addNamed(poolSeen, g.name, set, pf.pools);
        }
      }
      for (const auto& h : p->hosts) {
        std::vector<Interval> addrs;
        for (const auto& a : h.addresses) {
          if (a.family() == fam) addrs.push_back({addressValue(a), addressValue(a)});
        }
        addNamed(hostSeen, h.name, IntervalSet::fromUnsorted(std::move(addrs)), pf.hosts);
      }
      for (const auto& d : p->dnat) {
        if (d.vip.family() == fam) addNamed(vipSeen, d.vip.str() + " (VIP)", IntervalSet::point(addressValue(d.vip)), pf.vips);
      }
      first = false;
    }
    pf.internet = IntervalSet::fromUnsorted(std::move(ours)).complement(addressMax(fam));
  }
  for (const auto* p : policies) {
    if (!p) continue;
    for (const auto& s : p->services) {
      if (std::any_of(services_.begin(), services_.end(), [&](const NamedService& n) { return n.name == s.name; })) {
        continue;
      }
      IntervalSet set;
      std::vector<std::string> specs;
      for (const auto& spec : s.ports) {
        set = set.unite(serviceSpecSet(spec));
        specs.push_back(spec.str());
      }
      services_.push_back({s.name, std::move(set), std::move(specs)});
    }
  }
}

std::vector<std::string> Namer::prefixes(Family f, const IntervalSet& set) {
  std::vector<std::string> out;
  const int bits = f == Family::V4 ? 32 : 128;
  for (const auto& i : set.intervals()) {
    U128 lo = i.lo;
    for (;;) {
      int size = blockBits(lo, i.hi, bits);
      out.push_back(Prefix(addressAt(f, lo), bits - size).str());
      if (size == 128) break;
      U128 next = lo + (U128{1} << size);
      if (next - 1 >= i.hi || next == 0) break;
      lo = next;
    }
  }
  return out;
}

// A policy protocol by its policy name (as in a service), any other by its number.
std::string protocolText(std::uint8_t proto) {
  if (auto p = policies::protocolFromNumber(proto)) return std::string(policies::protocolName(*p));
  return "protocol " + std::to_string(proto);
}

std::vector<std::string> Namer::serviceSpecs(const IntervalSet& svc) {
  std::vector<std::string> out;
  if (svc == allServices()) return {"all services"};
  for (const auto& i : svc.intervals()) {
    for (unsigned p = svcProto(i.lo); p <= svcProto(i.hi); ++p) {
      auto proto = static_cast<std::uint8_t>(p);
      std::uint32_t lo = std::max<std::uint32_t>(static_cast<std::uint32_t>(i.lo), svcValue(proto, 0));
      std::uint32_t hi = std::min<std::uint32_t>(static_cast<std::uint32_t>(i.hi), svcValue(proto, 0xffff));
      bool whole = svcPort(lo) == 0 && svcPort(hi) == 0xffff;
      if (whole || !protoHasPorts(proto)) {
        out.push_back(protocolText(proto));
      } else if (svcPort(lo) == svcPort(hi)) {
        out.push_back(protocolText(proto) + "/" + std::to_string(svcPort(lo)));
      } else {
        out.push_back(protocolText(proto) + "/" + std::to_string(svcPort(lo)) + "-" + std::to_string(svcPort(hi)));
      }
    }
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string joinNames(const std::vector<std::string>& items, std::size_t maxItems) {
  std::string s;
  std::size_t n = std::min(items.size(), items.size() > maxItems ? maxItems - 1 : maxItems);
  for (std::size_t i = 0; i < n; ++i) s += (i ? ", " : "") + items[i];
  if (n < items.size()) s += " and " + std::to_string(items.size() - n) + " more";
  return s;
}

std::vector<std::string> Namer::exceptForm(Family f, const IntervalSet& set) const {
  const auto& pf = of(f);
  // "app except web1": most of a segment, less a few named single addresses.
  std::vector<std::string> out;
  for (const auto& seg : pf.segments) {
    auto in = set.intersect(seg.set);
    if (in.empty() || in == seg.set) continue;
    auto missing = seg.set.subtract(set);
    if (missing.count() > 4 || in.count() < seg.set.count() / 2) continue;
    std::vector<std::string> names;
    for (const auto* list : {&pf.hosts, &pf.gateway, &pf.vips}) {
      for (const auto& n : *list) {
        if (missing.containsAll(n.set) && n.set.count() == 1) {
          names.push_back(n.name);
          missing = missing.subtract(n.set);
        }
      }
    }
    if (!missing.empty()) continue;
    out.push_back(seg.name + " except " + joinNames(names, 4));
  }
  return out;
}

std::vector<std::string> Namer::addresses(Family f, const IntervalSet& set) const {
  if (set.empty()) return {};
  const auto& pf = of(f);
  const U128 max = addressMax(f);
  if (set == allAddresses(f)) return {"any"};
  std::vector<std::string> parts;
  IntervalSet rest = set;
  // Mostly everything: say what is missing.
  auto missing = set.complement(max);
  if (!pf.internet.empty() && set.containsAll(pf.internet) && missing.count() <= 4) {
    auto names = addresses(f, missing);
    if (names.size() <= 4) return {"any except " + joinNames(names, 4)};
  }
  if (!pf.internet.empty() && rest.containsAll(pf.internet)) {
    parts.push_back("internet");
    rest = rest.subtract(pf.internet);
  }
  for (const auto* list : {&pf.segments, &pf.pools}) {
    for (const auto& n : *list) {
      if (rest.containsAll(n.set)) {
        parts.push_back(n.name);
        rest = rest.subtract(n.set);
      }
    }
  }
  for (auto& e : exceptForm(f, rest)) {
    parts.push_back(std::move(e));
  }
  for (const auto& seg : pf.segments) {
    auto in = rest.intersect(seg.set);
    if (!in.empty() && std::any_of(parts.begin(), parts.end(), [&](const std::string& p) {
          return p.rfind(seg.name + " except ", 0) == 0;
        })) {
      rest = rest.subtract(in);
    }
  }
  for (const auto* list : {&pf.hosts, &pf.gateway, &pf.vips}) {
    for (const auto& n : *list) {
      if (!n.set.empty() && rest.containsAll(n.set)) {
        parts.push_back(n.name);
        rest = rest.subtract(n.set);
      }
    }
  }
  // What no name covers: prefixes, with the segment they lie in.
  for (const auto& p : prefixes(f, rest)) {
    auto pre = *Prefix::parse(p);
    auto ps = prefixSet(pre);
    std::string where;
    for (const auto* list : {&pf.segments, &pf.pools}) {
      for (const auto& n : *list) {
        if (n.set.containsAll(ps)) where = " (in " + n.name + ")";
      }
    }
    if (where.empty() && pf.internet.containsAll(ps)) where = " (internet)";
    parts.push_back(p + where);
  }
  return parts;
}

std::string Namer::addressText(Family f, const IntervalSet& set, std::size_t maxItems) const {
  return joinNames(addresses(f, set), maxItems);
}

std::string Namer::serviceText(const IntervalSet& svc, std::size_t maxItems) const {
  auto specs = serviceSpecs(svc);
  if (svc == allServices()) return "all services";
  std::string literal = joinNames(specs, maxItems);
  // Named services that fit inside, largest first, until they cover the set exactly.
  std::vector<const NamedService*> inside;
  for (const auto& s : services_) {
    if (!s.set.empty() && svc.containsAll(s.set)) inside.push_back(&s);
  }
  std::stable_sort(inside.begin(), inside.end(),
                   [](const NamedService* a, const NamedService* b) { return a->set.count() > b->set.count(); });
  IntervalSet covered;
  std::vector<std::string> names;
  for (const auto* s : inside) {
    if (covered.containsAll(s->set)) continue;
    covered = covered.unite(s->set);
    names.push_back(s->name);
  }
  if (!names.empty() && covered == svc && names.size() <= 4) {
    // The ports in the order the services list them.
    std::vector<std::string> ordered;
    for (const auto& n : names) {
      auto it = std::find_if(services_.begin(), services_.end(), [&](const NamedService& s) { return s.name == n; });
      for (const auto& spec : it->specs) {
        if (std::find(ordered.begin(), ordered.end(), spec) == ordered.end()) ordered.push_back(spec);
      }
    }
    return joinNames(names, 4) + " (" + joinNames(ordered, maxItems) + ")";
  }
  return literal;
}

}  // namespace bulwark::review
