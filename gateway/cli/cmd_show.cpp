#include <algorithm>
#include <iostream>

#include "bulwark/policies/ha.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/matrix.h"
#include "commands.h"
#include "output.h"

namespace bulwark::cli {

namespace {

using Table = std::vector<std::vector<std::string>>;

void printTable(const Table& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

std::string cellText(const std::vector<policies::MatrixEntry>& entries) {
  std::string s;
  for (const auto& e : entries) {
    std::string item = e.action == policies::Action::Allow ? e.service : "!" + e.service;
    if (e.partial && e.action == policies::Action::Allow) item += "*";
    if (("," + s + ",").find("," + item + ",") == std::string::npos) {
      s += (s.empty() ? "" : ",") + item;
    }
  }
  return s.empty() ? "-" : s;
}

// The pair (policy ha:): what floats where, and each node's own addresses.
nlohmann::json haJson(const policies::Policy& p) {
  const auto& ha = *p.ha;
  nlohmann::json floating = nlohmann::json::array();
  for (const auto& f : policies::floatingAddresses(p)) {
    floating.push_back({{"address", f.address.str()}, {"interface", f.interface}, {"segment", f.segment}});
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : ha.nodes) {
    nlohmann::json addrs = nlohmann::json::array();
    for (const auto& a : policies::nodeAddresses(p, n)) {
      addrs.push_back({{"address", a.address.str()}, {"interface", a.interface}, {"segment", a.segment}});
    }
    auto sync = policies::haSyncAddress(p, n);
    nodes.push_back({{"name", n.name}, {"priority", &n == &ha.nodes.front() ? 150 : 100},
                     {"sync", sync ? sync->str() : ""}, {"addresses", addrs}});
  }
  return {{"sync_interface", policies::haSyncInterface(p)}, {"vrrp_id", ha.vrrpId},
          {"advert_s", ha.advertCentis / 100.0}, {"failback", ha.failback == policies::HaFailback::Preempt ? "preempt" : "nopreempt"},
          {"preempt_delay", ha.preemptDelay ? nlohmann::json(*ha.preemptDelay) : nlohmann::json(nullptr)},
          {"floating", floating}, {"nodes", nodes}};
}

}  // namespace

int runShow(const std::string& path, const GlobalOptions& opts) {
  auto result = policies::loadAndValidate(path);
  if (failed(result.diagnostics, opts.werror)) {
    printDiagnostics(result.diagnostics);
    std::cerr << path << ": invalid policy; fix it before `show`\n";
    return kExitInvalid;
  }
  const auto& p = result.policy;
  policies::PolicyIndex index(p);
  auto matrix = policies::buildZoneMatrix(index);

  if (opts.json) {
    nlohmann::json segs = nlohmann::json::array();
    for (const auto& s : p.segments) {
      nlohmann::json j = {{"name", s.name}, {"zone", index.zoneOfSegment(s.name)}, {"mtu", s.mtu}};
      if (s.vlan) j["vlan"] = *s.vlan;
      if (!s.interface.empty()) j["interface"] = s.interface;
      if (s.ipv4) j["ipv4"] = {{"subnet", s.ipv4->subnet.str()},
                               {"gateway", s.ipv4->gateway ? s.ipv4->gateway->str() : ""}};
      if (s.ipv6) j["ipv6"] = {{"subnet", s.ipv6->subnet.str()},
                               {"gateway", s.ipv6->gateway ? s.ipv6->gateway->str() : ""}};
      nlohmann::json hosts = nlohmann::json::array();
      for (const auto& h : p.hosts) {
        if (h.segment.name == s.name) hosts.push_back(h.name);
      }
      j["hosts"] = hosts;
      segs.push_back(std::move(j));
    }
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& [key, entries] : matrix.cells) {
      for (const auto& e : entries) {
        cells.push_back({{"from", key.first}, {"to", key.second}, {"service", e.service},
                         {"rule", e.rule}, {"action", policies::actionName(e.action)},
                         {"partial", e.partial}});
      }
    }
    nlohmann::json out{{"segments", segs}, {"zones", matrix.zones}, {"matrix", cells},
                       {"diagnostics", diagnosticsJson(result.diagnostics)}};
    if (p.ha) out["ha"] = haJson(p);
    std::cout << out.dump(2) << '\n';
    return kExitOk;
  }

  printDiagnostics(result.diagnostics);
  std::cout << "Segments\n";
  Table seg{{"NAME", "ZONE", "LINK", "IPV4", "GATEWAY4", "IPV6", "GATEWAY6", "MTU", "HOSTS"}};
  for (const auto& s : p.segments) {
    std::string hosts;
    for (const auto& h : p.hosts) {
      if (h.segment.name == s.name) hosts += (hosts.empty() ? "" : ",") + h.name;
    }
    seg.push_back({s.name, index.zoneOfSegment(s.name),
                   s.vlan ? "vlan " + std::to_string(*s.vlan) : s.interface,
                   s.ipv4 ? s.ipv4->subnet.str() : "-",
                   s.ipv4 && s.ipv4->gateway ? s.ipv4->gateway->str() : "-",
                   s.ipv6 ? s.ipv6->subnet.str() : "-",
                   s.ipv6 && s.ipv6->gateway ? s.ipv6->gateway->str() : "-", std::to_string(s.mtu),
                   hosts.empty() ? "-" : hosts});
  }
  if (p.vpn) {
    for (const auto& g : p.vpn->groups) {
      seg.push_back({g.name, index.zoneOfGroup(g.name), "vpn pool", g.pool.isHost() ? "-" : g.pool.str(),
                     "-", "-", "-", "-", "-"});
    }
  }
  printTable(seg);
  if (p.ha) {
    auto h = haJson(p);
    std::cout << "\nHA pair (sync link " << h["sync_interface"].get<std::string>() << ", failback "
              << h["failback"].get<std::string>() << ")\n";
    Table t{{"ADDRESS", "INTERFACE", "HELD BY"}};
    for (const auto& f : h["floating"]) t.push_back({f["address"], f["interface"], "the active node (floats)"});
    for (const auto& n : h["nodes"]) {
      for (const auto& a : n["addresses"]) t.push_back({a["address"], a["interface"], n["name"]});
    }
    printTable(t);
  }

  std::cout << "\nZone matrix (row = from, column = to; * = only some hosts; !x = denied)\n";
  Table mat;
  std::vector<std::string> header{"FROM \\ TO"};
  header.insert(header.end(), matrix.zones.begin(), matrix.zones.end());
  mat.push_back(header);
  for (const auto& from : matrix.zones) {
    std::vector<std::string> row{from};
    for (const auto& to : matrix.zones) {
      auto it = matrix.cells.find({from, to});
      row.push_back(it == matrix.cells.end() ? "-" : cellText(it->second));
    }
    mat.push_back(row);
  }
  printTable(mat);
  return kExitOk;
}

}  // namespace bulwark::cli
