// Policy → charon config, reconcile planning against synthesized observations, applying a
// plan over a scripted transport, and list-sas → tunnel rows. All pure.
#include <gtest/gtest.h>

#include <algorithm>

#include "bulwark/policies/loader.h"
#include "bulwark/vpn/charon_config.h"
#include "bulwark/vpn/tunnels.h"
#include "vici_fake_transport.h"

namespace bulwark::vpn {
namespace {

using namespace bulwark::vpn::testing;

const char* kPem = "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n";

Credentials creds() {
  Credentials c;
  c.caCert = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";        // "CA"
  c.gatewayCert = "-----BEGIN CERTIFICATE-----\nR1c=\n-----END CERTIFICATE-----\n";   // "GW"
  c.gatewayKey = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";     // "KEY"
  return c;
}

policies::Policy campus() {
  auto r = policies::loadAndValidate(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  EXPECT_TRUE(r.ok());
  return r.policy;
}

const ConnSpec* conn(const CharonConfig& c, std::string_view name) {
  for (const auto& x : c.conns) {
    if (x.name == name) {
      return &x;
    }
  }
  return nullptr;
}

TEST(CharonConfig, OneConnectionAndPoolPerGroup) {
  auto r = charonConfigFromPolicy(campus(), creds());
  ASSERT_TRUE(r.ok()) << r.errors.front();
  ASSERT_EQ(r.config.conns.size(), 2u);
  ASSERT_EQ(r.config.pools.size(), 2u);
  const ConnSpec* netops = conn(r.config, "bulwark-admin-netops");
  ASSERT_NE(netops, nullptr);
  EXPECT_EQ(netops->remoteId, "CN=*, OU=netops");
  EXPECT_EQ(netops->localId, "vpn.campus.example.edu");
  EXPECT_EQ(r.config.pools[0].name, "bulwark-pool-netops");
  EXPECT_EQ(r.config.pools[0].vici.get("addrs"), "10.250.0.0/25");
  EXPECT_EQ(r.config.pools[1].vici.get("addrs"), "10.250.0.128/25");

  const Section& s = netops->vici;
  EXPECT_EQ(s.get("version"), "2");
  EXPECT_EQ(s.items("pools"), std::vector<std::string>{"bulwark-pool-netops"});
  EXPECT_EQ(s.items("proposals"), kDefaultIkeProposals);
  EXPECT_EQ(s.section("local")->get("auth"), "pubkey");
  EXPECT_EQ(s.section("local")->items("certs"), std::vector<std::string>{creds().gatewayCert});
  EXPECT_EQ(s.section("remote")->items("cacerts"), std::vector<std::string>{creds().caCert});
  EXPECT_EQ(s.section("remote")->get("id"), "CN=*, OU=netops");
  const Section* child = s.section("children")->section(netops->childName);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->items("esp_proposals"), kDefaultEspProposals);
  EXPECT_EQ(child->get("mode"), "tunnel");
  EXPECT_TRUE(encodeMessage(s));  // charon would accept its structure
}

TEST(CharonConfig, LocalTsAreTheDestinationsTheGroupMayReach) {
  auto r = charonConfigFromPolicy(campus(), creds());
  const ConnSpec* netops = conn(r.config, "bulwark-admin-netops");
  const ConnSpec* dba = conn(r.config, "bulwark-admin-dba");
  ASSERT_TRUE(netops && dba);
  // netops: mgmt (any service), dmz/app/db/storage (ssh); dmz = public (v4 + v6).
  EXPECT_EQ(netops->localTs, (std::vector<std::string>{"10.20.0.0/24", "10.30.0.0/24", "10.40.0.0/24",
                                                       "10.99.0.0/24", "203.0.113.0/27", "2001:db8:10::/64"}));
  // dba: db only — no management prefix in its tunnel at all.
  EXPECT_EQ(dba->localTs, std::vector<std::string>{"10.30.0.0/24"});
}

TEST(CharonConfig, PolicyProposalsOverrideDefaultsAndChangeTheDigest) {
  auto p = campus();
  auto base = charonConfigFromPolicy(p, creds());
  p.vpn->ikeProposals = {"aes128gcm16-prfsha256-x25519"};
  p.vpn->espProposals = {"aes128gcm16"};
  auto over = charonConfigFromPolicy(p, creds());
  const ConnSpec* a = conn(base.config, "bulwark-admin-dba");
  const ConnSpec* b = conn(over.config, "bulwark-admin-dba");
  EXPECT_EQ(b->vici.items("proposals"), std::vector<std::string>{"aes128gcm16-prfsha256-x25519"});
  EXPECT_NE(a->childName, b->childName);
  EXPECT_EQ(a->childName.rfind("dba-", 0), 0u);
  // Same input, same digest.
  EXPECT_EQ(a->childName, conn(charonConfigFromPolicy(campus(), creds()).config, "bulwark-admin-dba")->childName);
}

TEST(CharonConfig, MissingCredentialsAreErrors) {
  auto r = charonConfigFromPolicy(campus(), Credentials{});
  EXPECT_FALSE(r.ok());
}

TEST(CharonConfig, NoVpnSectionMeansNothingWanted) {
  policies::Policy p;
  auto r = charonConfigFromPolicy(p, creds());
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.config.conns.empty());
}

// What charon would report after the desired config was loaded (shapes as seen from 5.9.8).
Observed observedFrom(const CharonConfig& c) {
  Observed o;
  for (const auto& conn : c.conns) {
    o.viciConns.push_back(conn.name);
    Section body;
    body.addList("local_addrs", {"%any"});
    body.add("version", "IKEv2");
    body.addSection("local-1").add("id", conn.localId).add("class", "public key");
    body.addSection("remote-1").add("id", conn.remoteId).add("class", "public key");
    auto ts = conn.localTs;
    std::reverse(ts.begin(), ts.end());  // order does not matter
    body.addSection("children").addSection(conn.childName).add("mode", "TUNNEL").addList("local-ts", ts);
    o.listedConns.push_back({conn.name, body});
  }
  for (const auto& p : c.pools) {
    vici::PoolInfo info;
    info.name = p.name;
    info.base = p.addrs.address().str();
    info.size = (std::uint64_t{1} << (32 - p.addrs.length())) - 2;
    o.pools.push_back(info);
  }
  o.certs.push_back({"X509", "CA", false, pemToDer(c.creds.caCert)});
  o.certs.push_back({"X509", "NONE", true, pemToDer(c.creds.gatewayCert)});
  return o;
}

std::vector<std::string> describe(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& c : p.changes) {
    out.push_back(std::string(changeKindName(c.kind)) + " " + c.name);
  }
  return out;
}

TEST(Reconcile, FromNothingLoadsEverythingInOrder) {
  auto r = charonConfigFromPolicy(campus(), creds());
  Plan p = planReconcile(r.config, Observed{});
  EXPECT_EQ(describe(p), (std::vector<std::string>{
                             "load-cert (CA) ca", "load-cert gateway", "load-key gateway",
                             "load-pool bulwark-pool-netops", "load-pool bulwark-pool-dba",
                             "load-conn bulwark-admin-netops", "load-conn bulwark-admin-dba"}));
}

TEST(Reconcile, SecondApplyIsInSync) {
  auto r = charonConfigFromPolicy(campus(), creds());
  Plan p = planReconcile(r.config, observedFrom(r.config));
  EXPECT_TRUE(p.inSync()) << describe(p).front();
}

TEST(Reconcile, DetectsEachKindOfDrift) {
  auto r = charonConfigFromPolicy(campus(), creds());
  Observed o = observedFrom(r.config);
  o.pools[0].base = "10.251.0.0";                                     // pool moved
  o.listedConns[1].body = Section{};                                  // dba conn mangled
  o.viciConns.push_back("bulwark-admin-gone");                        // group removed
  o.pools.push_back({"bulwark-pool-gone", "10.1.0.0", 254, 0, 0, {}});
  o.viciConns.push_back("someone-else");                              // not ours: left alone
  o.pools.push_back({"other-pool", "10.2.0.0", 254, 0, 0, {}});
  o.certs[1].hasPrivateKey = false;                                   // key lost
  Plan p = planReconcile(r.config, o);
  EXPECT_EQ(describe(p), (std::vector<std::string>{"load-key gateway", "unload-conn bulwark-admin-gone",
                                                   "unload-pool bulwark-pool-gone", "load-pool bulwark-pool-netops",
                                                   "load-conn bulwark-admin-dba"}));
}

TEST(Reconcile, ChangedProposalsReloadViaTheDigest) {
  auto p = campus();
  auto before = charonConfigFromPolicy(p, creds());
  p.vpn->espProposals = {"aes128gcm16"};
  auto after = charonConfigFromPolicy(p, creds());
  Plan plan = planReconcile(after.config, observedFrom(before.config));
  EXPECT_EQ(describe(plan), (std::vector<std::string>{"load-conn bulwark-admin-netops", "load-conn bulwark-admin-dba"}));
  EXPECT_NE(plan.changes[0].reason.find("digest"), std::string::npos);
}

TEST(Reconcile, CrlIsLoadedWhenPresentAndNew) {
  auto c = creds();
  c.crl = "-----BEGIN X509 CRL-----\nQ1JM\n-----END X509 CRL-----\n";
  auto r = charonConfigFromPolicy(campus(), c);
  Observed o = observedFrom(r.config);
  EXPECT_EQ(describe(planReconcile(r.config, o)), std::vector<std::string>{"load-cert (CRL) crl"});
  o.certs.push_back({"X509_CRL", "NONE", false, "CRL"});
  EXPECT_TRUE(planReconcile(r.config, o).inSync());
}

TEST(Reconcile, NoVpnUnloadsOnlyOwnedObjects) {
  auto r = charonConfigFromPolicy(campus(), creds());
  Observed o = observedFrom(r.config);
  o.viciConns.push_back("site-to-site");
  Plan p = planReconcile(CharonConfig{}, o);
  EXPECT_EQ(describe(p), (std::vector<std::string>{"unload-conn bulwark-admin-netops", "unload-conn bulwark-admin-dba",
                                                   "unload-pool bulwark-pool-netops", "unload-pool bulwark-pool-dba"}));
}

TEST(Reconcile, ApplyKeepsGoingAfterACommandErrorAndStopsOnTransport) {
  auto r = charonConfigFromPolicy(campus(), creds());
  Plan p = planReconcile(r.config, observedFrom(r.config));
  p.changes = {{ChangeKind::LoadPool, "bulwark-pool-netops", ""},
               {ChangeKind::LoadConn, "bulwark-admin-netops", ""},
               {ChangeKind::LoadConn, "bulwark-admin-dba", ""}};
  std::vector<Packet> sent;
  std::deque<Packet> replies{response(failure("pool in use")), response(success())};  // then EOF
  auto t = std::make_unique<FakeTransport>();
  t->sentLog = &sent;
  t->replies = &replies;
  ViciClient client(std::move(t));
  ApplyResult a = applyPlan(client, r.config, p);
  EXPECT_EQ(a.applied, 1u);
  ASSERT_EQ(a.errors.size(), 2u);
  EXPECT_EQ(a.errors[0].kind, ViciErrorKind::Command);
  EXPECT_NE(a.errors[0].message.find("pool in use"), std::string::npos);
  EXPECT_EQ(a.errors[1].kind, ViciErrorKind::Transport);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1].name, "load-conn");
  EXPECT_NE(sent[1].message.section("bulwark-admin-netops"), nullptr);
}

TEST(Pem, ToDer) {
  EXPECT_EQ(pemToDer(kPem), std::string("\x00\x01\x02\x03\x04", 5));
  EXPECT_EQ(pemToDer("garbage"), "");
  EXPECT_EQ(pemToDer("-----BEGIN X-----\n!!!\n-----END X-----\n"), "");
}

TEST(Tunnels, FromListSas) {
  Section sa;
  sa.add("uniqueid", "7").add("state", "ESTABLISHED").add("remote-host", "192.0.2.2");
  sa.add("remote-id", "CN=alice, OU=netops").add("established", "60");
  sa.addList("remote-vips", {"10.250.0.1"});
  Section& kids = sa.addSection("child-sas");
  kids.addSection("netops-abc-1").add("bytes-in", "100").add("bytes-out", "200").add("packets-in", "1");
  kids.addSection("netops-abc-2").add("bytes-in", "5").add("bytes-out", "6");
  Section other;
  other.add("uniqueid", "8").add("remote-id", "site-b");
  auto t = tunnelsFromSas({{"bulwark-admin-netops", sa}, {"site-to-site", other}}, 1000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].user, "alice");
  EXPECT_EQ(t[0].group, "netops");
  EXPECT_EQ(t[0].virtualIp, "10.250.0.1");
  EXPECT_EQ(t[0].outerAddress, "192.0.2.2");
  EXPECT_EQ(t[0].upSince, 940);
  EXPECT_EQ(t[0].bytesIn, 105u);
  EXPECT_EQ(t[0].bytesOut, 206u);
  EXPECT_EQ(t[0].ikeId, "7");
}

TEST(Tunnels, UserFromIdentity) {
  EXPECT_EQ(userFromIdentity("CN=alice, OU=netops"), "alice");
  EXPECT_EQ(userFromIdentity("OU=netops, CN=bob"), "bob");
  EXPECT_EQ(userFromIdentity("carol@example.org"), "carol@example.org");
}

}  // namespace
}  // namespace bulwark::vpn
