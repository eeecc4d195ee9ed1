#include "firewall_policygen.h"

#include <cstdio>

namespace bulwark::bench {

using policies::Endpoint;
using policies::Host;
using policies::IpAddress;
using policies::Location;
using policies::NameRef;
using policies::PortSpec;
using policies::Prefix;
using policies::Protocol;
using policies::Rule;
using policies::Segment;
using policies::ServiceRef;

namespace {

constexpr const char* kFile = "bench-flows.yaml";

Location at(int line) { return Location{kFile, line, 1}; }

IpAddress clientAddress(std::size_t i) {  // 10.64.0.10 ...
  return IpAddress::v4((10u << 24) | (64u << 16) | static_cast<std::uint32_t>(i + 10));
}
IpAddress serverAddress(std::size_t r) {  // 10.200.0.10 ...
  return IpAddress::v4((10u << 24) | (200u << 16) | static_cast<std::uint32_t>(r + 10));
}
std::uint16_t rulePort(std::size_t r) { return static_cast<std::uint16_t>(10000 + r); }

std::string numbered(char c, std::size_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%c%05zu", c, i);
  return buf;
}

Segment segment(const std::string& name, const std::string& iface, const char* subnet, const char* gw, int line) {
  Segment s;
  s.where = at(line);
  s.name = name;
  s.interface = iface;
  s.ipv4 = policies::AddressFamilyConfig{*Prefix::parse(subnet), IpAddress::parse(gw)};
  return s;
}

Host host(const std::string& name, const std::string& seg, IpAddress a, int line) {
  Host h;
  h.where = at(line);
  h.name = name;
  h.segment = NameRef{seg, at(line)};
  h.addresses.push_back(a);
  return h;
}

ServiceRef literalService(Protocol p, std::uint16_t port, int line) {
  PortSpec spec{p, {port, port}};
  return ServiceRef{spec.str(), at(line), spec};
}

}  // namespace

GeneratedPolicy generateFlowPolicy(std::size_t flows) {
  const std::size_t perRule = kHostsPerRule * kFlowsPerHost;
  GeneratedPolicy g;
  g.rules = (flows + perRule - 1) / perRule;
  auto& p = g.policy;
  p.files = {kFile};
  p.gateway = policies::Gateway{};
  p.gateway->where = at(1);
  p.gateway->name = "bench";
  p.gateway->uplink = "wan0";
  p.segments.push_back(segment("clients", "cli0", "10.64.0.0/16", "10.64.0.1", 5));
  p.segments.push_back(segment("servers", "srv0", "10.200.0.0/16", "10.200.0.1", 8));
  int line = 20;
  for (std::size_t r = 0; r < g.rules; ++r) p.hosts.push_back(host(numbered('s', r), "servers", serverAddress(r), line++));
  for (std::size_t r = 0; r < g.rules; ++r) {
    Rule rule;
    rule.where = at(line++);
    rule.name = numbered('r', r);
    rule.to.push_back(Endpoint{numbered('s', r), rule.where, std::nullopt});
    rule.services.push_back(literalService(Protocol::Tcp, rulePort(r), rule.where.line));
    rule.services.push_back(literalService(Protocol::Udp, rulePort(r), rule.where.line));
    rule.action = policies::Action::Allow;
    for (std::size_t k = 0; k < kHostsPerRule; ++k) {
      auto name = numbered('c', g.clientHosts);
      p.hosts.push_back(host(name, "clients", clientAddress(g.clientHosts), line++));
      rule.from.push_back(Endpoint{name, rule.where, std::nullopt});
      ++g.clientHosts;
    }
    p.rules.push_back(std::move(rule));
  }
  return g;
}

std::vector<Flow> flows(const GeneratedPolicy& g) {
  std::vector<Flow> out;
  for (std::size_t r = 0; r < g.policy.rules.size(); ++r) {
    const auto& rule = g.policy.rules[r];
    auto dst = g.policy.findHost(rule.to.front().text)->addresses.front();
    for (const auto& from : rule.from) {
      auto src = g.policy.findHost(from.text)->addresses.front();
      out.push_back({src, dst, 6, rulePort(r)});
      out.push_back({src, dst, 17, rulePort(r)});
    }
  }
  return out;
}

IpAddress addClientHost(GeneratedPolicy& g) {
  auto name = numbered('c', g.clientHosts);
  auto a = clientAddress(g.clientHosts);
  auto& rule = g.policy.rules.back();
  g.policy.hosts.push_back(host(name, "clients", a, 100000 + static_cast<int>(g.clientHosts)));
  rule.from.push_back(Endpoint{name, rule.where, std::nullopt});
  ++g.clientHosts;
  return a;
}

std::string renderLinearScript(const std::vector<Flow>& fl) {
  std::string s;
  s.reserve(fl.size() * 90 + 512);
  s += "table inet linear\ndelete table inet linear\ntable inet linear {\n";
  s += "  chain forward {\n    type filter hook forward priority 0; policy drop;\n";
  s += "    ct state established,related counter accept\n    ct state invalid counter drop\n";
  for (const auto& f : fl) {
    s += "    ip saddr " + f.src.str() + " ip daddr " + f.dst.str() + " meta l4proto " +
         (f.proto == 6 ? "tcp" : "udp") + " th dport " + std::to_string(f.port) + " counter accept\n";
  }
  s += "    counter drop\n  }\n}\n";
  return s;
}

}  // namespace bulwark::bench
