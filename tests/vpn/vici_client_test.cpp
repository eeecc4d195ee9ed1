// The client's protocol state machine over a scripted transport, and the Unix transport's
// framing over a socketpair (oversized frames, EOF in the middle, timeouts).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "bulwark/vpn/vici_client.h"
#include "bulwark/vpn/vici_commands.h"
#include "vici_fake_transport.h"

namespace bulwark::vpn {
namespace {

using namespace bulwark::vpn::testing;

struct Harness {
  std::vector<Packet> sent;
  std::deque<Packet> replies;
  ViciClientPtr client;
  Harness() {
    auto t = std::make_unique<FakeTransport>();
    t->sentLog = &sent;
    t->replies = &replies;
    client = std::make_unique<ViciClient>(std::move(t));
  }
};

TEST(ViciClient, CallReturnsResponse) {
  Harness h;
  Message v;
  v.add("daemon", "charon").add("version", "5.9.8");
  h.replies.push_back(response(v));
  auto r = vici::version(*h.client);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->version, "5.9.8");
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.sent[0].type, PacketType::CmdRequest);
  EXPECT_EQ(h.sent[0].name, "version");
}

TEST(ViciClient, CommandFailureIsDistinctFromTransportFailure) {
  Harness h;
  h.replies.push_back(response(failure("unknown pool 'x'")));
  auto st = vici::unloadPool(*h.client, "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, ViciErrorKind::Command);
  EXPECT_NE(st.error().message.find("unknown pool 'x'"), std::string::npos);

  auto eof = vici::unloadPool(*h.client, "x");  // nothing queued: EOF
  ASSERT_FALSE(eof);
  EXPECT_EQ(eof.error().kind, ViciErrorKind::Transport);
  EXPECT_TRUE(eof.error().isTransport());
}

TEST(ViciClient, MissingSuccessIsFailure) {
  Harness h;
  h.replies.push_back(response());
  auto st = vici::unloadConn(*h.client, "c");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, ViciErrorKind::Command);
}

TEST(ViciClient, UnknownCommand) {
  Harness h;
  h.replies.push_back(Packet{PacketType::CmdUnknown, {}, {}});
  auto r = h.client->call("no-such-command");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ViciErrorKind::Unknown);
}

TEST(ViciClient, StreamRegistersCollectsAndUnregisters) {
  Harness h;
  Message sa1;
  sa1.addSection("bulwark-admin-netops").add("uniqueid", "1");
  Message sa2;
  sa2.addSection("bulwark-admin-dba").add("uniqueid", "2");
  h.replies = {confirm(), event("list-sa", sa1), event("log", {}), event("list-sa", sa2), response(), confirm()};
  auto r = vici::listSas(*h.client);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "bulwark-admin-netops");
  EXPECT_EQ((*r)[1].body.get("uniqueid"), "2");
  ASSERT_EQ(h.sent.size(), 3u);
  EXPECT_EQ(h.sent[0].type, PacketType::EventRegister);
  EXPECT_EQ(h.sent[0].name, "list-sa");
  EXPECT_EQ(h.sent[1].type, PacketType::CmdRequest);
  EXPECT_EQ(h.sent[1].name, "list-sas");
  EXPECT_EQ(h.sent[2].type, PacketType::EventUnregister);
  EXPECT_TRUE(h.replies.empty());
}

TEST(ViciClient, StreamWithUnknownEvent) {
  Harness h;
  h.replies = {Packet{PacketType::EventUnknown, {}, {}}};
  auto r = vici::listConns(*h.client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ViciErrorKind::Unknown);
}

TEST(ViciClient, UnexpectedPacketIsMalformed) {
  Harness h;
  h.replies = {confirm()};
  auto r = h.client->call("version");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ViciErrorKind::Malformed);
}

TEST(ViciClient, LoadConnWrapsTheConnectionInANamedSection) {
  Harness h;
  h.replies.push_back(response(success()));
  Section conn;
  conn.add("version", "2");
  ASSERT_TRUE(vici::loadConn(*h.client, "bulwark-admin-netops", conn));
  ASSERT_EQ(h.sent.size(), 1u);
  const Section* s = h.sent[0].message.section("bulwark-admin-netops");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->get("version"), "2");
}

TEST(ViciClient, KeyTypeFromPem) {
  EXPECT_EQ(vici::keyTypeOfPem("-----BEGIN EC PRIVATE KEY-----\n"), "ecdsa");
  EXPECT_EQ(vici::keyTypeOfPem("-----BEGIN RSA PRIVATE KEY-----\n"), "rsa");
  EXPECT_EQ(vici::keyTypeOfPem("-----BEGIN PRIVATE KEY-----\n"), "any");
}

// ------------------------------------------------------------------ Unix transport framing

struct Pair {
  int server = -1;
  ViciTransportPtr client;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    server = sv[0];
    client = std::make_unique<UnixTransport>(sv[1]);
  }
  ~Pair() {
    if (server >= 0) {
      ::close(server);
    }
  }
  void write(const std::string& s) const { ASSERT_EQ(::write(server, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  std::string readAll(std::size_t n) const {
    std::string s(n, '\0');
    std::size_t off = 0;
    while (off < n) {
      ssize_t r = ::read(server, s.data() + off, n - off);
      if (r <= 0) {
        break;
      }
      off += static_cast<std::size_t>(r);
    }
    s.resize(off);
    return s;
  }
};

TEST(UnixTransport, SendsFramedPacket) {
  Pair p;
  ASSERT_TRUE(p.client->send(Packet{PacketType::CmdRequest, "version", {}}));
  EXPECT_EQ(p.readAll(13), std::string("\0\0\0\x09\0\x07version", 13));
}

TEST(UnixTransport, ReceivesFramedPacketInPieces) {
  Pair p;
  std::thread writer([&p] {
    p.write(std::string("\0\0", 2));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    p.write(std::string("\0\x07\x01\x03\x01k\0\x01v", 9));
  });
  auto r = p.client->receive(2000);
  writer.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->type, PacketType::CmdResponse);
  EXPECT_EQ(r->message.get("k"), "v");
}

TEST(UnixTransport, OversizedFrameIsRefusedWithoutReadingIt) {
  Pair p;
  p.write(std::string("\0\x08\0\x01", 4));  // 512 KiB + 1
  auto r = p.client->receive(1000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ViciErrorKind::Malformed);
}

TEST(UnixTransport, EofInTheMiddleOfAFrame) {
  Pair p;
  p.write(std::string("\0\0\0\x10\x01", 5));
  ::close(p.server);
  p.server = -1;
  auto r = p.client->receive(1000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ViciErrorKind::Transport);
  EXPECT_EQ(r.error().sysErrno, 0);
  EXPECT_NE(r.error().message.find("middle of a frame"), std::string::npos);
}

TEST(UnixTransport, TimeoutIsTransportEtimedout) {
  Pair p;
  auto r = p.client->receive(50);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sysErrno, ETIMEDOUT);
}

TEST(UnixTransport, MalformedMessageInAFrame) {
  Pair p;
  p.write(std::string("\0\0\0\x02\x01\x02", 6));  // response with a stray section end
  auto r = p.client->receive(1000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ViciErrorKind::Malformed);
}

TEST(UnixTransport, ConnectToMissingSocket) {
  auto t = UnixTransport::connect("unix:///nonexistent/bulwark-test.vici", 100);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ViciErrorKind::Transport);
  EXPECT_EQ(t.error().sysErrno, ENOENT);
}

}  // namespace
}  // namespace bulwark::vpn
