#include "bulwark/review/flow_groups.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

namespace bulwark::review {

namespace {

IntervalSet& dim(FlowCube& c, int d) { return d == 0 ? c.src : d == 1 ? c.dst : c.svc; }

struct GroupKey {
  FlowChangeKind kind;
  std::string now, nowFile, was, wasFile;
  int nowLine, wasLine;
  std::string dnatBefore, dnatAfter;
  auto tie() const { return std::tie(kind, nowFile, nowLine, now, wasFile, wasLine, was, dnatBefore, dnatAfter); }
  bool operator<(const GroupKey& o) const { return tie() < o.tie(); }
};

std::string dnatText(const Namer& names, Family f, const Outcome& o) {
  if (!o.dnatTo) return {};
  auto text = names.addressText(f, IntervalSet::point(*o.dnatTo), 2);
  auto addr = addressAt(f, *o.dnatTo).str();
  if (text != addr) text += " (" + addr + ")";
  if (o.dnatPort) text += " port " + std::to_string(*o.dnatPort);
  return text;
}

}  // namespace

std::string_view flowChangeKindName(FlowChangeKind k) {
  switch (k) {
    case FlowChangeKind::Allowed: return "newly allowed";
    case FlowChangeKind::Denied: return "newly denied";
    case FlowChangeKind::Redirected: return "sent elsewhere by DNAT";
  }
  return "?";
}

std::string originPlace(const firewall::Origin& o) {
  if (o.where.file.empty()) return {};
  return o.where.file + ":" + std::to_string(o.where.line);
}

std::string describeOrigin(const firewall::Origin& o) {
  const auto& w = o.what;
  auto at = originPlace(o);
  auto suffix = at.empty() ? std::string() : " at " + at;
  if (w.rfind("not via the gateway", 0) == 0) return w;
  if (w.rfind("vpn:", 0) == 0) {
    auto hash = w.find('#');
    if (hash != std::string::npos) {
      return "VPN group " + w.substr(4, hash - 4) + ", access #" + w.substr(hash + 1) + suffix;
    }
    return "VPN group " + w.substr(4) + suffix;
  }
  if (w.rfind("dnat:", 0) == 0) return "DNAT " + w.substr(5) + suffix;
  if (w.rfind("control", 0) == 0) return "the control API (gateway.control)" + suffix;
  if (w.rfind("vpn-ssh:", 0) == 0) return "the gateway's SSH for VPN group " + w.substr(8) + suffix;
  if (w.rfind("vpn-pool-without-ipsec:", 0) == 0) {
    return "VPN pool " + w.substr(23) + " without IPsec (dropped)" + suffix;
  }
  if (w.rfind("drop ", 0) == 0 && o.where.file.empty()) {
    auto label = w.substr(5);
    auto gt = label.find('>');
    if (gt != std::string::npos) label = label.substr(0, gt) + " → " + label.substr(gt + 1);
    return "no rule (default drop of " + label + ")";
  }
  if (w == "drop input") return "no rule (default drop of the gateway's own input)";
  if (w == "default-drop" || w.rfind("policy drop", 0) == 0) return "no rule (default drop)";
  if (w.empty()) return "no rule";
  if (o.where.file.empty()) return "built-in " + w;
  return w + suffix;
}

std::vector<FlowCube> mergeCubes(std::vector<FlowCube> cubes) {
  bool merged = true;
  while (merged && cubes.size() > 1) {
    merged = false;
    for (int d = 0; d < 3; ++d) {
      int a = (d + 1) % 3, b = (d + 2) % 3;
      std::unordered_map<std::size_t, std::vector<std::size_t>> buckets;
      std::vector<bool> gone(cubes.size(), false);
      for (std::size_t i = 0; i < cubes.size(); ++i) {
        auto h = dim(cubes[i], a).hash() * 31 + dim(cubes[i], b).hash();
        auto& list = buckets[h];
        bool joined = false;
        for (auto j : list) {
          if (dim(cubes[j], a) == dim(cubes[i], a) && dim(cubes[j], b) == dim(cubes[i], b)) {
            dim(cubes[j], d) = dim(cubes[j], d).unite(dim(cubes[i], d));
            gone[i] = true;
            joined = merged = true;
            break;
          }
        }
        if (!joined) list.push_back(i);
      }
      std::vector<FlowCube> kept;
      for (std::size_t i = 0; i < cubes.size(); ++i) {
        if (!gone[i]) kept.push_back(std::move(cubes[i]));
      }
      cubes = std::move(kept);
    }
  }
  return cubes;
}

std::vector<FlowGroup> groupFlowChanges(const std::vector<FlowChange>& changes, const Namer& names) {
  // key → family → path → cubes
  std::map<GroupKey, std::map<std::pair<Family, IpsecPath>, std::vector<FlowCube>>> grouped;
  std::map<GroupKey, FlowGroup> groups;
  for (const auto& c : changes) {
    FlowChangeKind kind = c.after.accepted && !c.before.accepted   ? FlowChangeKind::Allowed
                          : !c.after.accepted && c.before.accepted ? FlowChangeKind::Denied
                                                                   : FlowChangeKind::Redirected;
    GroupKey key{kind,
                 c.after.decidedBy.what,
                 c.after.decidedBy.where.file,
                 c.before.decidedBy.what,
                 c.before.decidedBy.where.file,
                 c.after.decidedBy.where.line,
                 c.before.decidedBy.where.line,
                 dnatText(names, c.family, c.before),
                 dnatText(names, c.family, c.after)};
    grouped[key][{c.family, c.path}].push_back(c.cube);
    auto [it, inserted] = groups.try_emplace(key);
    if (inserted) {
      auto& g = it->second;
      g.kind = kind;
      g.now = c.after.decidedBy;
      g.was = c.before.decidedBy;
      g.nowText = describeOrigin(g.now);
      g.wasText = describeOrigin(g.was);
      g.dnatBefore = key.dnatBefore;
      g.dnatAfter = key.dnatAfter;
    }
  }
  std::vector<FlowGroup> out;
  for (auto& [key, byFamilyPath] : grouped) {
    auto& g = groups[key];
    // (from, to, services) → per path, the line
    std::map<std::tuple<std::string, std::string, std::string>, std::pair<FlowLine, int>> lines;  // int: path bits
    std::vector<std::tuple<std::string, std::string, std::string>> order;
    for (auto& [fp, cubes] : byFamilyPath) {
      auto [family, path] = fp;
      for (auto& cube : mergeCubes(std::move(cubes))) {
        FlowLine l{names.addressText(family, cube.src), names.addressText(family, cube.dst),
                   names.serviceText(cube.svc),         Namer::prefixes(family, cube.src),
                   Namer::prefixes(family, cube.dst),   Namer::serviceSpecs(cube.svc),
                   {family},                            {}};
        auto k = std::make_tuple(l.from, l.to, l.services);
        auto [it, inserted] = lines.try_emplace(k, std::move(l), 0);
        if (inserted) order.push_back(k);
        auto& [line, bits] = it->second;
        bits |= path == IpsecPath::Kernel ? 1 : 2;
        if (!inserted) {
          if (std::find(line.families.begin(), line.families.end(), family) == line.families.end()) {
            line.families.push_back(family);
            auto add = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
              for (const auto& x : from) {
                if (std::find(to.begin(), to.end(), x) == to.end()) to.push_back(x);
              }
            };
            add(line.fromExact, Namer::prefixes(family, cube.src));
            add(line.toExact, Namer::prefixes(family, cube.dst));
          }
        }
      }
    }
    for (const auto& k : order) {
      auto& [line, bits] = lines[k];
      line.pathNote = bits == 1 ? "kernel IPsec only" : bits == 2 ? "libipsec only" : "";
      g.lines.push_back(std::move(line));
    }
    out.push_back(std::move(g));
  }
  std::stable_sort(out.begin(), out.end(), [](const FlowGroup& a, const FlowGroup& b) { return a.kind < b.kind; });
  return out;
}

}  // namespace bulwark::review
