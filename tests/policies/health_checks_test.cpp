// Health checks (`checks:`, hosts[].checks) and DNAT entries with several backends, a mode and
// a check: what the loader reads, and every inconsistency the validator reports at its
// file:line:col, exactly as `bulwarkctl validate` prints it.
#include <gtest/gtest.h>

#include "bulwark/policies/formatter.h"
#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::diags;
using test::Lines;

constexpr std::string_view kBase = R"(gateway: { uplink: eth0, trunk: eth1 }
segments:
  - { name: dmz, vlan: 20, ipv4: { subnet: 10.1.0.0/24 } }
  - { name: db, vlan: 30, ipv4: { subnet: 10.3.0.0/24 } }
hosts:
  - { name: lb1, segment: dmz, addresses: [10.1.0.11] }
  - { name: lb2, segment: dmz, addresses: [10.1.0.12] }
  - { name: sql, segment: db, addresses: [10.3.0.5] }
services:
  - { name: https, ports: [tcp/443] }
  - { name: nfs, ports: [tcp/2049, udp/2049] }
rules:
  - { name: in, from: internet, to: [lb1, lb2], services: [https], action: allow }
)";  // line 14 is the first one after it

std::string with(std::string_view rest) { return std::string(kBase) + std::string(rest); }

TEST(HealthChecks, LoadsEveryFieldAndTheDefaults) {
  auto r = test::loadValid(with(R"(checks:
  - name: lb
    description: the load balancer's own health page
    type: https
    path: /healthz
    host: www.example.edu
    expect: [200, 204]
    interval: 500ms
    timeout: 300ms
    rise: 3
    fall: 4
  - { name: plain, type: tcp, service: https }
  - { name: web, type: http, service: tcp/443, interval: 2s, timeout: 1s }
nat:
  dnat:
    - { name: vip, vip: 198.51.100.1, service: https, to: [lb1, lb2], check: lb }
    - { name: spread, vip: 198.51.100.2, service: https, to: [lb1, 10.1.0.12], mode: balance }
)"));
  const auto& p = r.policy;
  ASSERT_EQ(p.checks.size(), 3u);
  const auto& lb = p.checks[0];
  EXPECT_EQ(lb.type, CheckType::Https);
  EXPECT_EQ(lb.path, "/healthz");
  EXPECT_EQ(lb.host, "www.example.edu");
  EXPECT_EQ(lb.expect, (std::vector<std::uint16_t>{200, 204}));
  EXPECT_EQ(lb.intervalMs, 500u);
  EXPECT_EQ(lb.timeoutMs, 300u);
  EXPECT_EQ(lb.rise, 3u);
  EXPECT_EQ(lb.fall, 4u);
  EXPECT_FALSE(lb.service.has_value());
  const auto& plain = p.checks[1];
  EXPECT_EQ(plain.type, CheckType::Tcp);
  EXPECT_EQ(plain.path, "/");
  EXPECT_EQ(plain.intervalMs, kCheckIntervalDefaultMs);
  EXPECT_EQ(plain.timeoutMs, kCheckTimeoutDefaultMs);
  EXPECT_EQ(plain.rise, kCheckCountDefault);
  EXPECT_EQ(plain.fall, kCheckCountDefault);
  EXPECT_EQ(p.checks[2].intervalMs, 2000u);
  ASSERT_EQ(p.dnat.size(), 2u);
  EXPECT_EQ(p.dnat[0].mode, DnatMode::Failover);  // several backends: failover by default
  ASSERT_EQ(p.dnat[0].to.size(), 2u);
  EXPECT_EQ(p.dnat[0].to[1].text, "lb2");
  ASSERT_TRUE(p.dnat[0].check.has_value());
  EXPECT_EQ(p.dnat[0].check->name, "lb");
  EXPECT_EQ(p.dnat[1].mode, DnatMode::Balance);
  ASSERT_TRUE(p.dnat[1].to[1].literal.has_value());
  EXPECT_EQ(p.dnat[1].to[1].literal->str(), "10.1.0.12");
}

TEST(HealthChecks, OneBackendStaysAPlainDnat) {
  auto r = test::loadValid(with("nat:\n  dnat:\n    - { name: v, vip: 198.51.100.1, service: https, to: lb1 }\n"));
  ASSERT_EQ(r.policy.dnat.size(), 1u);
  EXPECT_EQ(r.policy.dnat[0].mode, DnatMode::Single);
  EXPECT_FALSE(r.policy.dnat[0].check.has_value());
}

TEST(HealthChecks, CheckFieldsOutOfShape) {
  EXPECT_EQ(diags(with(R"(checks:
  - { name: slow, type: tcp, interval: 1s, timeout: 2s }
  - { name: bad, type: tls, path: /x, rise: 11, fall: 0, interval: 5 }
  - { name: multi, type: tcp, service: nfs }
  - { name: tcpsvc, type: tcp, service: tcp/8080, host: foo }
  - { name: weird, type: icmp, path: "no slash", expect: 42, timeout: 10ms, host: "a b" }
  - { name: equal, type: http, interval: 1s, timeout: 1s }
)")),
            (Lines{"t.yaml:15:25: error: tcp check 'slow' needs a 'service'\n"
                   "  hint: name the TCP port it connects to, e.g. 'service: tcp/443' or a service with one TCP port",
                   "t.yaml:15:53: error: check 'slow' has a timeout (2000ms) not below its interval (1000ms)\n"
                   "  hint: a probe must end before the next one starts: lower 'timeout' or raise 'interval'",
                   "t.yaml:16:35: error: 'path' applies to http and https checks; check 'bad' is of type tls",
                   "t.yaml:16:45: error: 'rise' 11 is out of range (1-10)",
                   "t.yaml:16:55: error: 'fall' 0 is out of range (1-10)",
                   "t.yaml:16:68: error: invalid duration '5' for 'interval'\n"
                   "  hint: write it as N ms, s or m without a space, e.g. 500ms, 2s, 1m",
                   "t.yaml:17:40: error: check 'multi' probes 'nfs' (tcp/2049,udp/2049), but a check probes "
                   "exactly one TCP port\n"
                   "  hint: use a service with one TCP port, or a literal like tcp/443",
                   "t.yaml:18:57: error: 'host' (HTTP Host header, TLS server name) does not apply to tcp check "
                   "'tcpsvc'",
                   "t.yaml:19:26: error: unknown check type 'icmp'\n"
                   "  hint: use tcp, http, https or tls",
                   "t.yaml:19:38: error: invalid check path 'no slash'\n"
                   "  hint: a path starts with '/' and holds up to 256 printable characters, no spaces",
                   "t.yaml:19:58: error: invalid HTTP status '42'\n"
                   "  hint: expected statuses are 100-599",
                   "t.yaml:19:71: error: 'timeout' 10ms is out of range (50ms to 300s)",
                   "t.yaml:19:83: error: invalid check host name 'a b'\n"
                   "  hint: a DNS name (letters, digits, '-', '.') of at most 253 characters",
                   "t.yaml:20:55: error: check 'equal' has a timeout (1000ms) not below its interval (1000ms)\n"
                   "  hint: a probe must end before the next one starts: lower 'timeout' or raise 'interval'"}));
}

TEST(HealthChecks, HostChecksMustExistAndProbeAServiceTheHostHas) {
  auto text = with(R"(checks:
  - { name: lb-https, type: https }
)");
  text.replace(text.find("addresses: [10.1.0.11] }"), 24, "addresses: [10.1.0.11], checks: [lb-https, nope, lb-https] }");
  text.replace(text.find("addresses: [10.3.0.5] }"), 23, "addresses: [10.3.0.5], checks: [lb-https] }");
  EXPECT_EQ(diags(text),
            (Lines{"t.yaml:6:75: error: unknown check 'nope'",
                   "t.yaml:6:81: error: check 'lb-https' is listed twice for host 'lb1'",
                   "t.yaml:8:63: error: check 'lb-https' probes tcp/443 on host 'sql', but no rule or dnat sends "
                   "tcp/443 to it\n"
                   "  hint: check a service the host offers, or allow that service to it"}));
}

TEST(HealthChecks, DnatBackendsModesAndChecks) {
  EXPECT_EQ(diags(with(R"(checks:
  - { name: lb-https, type: https }
  - { name: tcpsvc, type: tcp, service: tcp/8080 }
nat:
  dnat:
    - { name: v1, vip: 198.51.100.1, service: https, to: [lb1, lb2], check: lb-https }
    - { name: v2, vip: 198.51.100.2, service: https, to: [lb1, lb1, 10.9.9.9, 10.1.0.13], mode: balance, check: nocheck }
    - { name: v3, vip: 198.51.100.3, service: https, to: [lb1, lb2] }
    - { name: v4, vip: 198.51.100.4, service: https, to: lb1, mode: balance }
    - { name: v5, vip: 198.51.100.5, service: https, to: [lb1, lb2], mode: roundrobin, check: tcpsvc }
    - { name: v6, vip: 198.51.100.6, service: https, to: lb1, check: lb-https }
    - { name: v7, vip: 198.51.100.7, service: https, to: [lb1, 2001:db8::1, sql, 10.1.0.x] }
)")),
            (Lines{"t.yaml:20:64: error: backend 'lb1' is named twice in dnat 'v2'",
                   "t.yaml:20:69: error: backend 10.9.9.9 of dnat 'v2' is outside every segment\n"
                   "  hint: a backend sits in one of the gateway's segments: give an address of a segment's subnet "
                   "or a host name",
                   "t.yaml:20:79: warning: dnat 'v2' sends tcp/443 to '10.1.0.13', but no rule allows internet to "
                   "reach it there\n"
                   "  hint: add a rule from internet to 10.1.0.13 for tcp/443",
                   "t.yaml:20:113: error: unknown check 'nocheck'",
                   "t.yaml:21:58: error: dnat 'v3' fails over between backends but has no 'check'\n"
                   "  hint: add 'check: <name>' naming an entry of 'checks:', or use 'mode: balance'",
                   "t.yaml:22:69: error: dnat 'v4' has mode 'balance' but one backend\n"
                   "  hint: name the backends in order: 'to: [first, second]'",
                   "t.yaml:23:76: error: unknown dnat mode 'roundrobin'\n"
                   "  hint: use failover or balance",
                   "t.yaml:23:95: error: check 'tcpsvc' probes tcp/8080 on backend 'lb1', but no rule or dnat sends "
                   "tcp/8080 to it\n"
                   "  hint: check a service the host offers, or allow that service to it",
                   "t.yaml:23:95: error: check 'tcpsvc' probes tcp/8080 on backend 'lb2', but no rule or dnat sends "
                   "tcp/8080 to it\n"
                   "  hint: check a service the host offers, or allow that service to it",
                   "t.yaml:24:70: warning: dnat 'v6' has a check but one backend: when it fails there is no other "
                   "backend, so the check changes nothing\n"
                   "  hint: name a standby backend: 'to: [lb1, b]'",
                   "t.yaml:25:58: error: dnat 'v7' fails over between backends but has no 'check'\n"
                   "  hint: add 'check: <name>' naming an entry of 'checks:', or use 'mode: balance'",
                   "t.yaml:25:64: error: backend 2001:db8::1 of dnat 'v7' is not of the VIP's address family",
                   "t.yaml:25:77: warning: dnat 'v7' sends tcp/443 to host 'sql', but no rule allows internet to "
                   "reach it there\n"
                   "  hint: add a rule from internet to sql for tcp/443",
                   "t.yaml:25:82: error: invalid backend address '10.1.0.x'\n"
                   "  hint: a backend is a host name or one address"}));
}

TEST(HealthChecks, TooManyBackends) {
  std::string to = "[";
  for (int i = 0; i < 33; ++i) to += (i ? ", 10.1.0." : "10.1.0.") + std::to_string(100 + i);
  to += "]";
  auto lines = diags(with("nat:\n  dnat:\n    - { name: v, vip: 198.51.100.1, service: https, to: " + to +
                          ", mode: balance }\n"));
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "t.yaml:16:57: error: dnat 'v' names 33 backends, at most 32 are allowed");
}

TEST(HealthChecks, CheckNamesAreTheirOwnNamespace) {
  EXPECT_EQ(diags(with(R"(checks:
  - { name: lb1, type: https }
  - { name: lb1, type: tls }
)")),
            (Lines{"t.yaml:16:13: error: duplicate name 'lb1': already used by the check at t.yaml:15:13"}));
}

TEST(HealthChecks, FormatterPutsTheNewKeysInCanonicalOrder) {
  const std::string in = R"(nat:
  dnat:
    - { check: lb, mode: failover, to: [lb1, lb2], service: https, vip: 198.51.100.1, name: vip }
checks:
  - { fall: 3, rise: 2, timeout: 300ms, interval: 500ms, path: /, type: http, name: lb }
hosts:
  - { checks: [lb], addresses: [10.1.0.11], segment: dmz, name: lb1 }
)";
  auto out = formatPolicyText(in, "t.yaml");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.text, R"(hosts:
  - { name: lb1, segment: dmz, addresses: [10.1.0.11], checks: [lb] }

checks:
  - { name: lb, type: http, path: /, interval: 500ms, timeout: 300ms, rise: 2, fall: 3 }

nat:
  dnat:
    - { name: vip, vip: 198.51.100.1, service: https, to: [lb1, lb2], mode: failover, check: lb }
)");
}

}  // namespace
}  // namespace bulwark::policies
