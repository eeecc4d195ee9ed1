// The remote control API's pure parts and its certificate handling, with certificates from
// the project's own PKI (pki, as `bulwarkctl pki` makes them): certificate → identity →
// role, the request dispatch (the view role cannot change), the policy's gateway.control,
// and the server context's reload when the CRL changes (fail closed on a broken one).
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/render.h"
#include "bulwark/policies/loader.h"
#include "bulwark/pki/pki.h"
#include "tls_context.h"
#include "tls_listener.h"
#include "bulwark/base/unique_fd.h"

namespace bulwark::daemon {
namespace {

namespace fs = std::filesystem;
namespace pki = pki;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("bulwark-tls-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
std::unique_ptr<X509, X509Free> readCert(const fs::path& p) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(p.c_str(), "r"), &std::fclose);
  if (!f) return {nullptr};
  return std::unique_ptr<X509, X509Free>(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
}

// One CA with a gateway certificate and admins alice (netops) and bob (auditors).
class TlsPki : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki::init(dir(), "Bulwark Test CA").ok());
    ASSERT_TRUE(pki::issueGateway(dir(), "gw.test").ok());
    pki::IssueOptions o;
    o.password = "test-password";
    auto a = pki::issue(dir(), "alice", "netops", o);
    ASSERT_TRUE(a.ok()) << a.error().str();
    alice_ = *a;
    auto b = pki::issue(dir(), "bob", "auditors", o);
    ASSERT_TRUE(b.ok()) << b.error().str();
    bob_ = *b;
  }
  [[nodiscard]] fs::path dir() const { return tmp_.path() / "pki"; }
  TempDir tmp_;
  pki::IssuedCert alice_, bob_;
};

// A TLS connection made in-process over a socketpair: the server side as the listener has it
// after SSL_accept, the client presenting `cert`'s certificate and key.
struct Connection {
  UniqueFd serverFd, clientFd;
  SslCtxPtr clientCtx;
  SslPtr server, client;
};
std::unique_ptr<Connection> handshake(SSL_CTX* serverCtx, const pki::IssuedCert& cert) {
  auto c = std::make_unique<Connection>();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return nullptr;
  c->serverFd = UniqueFd(fds[0]);
  c->clientFd = UniqueFd(fds[1]);
  c->clientCtx.reset(SSL_CTX_new(TLS_client_method()));
  if (!c->clientCtx || SSL_CTX_use_certificate_file(c->clientCtx.get(), cert.certPath.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(c->clientCtx.get(), cert.keyPath.c_str(), SSL_FILETYPE_PEM) != 1) {
    return nullptr;
  }
  c->server.reset(SSL_new(serverCtx));
  c->client.reset(SSL_new(c->clientCtx.get()));
  if (!c->server || !c->client) return nullptr;
  SSL_set_fd(c->server.get(), c->serverFd.get());
  SSL_set_fd(c->client.get(), c->clientFd.get());
  bool serverDone = false, clientDone = false;
  for (int i = 0; i < 100 && !(serverDone && clientDone); ++i) {  // non-blocking: take turns
    if (!clientDone) clientDone = SSL_connect(c->client.get()) == 1;
    if (!serverDone) serverDone = SSL_accept(c->server.get()) == 1;
  }
  if (!serverDone || !clientDone) return nullptr;
  return c;
}

CertRoles roles() { return CertRoles{{"netops"}, {"auditors"}, ""}; }

TEST(CertRole, GroupInChangeOrViewGivesTheRoleOtherwiseNone) {
  EXPECT_EQ(roleForCertificate(CertIdentity{"alice", "netops", "01"}, roles()), gateway::Role::Change);
  EXPECT_EQ(roleForCertificate(CertIdentity{"bob", "auditors", "02"}, roles()), gateway::Role::View);
  EXPECT_EQ(roleForCertificate(CertIdentity{"dave", "dba", "03"}, roles()), gateway::Role::None);
  EXPECT_EQ(roleForCertificate(CertIdentity{"eve", "", "04"}, roles()), gateway::Role::None);
  EXPECT_EQ(roleForCertificate(std::nullopt, roles()), gateway::Role::None);
  // Case matters, as in the certificate and the policy.
  EXPECT_EQ(roleForCertificate(CertIdentity{"alice", "NetOps", "01"}, roles()), gateway::Role::None);
  // No control section: nobody.
  EXPECT_EQ(roleForCertificate(CertIdentity{"alice", "netops", "01"}, CertRoles{}), gateway::Role::None);
}

TEST_F(TlsPki, IdentityIsTheAdminCertificatesCnAndOu) {
  auto cert = readCert(alice_.certPath);
  ASSERT_TRUE(cert);
  auto id = certIdentity(cert.get());
  ASSERT_TRUE(id);
  EXPECT_EQ(id->cn, "alice");
  EXPECT_EQ(id->group, "netops");
  EXPECT_EQ(id->serial, alice_.serial);
  EXPECT_EQ(roleForCertificate(id, roles()), gateway::Role::Change);
  // The gateway's own certificate (CN only) names nobody.
  auto gw = readCert(pki::gatewayCertPath(dir()));
  ASSERT_TRUE(gw);
  EXPECT_FALSE(certIdentity(gw.get()).has_value());
  EXPECT_FALSE(certIdentity(nullptr).has_value());
}

TEST_F(TlsPki, ContextIsTls13OnlyAndRequiresAClientCertificate) {
  auto ctx = makeServerContext(tlsFilesOfPki(dir()));
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx->get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->get()) & (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
            SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_EQ(SSL_CTX_get_num_tickets(ctx->get()), 0u);
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(SSL_CTX_get_cert_store(ctx->get()));
  EXPECT_NE(X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_CRL_CHECK, 0ul);
}

TEST_F(TlsPki, ContextReloadsWhenTheCrlChangesAndFailsClosed) {
  TlsContextSource src(tlsFilesOfPki(dir()));
  auto first = src.current();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(src.loads(), 1u);
  ASSERT_TRUE(src.current());
  EXPECT_EQ(src.loads(), 1u);  // nothing changed: the same context
  ASSERT_TRUE(pki::revoke(dir(), "alice").ok());
  ASSERT_TRUE(src.current());
  EXPECT_EQ(src.loads(), 2u);  // the new CRL
  // A CRL that does not parse: no context at all (not the old one, which lacks revocations).
  { std::ofstream(pki::crlPath(dir()), std::ios::trunc) << "not a CRL, longer than before\n"; }
  auto broken = src.current();
  EXPECT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("crl.pem"), std::string::npos) << broken.error().message;
  EXPECT_FALSE(src.current());  // still refused, without re-reading
  EXPECT_EQ(src.loads(), 3u);
  ASSERT_TRUE(pki::renewCrl(dir()).ok());
  EXPECT_TRUE(src.current());
  EXPECT_EQ(src.loads(), 4u);
}

// What the listener does with its open connections after a PKI reload (tls_listener.h).
TEST_F(TlsPki, OpenConnectionsAreVerifiedAgainstTheNewCrlAndCa) {
  auto before = makeServerContext(tlsFilesOfPki(dir()));
  ASSERT_TRUE(before) << before.error().message;
  auto alice = handshake(before->get(), alice_);
  auto bob = handshake(before->get(), bob_);
  ASSERT_TRUE(alice && bob);
  EXPECT_TRUE(verifyPeerAgain(before->get(), alice->server.get()));

  ASSERT_TRUE(pki::revoke(dir(), "alice").ok());
  auto after = makeServerContext(tlsFilesOfPki(dir()));
  ASSERT_TRUE(after) << after.error().message;
  auto revoked = verifyPeerAgain(after->get(), alice->server.get());
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().message, "certificate revoked");
  EXPECT_TRUE(verifyPeerAgain(after->get(), bob->server.get()));  // the others stay

  // Another CA (the same name): nobody's certificate chains to it.
  const auto other = tmp_.path() / "other-pki";
  ASSERT_TRUE(pki::init(other, "Bulwark Test CA").ok());
  ASSERT_TRUE(pki::issueGateway(other, "gw.test").ok());
  auto foreign = makeServerContext(tlsFilesOfPki(other));
  ASSERT_TRUE(foreign) << foreign.error().message;
  auto unchained = verifyPeerAgain(foreign->get(), bob->server.get());
  ASSERT_FALSE(unchained);
  EXPECT_NE(unchained.error().message.find("local issuer"), std::string::npos) << unchained.error().message;

  // The client side's peer is the gateway: its serverAuth certificate is no client certificate.
  auto gateway = verifyPeerAgain(after->get(), alice->client.get());
  ASSERT_FALSE(gateway);
  EXPECT_NE(gateway.error().message.find("purpose"), std::string::npos) << gateway.error().message;
}

// Time ends a connection too, with no file changing: the listener verifies the open
// connections again as time passes; as of a later time an admin certificate has expired, and
// the CRL is past its nextUpdate (7 days) long before that.
TEST_F(TlsPki, OpenConnectionsFailOnceTheCrlOrTheCertificateExpires) {
  auto ctx = makeServerContext(tlsFilesOfPki(dir()));
  ASSERT_TRUE(ctx) << ctx.error().message;
  auto alice = handshake(ctx->get(), alice_);
  ASSERT_TRUE(alice);
  const std::time_t now = std::time(nullptr);
  auto next = crlNextUpdate(tlsFilesOfPki(dir()));
  ASSERT_TRUE(next);
  EXPECT_NEAR(static_cast<double>(*next - now), pki::kCrlValidityDays * 86400.0, 120.0);
  EXPECT_TRUE(verifyPeerAgain(ctx->get(), alice->server.get(), *next - 60));
  auto crlOver = verifyPeerAgain(ctx->get(), alice->server.get(), *next + 60);
  ASSERT_FALSE(crlOver);
  EXPECT_EQ(crlOver.error().message, "CRL has expired");
  // Renewed CRLs all along (the CRL check off here): then the certificate's own 365 days end it.
  X509_VERIFY_PARAM_clear_flags(X509_STORE_get0_param(SSL_CTX_get_cert_store(ctx->get())), X509_V_FLAG_CRL_CHECK);
  const std::time_t later = now + (pki::kAdminValidityDays + 1) * 86400L;
  EXPECT_TRUE(verifyPeerAgain(ctx->get(), alice->server.get(), now + 300L * 86400L));
  auto certOver = verifyPeerAgain(ctx->get(), alice->server.get(), later);
  ASSERT_FALSE(certOver);
  EXPECT_EQ(certOver.error().message, "certificate has expired");
  EXPECT_FALSE(crlNextUpdate(TlsFiles{{}, {}, {}, tmp_.path() / "missing.pem"}));
}

// The CRL's end: nothing while it is more than a day away, a warning in its last day, then
// "expired"; the audit gate records each state of one CRL once, and a renewed CRL afresh.
TEST(TlsCrl, NoticeAheadOfTheEndAndOneAuditEntryPerState) {
  const std::time_t next = 1'900'000'000;
  EXPECT_FALSE(crlNoticeAt(next, next - 25 * 3600));
  auto soon = crlNoticeAt(next, next - 3600);
  ASSERT_TRUE(soon);
  EXPECT_FALSE(soon->expired);
  EXPECT_EQ(soon->nextUpdate, next);
  EXPECT_NE(soon->text.find("the CRL expires at 2030-03-17 17:46:40 UTC (in 60 min)"), std::string::npos) << soon->text;
  auto over = crlNoticeAt(next, next + 60);
  ASSERT_TRUE(over);
  EXPECT_TRUE(over->expired);
  EXPECT_NE(over->text.find("every TLS client is refused"), std::string::npos) << over->text;

  CrlAuditGate gate;
  EXPECT_TRUE(gate.news(*soon));
  EXPECT_FALSE(gate.news(*soon));                      // the next minute's check, or the other listener
  EXPECT_FALSE(gate.news(*crlNoticeAt(next, next - 60)));  // still the same warning
  EXPECT_TRUE(gate.news(*over));
  EXPECT_FALSE(gate.news(*over));
  auto renewed = crlNoticeAt(next + 30 * 86400, next + 29 * 86400 + 3600);
  ASSERT_TRUE(renewed);
  EXPECT_TRUE(gate.news(*renewed));
}

TEST(TlsConfig, FromThePolicysGatewayControl) {
  auto r = policies::loadPolicyText(R"(gateway:
  uplink: eth0
  control: { listen: 10.99.0.1, change: [netops, ops2], view: auditors }
segments:
  - { name: mgmt, interface: eth1, ipv4: { subnet: 10.99.0.0/24, gateway: 10.99.0.1 } }
)");
  ASSERT_TRUE(r.ok());
  auto cfg = tlsConfigOf(r.policy);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->address, "10.99.0.1");
  EXPECT_EQ(cfg->port, 9443);
  EXPECT_EQ(cfg->roles.change, (std::set<std::string>{"netops", "ops2"}));
  EXPECT_EQ(cfg->roles.view, (std::set<std::string>{"auditors"}));
  auto none = policies::loadPolicyText("gateway: { uplink: eth0 }\n");
  EXPECT_FALSE(tlsConfigOf(none.policy).has_value());
}

// The firewall opens the control port on its one address, from the segment that holds it
// and from the admin VPN's pools through the tunnel only.
TEST(TlsConfig, FirewallAdmitsTheManagementSegmentAndTheVpnOnly) {
  auto r = policies::loadPolicyText(R"(gateway:
  uplink: eth0
  control: { listen: 10.99.0.1, port: 9443, change: netops }
segments:
  - { name: mgmt, interface: eth1, ipv4: { subnet: 10.99.0.0/24, gateway: 10.99.0.1 } }
  - { name: app, interface: eth2, ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 } }
vpn:
  ca: Test CA
  local_id: gw.test
  groups:
    - { name: netops, pool: 10.250.0.0/25, access: [{ to: mgmt, services: [any] }] }
)", "c.yaml");
  ASSERT_TRUE(r.ok());
  auto compiled = firewall::compile(r.policy);
  std::vector<std::string> lines;
  for (const auto& c : compiled.ruleset.chains) {
    if (c.name != "input") continue;
    for (const auto& rule : c.rules) {
      auto text = firewall::renderRule(rule);
      if (text.find("9443") != std::string::npos) lines.push_back(text);
    }
  }
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);
  EXPECT_NE(lines[0].find("iifname \"eth1\" meta nfproto ipv4 ip saddr 10.99.0.0/24 ip daddr 10.99.0.1"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("ip saddr 10.250.0.0/25 meta ipsec exists ip daddr 10.99.0.1"), std::string::npos)
      << lines[1];
  for (const auto& l : lines) EXPECT_EQ(l.find("eth2"), std::string::npos) << l;
}

Peer certPeer(const std::string& cn, const std::string& group, gateway::Role role) {
  Peer p;
  p.tls = true;
  p.uid = static_cast<uid_t>(-1);
  p.certCn = cn;
  p.certGroup = group;
  p.certSerial = "0A";
  p.address = "10.99.0.5:40000";
  p.role = role;
  return p;
}

// A handler that counts the requests it gets and a denied hook that records "who op".
class TlsDispatch : public ::testing::Test {
 protected:
  int handled = 0;
  std::vector<std::string> deniedOps;
  DispatchContext ctx() {
    DispatchContext c;
    c.handler = [this](const Peer&, gateway::Request& req, Responder&) -> std::optional<nlohmann::json> {
      ++handled;
      return gateway::okReply(req.id, {{"revision", 3}});
    };
    c.denied = [this](const Peer& p, std::string_view op) { deniedOps.push_back(p.who() + " " + std::string(op)); };
    return c;
  }
  Dispatch run(const Peer& p, std::string_view line) {
    auto c = ctx();
    return dispatchLine(c, p, line, [](std::string) {});
  }
};

TEST_F(TlsDispatch, ViewRoleCannotApplyButCanReadAndIsAudited) {
  auto bob = certPeer("bob", "auditors", gateway::Role::View);
  auto d = run(bob, R"({"id": 1, "op": "apply", "sources": []})");
  EXPECT_EQ(handled, 0);
  ASSERT_TRUE(d.reply.has_value());
  EXPECT_FALSE((*d.reply)["ok"].get<bool>());
  EXPECT_EQ((*d.reply)["error"]["code"], "denied");
  EXPECT_FALSE(d.close);  // may go on reading
  ASSERT_EQ(deniedOps.size(), 1u);
  EXPECT_EQ(deniedOps[0], "CN=bob, OU=auditors (certificate 0A, 10.99.0.5:40000) apply");

  d = run(bob, R"({"id": 2, "op": "status"})");
  EXPECT_EQ(handled, 1);
  EXPECT_TRUE((*d.reply)["ok"].get<bool>());
  EXPECT_EQ((*d.reply)["you"]["certificate"]["cn"], "bob");
  EXPECT_EQ((*d.reply)["you"]["role"], "view");

  d = run(bob, R"({"id": 3, "op": "events"})");
  EXPECT_TRUE(d.subscribe);

  auto alice = certPeer("alice", "netops", gateway::Role::Change);
  d = run(alice, R"({"id": 4, "op": "apply", "sources": []})");
  EXPECT_EQ(handled, 2);
  EXPECT_TRUE((*d.reply)["ok"].get<bool>());

  // A certificate without a role never reaches a dispatch (refused after the handshake); if
  // one did, it is refused and hung up on all the same.
  auto dave = certPeer("dave", "dba", gateway::Role::None);
  d = run(dave, R"({"id": 5, "op": "status"})");
  EXPECT_EQ(handled, 2);
  EXPECT_EQ((*d.reply)["error"]["code"], "denied");
  EXPECT_TRUE(d.close);
  EXPECT_NE((*d.reply)["error"]["message"].get<std::string>().find("certificate group 'dba'"), std::string::npos);
}

// The Unix socket goes through the same dispatch: the same checks, its own wording, with the
// group names the daemon was started with.
TEST_F(TlsDispatch, UnixPeersTakeTheSamePathWithTheirOwnRefusals) {
  Peer viewer;
  viewer.uid = 65534;
  viewer.user = "nobody";
  viewer.role = gateway::Role::View;
  auto c = ctx();
  c.changeGroup = "netadmins";
  c.viewGroup = "auditors";
  auto d = dispatchLine(c, viewer, R"({"id": 1, "op": "terminate", "user": "alice"})", [](std::string) {});
  EXPECT_EQ(handled, 0);
  EXPECT_EQ((*d.reply)["error"]["code"], "denied");
  EXPECT_EQ((*d.reply)["error"]["message"], "permission denied: " + viewer.who() +
                                                " has the read-only role ('auditors'); 'terminate' needs root or "
                                                "group 'netadmins'");
  EXPECT_FALSE(d.close);
  ASSERT_EQ(deniedOps.size(), 1u);
  EXPECT_EQ(deniedOps[0], viewer.who() + " terminate");
  d = run(viewer, R"({"id": 2, "op": "status"})");
  EXPECT_EQ(handled, 1);
  EXPECT_FALSE(d.reply->contains("you"));  // a Unix peer is described by the handler, not here

  d = run(viewer, "not json");
  EXPECT_EQ((*d.reply)["error"]["code"], "bad_request");
  d = run(viewer, R"({"id": 3})");
  EXPECT_EQ((*d.reply)["error"]["code"], "bad_request");
  EXPECT_EQ((*d.reply)["error"]["message"], "missing 'op'");

  Peer stranger = viewer;
  stranger.role = gateway::Role::None;
  d = dispatchLine(c, stranger, R"({"id": 4, "op": "status"})", [](std::string) {});
  EXPECT_TRUE(d.close);
  EXPECT_EQ(deniedOps.back(), stranger.who() + " connect");  // refused before its line is parsed
  EXPECT_NE((*d.reply)["error"]["message"].get<std::string>().find("is not root and not in group 'netadmins'"),
            std::string::npos);
  EXPECT_EQ(handled, 1);
}

}  // namespace
}  // namespace bulwark::daemon
