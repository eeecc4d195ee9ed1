// Revocation's decision (gateway/engine/revocation.h) over the evaluator with synthetic
// conntrack entries: which live flows a change cuts, IPv4 and IPv6, forwarded, DNATed and
// to the gateway itself. No kernel here (tests/gateway/revocation_netns.py has real ones).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>

#include "bulwark/firewall/compiler.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"
#include "revocation.h"

namespace bulwark::engine {
namespace {

using Verdict = RevocationJudge::Verdict;

struct Compiled {
  policies::Policy policy;
  firewall::Ruleset ruleset;
};

std::string campusText() {
  std::ifstream in(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// campus.yaml with `from` replaced by `to` (which must occur).
std::string campusWith(const std::string& from, const std::string& to) {
  auto text = campusText();
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

Compiled compiled(const std::string& text) {
  auto loaded = policies::loadPolicyText(text, "campus.yaml");
  policies::validatePolicy(loaded.policy, loaded.diagnostics);
  EXPECT_FALSE(loaded.diagnostics.hasErrors());
  for (const auto& d : loaded.diagnostics.items()) {
    if (d.severity == policies::Severity::Error) ADD_FAILURE() << d.str();
  }
  auto c = firewall::compile(loaded.policy);
  return {std::move(loaded.policy), std::move(c.ruleset)};
}

void put(const std::string& text, std::uint8_t& family, std::array<std::uint8_t, 16>& out) {
  auto a = *policies::IpAddress::parse(text);
  family = a.isV4() ? AF_INET : AF_INET6;
  out = a.bytes();
}

// An entry as ctnetlink gives it; `backend`/`backendPort`: the reply tuple's source when DNATed.
conntrack::Entry entry(std::uint8_t proto, const std::string& src, std::uint16_t sport, const std::string& dst,
                       std::uint16_t dport, const std::string& backend = "", std::uint16_t backendPort = 0) {
  conntrack::Entry e;
  e.proto = proto;
  put(src, e.family, e.orig.src);
  put(dst, e.family, e.orig.dst);
  e.orig.sport = sport;
  e.orig.dport = dport;
  e.reply.src = e.orig.dst;
  e.reply.dst = e.orig.src;
  e.reply.sport = dport;
  e.reply.dport = sport;
  if (!backend.empty()) {
    put(backend, e.family, e.reply.src);
    e.reply.sport = backendPort;
  }
  return e;
}

constexpr std::uint8_t kTcp = IPPROTO_TCP;
constexpr std::uint8_t kUdp = IPPROTO_UDP;

struct Fixture {
  Compiled before, after;
  FlowContext context;
  Fixture(const std::string& beforeText, const std::string& afterText)
      : before(compiled(beforeText)), after(compiled(afterText)), context(flowContextOf(after.policy)) {}
  Verdict judge(const conntrack::Entry& e, std::vector<KeptFlow> kept = {}) {
    RevocationJudge j(before.ruleset, after.ruleset, context, std::move(kept));
    return j.judge(e);
  }
};

TEST(Revocation, AnUnchangedPolicyCutsNothing) {
  Fixture f(campusText(), campusText());
  for (const auto& e : {entry(kTcp, "10.99.0.11", 40000, "10.20.0.11", 22),
                        entry(kTcp, "198.51.100.7", 40001, "203.0.113.10", 443, "203.0.113.11", 443),
                        entry(kTcp, "2001:db8:ffff::7", 40002, "2001:db8:10::11", 443),
                        entry(kTcp, "10.250.0.5", 40003, "10.99.0.1", 22),
                        entry(kUdp, "198.51.100.7", 4500, "10.99.0.1", 4500)}) {
    EXPECT_EQ(f.judge(e), Verdict::Keep) << e.text();
  }
}

TEST(Revocation, AForwardedFlowTheNewPolicyRefusesIsCutOthersKept) {
  // mgmt-ops loses ssh: the bastion's SSH session to web1 goes, the monitoring agents stay.
  Fixture f(campusText(), campusWith("    services: [ssh, agents]\n    action: allow\n\n  # Servers",
                                     "    services: [agents]\n    action: allow\n\n  # Servers"));
  EXPECT_EQ(f.judge(entry(kTcp, "10.99.0.11", 40000, "10.20.0.11", 22)), Verdict::Cut);
  EXPECT_EQ(f.judge(entry(kTcp, "10.99.0.10", 40001, "10.20.0.11", 9100)), Verdict::Keep);
  // Another source's flow that the change does not touch.
  EXPECT_EQ(f.judge(entry(kTcp, "10.20.0.11", 40002, "10.30.0.11", 3306)), Verdict::Keep);
}

TEST(Revocation, ADnatedFlowIsJudgedForTheBackendItIsBoundTo) {
  // public-web to lb1 only: students bound to lb2 through the VIP lose it, lb1's keep it.
  Fixture f(campusText(), campusWith("    to: [lb1, lb2]\n    services: [http, https, rtmp]",
                                     "    to: [lb1]\n    services: [http, https, rtmp]"));
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.7", 40000, "203.0.113.10", 443, "203.0.113.12", 443)), Verdict::Cut);
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.7", 40001, "203.0.113.10", 443, "203.0.113.11", 443)), Verdict::Keep);
  // Straight to lb2 (no DNAT) is refused too; to lb1 kept.
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.8", 40002, "203.0.113.12", 80)), Verdict::Cut);
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.8", 40003, "203.0.113.11", 80)), Verdict::Keep);
}

TEST(Revocation, RemovingAVipsDnatCutsItsFlows) {
  Fixture f(campusText(), campusWith("    - { name: vip-rtmp, vip: 203.0.113.10, service: rtmp, to: [lb1, lb2], "
                                     "check: lb-https }\n",
                                     ""));
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.7", 40000, "203.0.113.10", 1935, "203.0.113.11", 1935)), Verdict::Cut);
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.7", 40001, "203.0.113.10", 443, "203.0.113.11", 443)), Verdict::Keep);
}

TEST(Revocation, IPv6FlowsAreJudgedToo) {
  Fixture f(campusText(), campusWith("    services: [http, https, rtmp]\n    action: allow\n    limit",
                                     "    services: [http, rtmp]\n    action: allow\n    limit"));
  EXPECT_EQ(f.judge(entry(kTcp, "2001:db8:ffff::7", 40000, "2001:db8:10::11", 443)), Verdict::Cut);
  EXPECT_EQ(f.judge(entry(kTcp, "2001:db8:ffff::7", 40001, "2001:db8:10::11", 80)), Verdict::Keep);
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.7", 40002, "203.0.113.10", 443, "203.0.113.11", 443)), Verdict::Cut);
}

TEST(Revocation, GatewayFlowsAreCutOnlyWhenTheInputRulesNowRefuseThem) {
  // A forwarding change leaves the gateway's own sessions alone.
  Fixture forward(campusText(), campusWith("    services: [ssh, agents]\n    action: allow\n\n  # Servers",
                                           "    services: [agents]\n    action: allow\n\n  # Servers"));
  EXPECT_EQ(forward.judge(entry(kTcp, "10.250.0.5", 40000, "10.99.0.1", 22)), Verdict::Keep);
  EXPECT_EQ(forward.judge(entry(kUdp, "198.51.100.7", 4500, "10.99.0.1", 4500)), Verdict::Keep);
  // The netops pool moves: its SSH sessions to the gateway are no longer admitted.
  Fixture input(campusText(), campusWith("pool: 10.250.0.0/25", "pool: 10.251.0.0/25"));
  EXPECT_EQ(input.judge(entry(kTcp, "10.250.0.5", 40000, "10.99.0.1", 22)), Verdict::Cut);
  // ... except the session the change came through ($SSH_CONNECTION, the TLS peer).
  auto self = keptFlowFromText("10.250.0.5 40000 10.99.0.1 22");
  ASSERT_TRUE(self);
  EXPECT_EQ(input.judge(entry(kTcp, "10.250.0.5", 40000, "10.99.0.1", 22), {*self}), Verdict::Spared);
  EXPECT_EQ(input.judge(entry(kTcp, "10.250.0.6", 40000, "10.99.0.1", 22), {*self}), Verdict::Cut);
  // IKE is still admitted.
  EXPECT_EQ(input.judge(entry(kUdp, "198.51.100.7", 4500, "10.99.0.1", 4500)), Verdict::Keep);
}

TEST(Revocation, RemovingTheVpnCutsIke) {
  auto text = campusText();
  auto at = text.find("vpn:\n");
  auto end = text.find("# Policy tests");
  ASSERT_NE(at, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  auto noVpn = text.substr(0, at) + text.substr(end, text.find("  # admin VPN") - end);
  Fixture f(text, noVpn);
  EXPECT_EQ(f.judge(entry(kUdp, "198.51.100.7", 4500, "10.99.0.1", 4500)), Verdict::Cut);
}

TEST(Revocation, FlowsTheOldPolicyDidNotAllowOrTheGatewayOpenedAreNeverCut) {
  Fixture f(campusText(), campusWith("    services: [ssh, agents]\n    action: allow\n\n  # Servers",
                                     "    services: [agents]\n    action: allow\n\n  # Servers"));
  // internet → mysql1 was never allowed (something else let it in): not Bulwark's to cut.
  EXPECT_EQ(f.judge(entry(kTcp, "198.51.100.7", 40000, "10.30.0.11", 3306)), Verdict::Keep);
  // The gateway's own connection (a health probe from its segment address) is not judged.
  EXPECT_EQ(f.judge(entry(kTcp, "10.20.0.1", 40001, "10.20.0.11", 22)), Verdict::NotJudged);
  EXPECT_EQ(f.judge(entry(kTcp, "127.0.0.1", 40002, "127.0.0.1", 9469)), Verdict::NotJudged);
}

TEST(Revocation, ManyFlowsOfOneSourceAreOneJudgement) {
  Fixture f(campusText(), campusWith("    to: [lb1, lb2]\n    services: [http, https, rtmp]",
                                     "    to: [lb1]\n    services: [http, https, rtmp]"));
  RevocationJudge j(f.before.ruleset, f.after.ruleset, f.context);
  std::size_t cut = 0;
  for (std::uint16_t p = 1024; p < 3024; ++p) {
    cut += j.judge(entry(kTcp, "198.51.100.7", p, "203.0.113.10", 443, p % 2 ? "203.0.113.12" : "203.0.113.11", 443)) ==
           Verdict::Cut;
  }
  EXPECT_EQ(cut, 1000u);
}

TEST(Revocation, KeptFlowTextIsStrict) {
  EXPECT_TRUE(keptFlowFromText("2001:db8::1 51000 2001:db8::2 22"));
  EXPECT_FALSE(keptFlowFromText(""));
  EXPECT_FALSE(keptFlowFromText("10.0.0.1 0 10.0.0.2 22"));
  EXPECT_FALSE(keptFlowFromText("10.0.0.1 70000 10.0.0.2 22"));
  EXPECT_FALSE(keptFlowFromText("10.0.0.1 1 2001:db8::2 22"));
  EXPECT_FALSE(keptFlowFromText("10.0.0.1 1 10.0.0.2 22 extra"));
  EXPECT_FALSE(keptFlowFromText("10.0.0.1 1x 10.0.0.2 22"));
}

TEST(Revocation, EntryTextNamesTheBackend) {
  EXPECT_EQ(entry(kTcp, "198.51.100.7", 40000, "203.0.113.10", 443, "203.0.113.12", 443).text(),
            "tcp 198.51.100.7:40000 -> 203.0.113.10:443 (DNAT to 203.0.113.12:443)");
  EXPECT_EQ(entry(kTcp, "2001:db8::1", 1, "2001:db8::2", 22).text(), "tcp [2001:db8::1]:1 -> [2001:db8::2]:22");
}

}  // namespace
}  // namespace bulwark::engine
