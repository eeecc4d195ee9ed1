#include "policy_textgen.h"

#include <cstdio>
#include <stdexcept>
#include <vector>

namespace bulwark::bench {

namespace {

constexpr std::size_t kSegments = 25;
constexpr std::size_t kHostsPerSegment = 20;
constexpr std::size_t kZones = 5;
constexpr std::size_t kServices = 40;
constexpr std::size_t kExpectations = 100;
constexpr std::size_t kFromPerRule = 4;  // Tiered
constexpr std::size_t kToPerRule = 5;    // Tiered
constexpr std::size_t kWideHostsPerBlock = 240;  // Wide: 10.64.<i/240>.<10 + i%240>
constexpr std::size_t kWideMaxHosts = kWideHostsPerBlock * 256;

std::string fmt(const char* format, auto... args) {
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, format, args...);
  if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) throw std::length_error("fmt");
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string segmentName(std::size_t s) { return fmt("seg%02zu", s); }
std::string hostName(std::size_t s, std::size_t h) { return fmt("seg%02zu-h%02zu", s, h); }
std::string hostName(std::size_t global) {
  return hostName(global / kHostsPerSegment, global % kHostsPerSegment);
}
std::string serviceName(std::size_t k) { return fmt("svc%02zu", k); }
std::string clientName(std::size_t i) { return fmt("cli%05zu", i); }

std::string list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s + "]";
}

struct GenRule {
  std::vector<std::string> from, to;
  std::string service;
  std::string comment;
};

// Tiered rule r: segments (sa, sb), host blocks (fb, tb) and the service are a bijection
// of r, so the 4 x 5 x 1 flow sets of two rules never intersect (see the header).
GenRule tieredRule(std::size_t r) {
  std::size_t sa = r % kSegments;
  std::size_t t = r / kSegments;
  std::size_t pair = t % (kSegments - 1);
  std::size_t v = t / (kSegments - 1);  // < 800 (checked by the caller)
  std::size_t sb = (sa + 1 + pair) % kSegments;
  std::size_t fb = (v + pair) % (kHostsPerSegment / kFromPerRule);
  std::size_t tb = (v / 5 + sa) % (kHostsPerSegment / kToPerRule);
  std::size_t svc = (v / 20 + sa * 3 + pair * 7) % kServices;
  GenRule g;
  for (std::size_t i = 0; i < kFromPerRule; ++i) g.from.push_back(hostName(sa, fb * kFromPerRule + i));
  for (std::size_t i = 0; i < kToPerRule; ++i) g.to.push_back(hostName(sb, tb * kToPerRule + i));
  g.service = serviceName(svc);
  g.comment = "# " + segmentName(sa) + " hosts " + std::to_string(fb * kFromPerRule) + "-" +
              std::to_string(fb * kFromPerRule + kFromPerRule - 1) + " call " + segmentName(sb) +
              " on " + g.service;
  return g;
}

// Flat rule i: one (src, dst, service) triple; src cycles over all hosts, dst steps away
// from it, the service changes once every dst has been used.
GenRule flatRule(std::size_t i) {
  constexpr std::size_t hosts = kSegments * kHostsPerSegment;
  std::size_t src = i % hosts;
  std::size_t t = i / hosts;
  std::size_t dst = (src + 1 + t % (hosts - 1)) % hosts;
  std::size_t svc = (t / (hosts - 1) + src) % kServices;
  GenRule g;
  g.from.push_back(hostName(src));
  g.to.push_back(hostName(dst));
  g.service = serviceName(svc);
  g.comment = "# " + hostName(src) + " -> " + hostName(dst);
  return g;
}

// The one Wide rule: every client host to the first server on the first service.
GenRule wideRule(std::size_t clients) {
  GenRule g;
  g.from.reserve(clients);
  for (std::size_t i = 0; i < clients; ++i) g.from.push_back(clientName(i));
  g.to.push_back(hostName(0));
  g.service = serviceName(0);
  g.comment = "# " + std::to_string(clients) + " clients call " + hostName(0);
  return g;
}

}  // namespace

const char* shapeName(RuleShape shape) {
  switch (shape) {
    case RuleShape::Tiered: return "tiered";
    case RuleShape::Flat: return "flat";
    case RuleShape::Wide: return "wide";
  }
  return "?";
}

bool parseShape(const std::string& name, RuleShape& shape) {
  for (RuleShape s : {RuleShape::Tiered, RuleShape::Flat, RuleShape::Wide}) {
    if (name == shapeName(s)) {
      shape = s;
      return true;
    }
  }
  return false;
}

PolicyText generatePolicyText(const PolicyTextSpec& spec) {
  PolicyText out;
  const bool wide = spec.shape == RuleShape::Wide;
  std::size_t perRule = spec.shape == RuleShape::Tiered ? kFromPerRule * kToPerRule
                        : wide                          ? spec.flows
                                                        : 1;
  if (spec.flows == 0 || spec.flows % perRule != 0) {
    throw std::invalid_argument("flows must be a positive multiple of " + std::to_string(perRule));
  }
  std::size_t rules = spec.flows / perRule;
  std::size_t maxRules = spec.shape == RuleShape::Tiered ? kSegments * (kSegments - 1) * 800
                                                         : kSegments * kHostsPerSegment *
                                                               (kSegments * kHostsPerSegment - 1) *
                                                               kServices;
  if (rules > maxRules || (wide && spec.flows > kWideMaxHosts)) {
    throw std::invalid_argument("too many flows for this site");
  }

  std::string& s = out.text;
  s.reserve(rules * (spec.shape == RuleShape::Tiered ? 260 : 120) + (wide ? spec.flows * 80 : 0) +
            80000);
  s += "# Generated by bench/policy_textgen.cpp: " + std::to_string(spec.flows) +
       " allowed (source host, destination host, service) flows, " + shapeName(spec.shape) +
       " rules.\n\n";
  s += "gateway:\n  name: edge1\n  uplink: eth0\n  trunk: eth1\n\n";

  s += "segments:\n";
  for (std::size_t i = 0; i < kSegments; ++i) {
    s += "  - name: " + segmentName(i) + "\n";
    s += "    description: application segment " + std::to_string(i) + "\n";
    s += "    vlan: " + std::to_string(100 + i) + "\n";
    s += fmt("    ipv4: { subnet: 10.%zu.0.0/24, gateway: 10.%zu.0.1 }\n", i + 1, i + 1);
    s += fmt("    ipv6: { subnet: 2001:db8:%zu::/64, gateway: 2001:db8:%zu::1 }\n", i + 1, i + 1);
  }
  out.segments = kSegments;
  if (wide) {
    s += "  - name: clients\n    description: client hosts of the wide rule\n    vlan: 200\n";
    s += "    ipv4: { subnet: 10.64.0.0/16, gateway: 10.64.0.1 }\n";
    ++out.segments;
  }

  // Wide: the hosts go after the rules, so that one more client host moves no rule to another
  // line (a rule's kernel comment is its file:line; a moved rule makes the apply a table
  // replacement instead of one element update).
  std::string hosts = "\nhosts:\n";
  for (std::size_t i = 0; i < kSegments; ++i) {
    for (std::size_t h = 0; h < kHostsPerSegment; ++h) {
      hosts += "  - { name: " + hostName(i, h) + ", segment: " + segmentName(i) +
               fmt(", addresses: [10.%zu.0.%zu] }\n", i + 1, 10 + h);
    }
  }
  out.hosts = kSegments * kHostsPerSegment;
  if (wide) {
    for (std::size_t i = 0; i < spec.flows; ++i) {
      hosts += "  - { name: " + clientName(i) + ", segment: clients" +
               fmt(", addresses: [10.64.%zu.%zu] }\n", i / kWideHostsPerBlock, 10 + i % kWideHostsPerBlock);
    }
    out.hosts += spec.flows;
  } else {
    s += hosts;
  }

  s += "\nservices:\n";
  for (std::size_t k = 0; k < kServices; ++k) {
    std::size_t port = 1024 + k * 1471;
    std::string ports = fmt("tcp/%zu", port);
    if (k % 4 == 0) ports += fmt(", udp/%zu", port);
    if (k % 4 == 1) ports += fmt(", tcp/%zu", port + 1);
    s += "  - { name: " + serviceName(k) + ", ports: [" + ports + "] }\n";
  }
  out.services = kServices;

  s += "\nzones:\n";
  for (std::size_t z = 0; z < kZones; ++z) {
    std::vector<std::string> members;
    for (std::size_t i = z * (kSegments / kZones); i < (z + 1) * (kSegments / kZones); ++i) {
      members.push_back(segmentName(i));
    }
    s += fmt("  - { name: zone%zu, segments: ", z) + list(members) + " }\n";
  }
  if (wide) s += "  - { name: clientzone, segments: [clients] }\n";

  s += "\nrules:\n";
  std::vector<GenRule> firstRules;
  for (std::size_t r = 0; r < rules; ++r) {
    GenRule g = spec.shape == RuleShape::Tiered ? tieredRule(r)
                : wide                          ? wideRule(spec.flows)
                                                : flatRule(r);
    if (r > 0) s += "\n";  // the formatter's blank line before a commented list item
    s += "  " + g.comment + "\n";
    s += fmt("  - name: r%05zu\n", r);
    if (g.from.size() == 1) {
      s += "    from: " + g.from[0] + "\n    to: " + g.to[0] + "\n";
    } else {
      s += "    from: " + list(g.from) + "\n    to: " + list(g.to) + "\n";
    }
    s += "    services: [" + g.service + "]\n    action: allow\n";
    if (firstRules.size() < kExpectations) firstRules.push_back(std::move(g));
  }
  out.rules = rules;
  out.flows = spec.flows;

  if (wide) s += hosts;
  s += "\nexpect:\n";
  if (wide) {
    const auto& g = firstRules.front();
    for (std::size_t e = 0; e < kExpectations && e < g.from.size(); ++e) {
      s += "  - { from: " + g.from[e] + ", to: " + g.to[0] + ", service: " + g.service +
           ", verdict: allow }\n";
    }
    return out;
  }
  for (std::size_t e = 0; e < kExpectations && e < firstRules.size(); ++e) {
    const auto& g = firstRules[e];
    s += "  - { from: " + g.from.back() + ", to: " + g.to.back() + ", service: " + g.service +
         ", verdict: allow }\n";
  }
  return out;
}

}  // namespace bulwark::bench
