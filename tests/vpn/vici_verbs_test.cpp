// The verbs whose reply is nothing but `success` and `errmsg` (load-*, unload-*, flush-certs,
// initiate, terminate), over a scripted transport: the request each sends, how long the
// client waits for the reply, and how a refusal names the verb.
#include <gtest/gtest.h>

#include <functional>

#include "bulwark/vpn/vici_client.h"
#include "bulwark/vpn/vici_commands.h"
#include "vici_fake_transport.h"

namespace bulwark::vpn {
namespace {

using namespace bulwark::vpn::testing;

struct SuccessVerb {
  std::function<ViciStatus(ViciClient&)> run;
  const char* command;
  const char* request;  // Section::str() of what is sent
  int waitMs;           // the client's wait for the reply (30000: ClientOptions)
  const char* refusal;  // the Command error when charon answers errmsg "refused"
};

Section oneValue(const char* name, const char* value) {
  Section s;
  s.add(name, value);
  return s;
}

std::vector<SuccessVerb> successVerbs() {
  return {
      {[](ViciClient& c) { return vici::loadConn(c, "c1", oneValue("version", "2")); }, "load-conn",
       "c1 {\n  version = 2\n}\n", 30000, "load-conn c1 failed: refused"},
      {[](ViciClient& c) { return vici::loadPool(c, "p1", oneValue("addrs", "10.9.0.0/24")); }, "load-pool",
       "p1 {\n  addrs = 10.9.0.0/24\n}\n", 30000, "load-pool p1 failed: refused"},
      {[](ViciClient& c) { return vici::unloadConn(c, "c1"); }, "unload-conn", "name = c1\n", 30000,
       "unload-conn c1 failed: refused"},
      {[](ViciClient& c) { return vici::unloadPool(c, "p1"); }, "unload-pool", "name = p1\n", 30000,
       "unload-pool p1 failed: refused"},
      {[](ViciClient& c) { return vici::loadCert(c, vici::CertType::X509, vici::CertFlag::Ca, "PEM"); }, "load-cert",
       "type = X509\nflag = CA\ndata = PEM\n", 30000, "load-cert failed: refused"},
      {[](ViciClient& c) { return vici::loadCert(c, vici::CertType::X509Crl, vici::CertFlag::None, "DER"); },
       "load-cert", "type = X509_CRL\nflag = NONE\ndata = DER\n", 30000, "load-cert (CRL) failed: refused"},
      {[](ViciClient& c) { return vici::loadKey(c, "ecdsa", "PEM"); }, "load-key", "type = ecdsa\ndata = PEM\n", 30000,
       "load-key failed: refused"},
      {[](ViciClient& c) { return vici::flushCerts(c, "X509_CRL"); }, "flush-certs", "type = X509_CRL\n", 30000,
       "flush-certs failed: refused"},
      {[](ViciClient& c) { return vici::flushCerts(c); }, "flush-certs", "", 30000, "flush-certs failed: refused"},
      {[](ViciClient& c) {
         return vici::initiate(c, vici::InitiateRequest{"child1", "ike1", 15000});
       },
       "initiate", "child = child1\nike = ike1\ntimeout = 15000\nloglevel = -1\n", 20000,
       "initiate child1 failed: refused"},
      {[](ViciClient& c) {
         return vici::initiate(c, vici::InitiateRequest{"child1", "", 0});
       },
       "initiate", "child = child1\ntimeout = 0\nloglevel = -1\n", 30000, "initiate child1 failed: refused"},
      {[](ViciClient& c) {
         return vici::terminate(c, vici::TerminateRequest{"ike1", "7", "", "", 10000});
       },
       "terminate", "ike = ike1\nike-id = 7\ntimeout = 10000\nloglevel = -1\n", 15000, "terminate failed: refused"},
      {[](ViciClient& c) {
         return vici::terminate(c, vici::TerminateRequest{"", "", "child1", "3", -1});
       },
       "terminate", "child = child1\nchild-id = 3\ntimeout = -1\nloglevel = -1\n", 30000, "terminate failed: refused"},
  };
}

TEST(ViciVerbs, SuccessVerbsSendTheirRequestAndNameThemselvesWhenRefused) {
  for (const auto& verb : successVerbs()) {
    SCOPED_TRACE(std::string(verb.command) + ": " + verb.request);
    std::vector<Packet> sent;
    std::deque<Packet> replies{response(success()), response(failure("refused"))};
    std::vector<int> waits;
    auto t = std::make_unique<FakeTransport>();
    t->sentLog = &sent;
    t->replies = &replies;
    t->waits = &waits;
    ViciClient client(std::move(t));

    ASSERT_TRUE(verb.run(client));
    auto refused = verb.run(client);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ViciErrorKind::Command);
    EXPECT_EQ(refused.error().message, verb.refusal);

    ASSERT_EQ(sent.size(), 2u);
    for (const auto& p : sent) {
      EXPECT_EQ(p.type, PacketType::CmdRequest);
      EXPECT_EQ(p.name, verb.command);
      EXPECT_EQ(p.message.str(), verb.request);
    }
    EXPECT_EQ(waits, (std::vector<int>{verb.waitMs, verb.waitMs}));
  }
}

}  // namespace
}  // namespace bulwark::vpn
