// IpAddress and Prefix: parsing, printing, containment, overlap.
#include <gtest/gtest.h>

#include "bulwark/policies/net.h"

namespace bulwark::policies {
namespace {

IpAddress ip(std::string_view s) {
  auto a = IpAddress::parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddress{});
}

Prefix pfx(std::string_view s) {
  auto p = Prefix::parse(s);
  EXPECT_TRUE(p.has_value()) << s;
  return p.value_or(Prefix{});
}

TEST(IpAddress, ParsesAndPrintsIpv4) {
  for (const char* s : {"0.0.0.0", "10.20.0.1", "203.0.113.10", "255.255.255.255"}) {
    auto a = IpAddress::parse(s);
    ASSERT_TRUE(a) << s;
    EXPECT_TRUE(a->isV4());
    EXPECT_EQ(a->family(), Family::V4);
    EXPECT_EQ(a->bits(), 32);
    EXPECT_EQ(a->str(), s);
    EXPECT_EQ(IpAddress::parse(a->str()), a);
  }
}

TEST(IpAddress, Ipv4HostOrderRoundTrip) {
  auto a = ip("10.20.30.40");
  EXPECT_EQ(a.v4HostOrder(), 0x0a141e28u);
  EXPECT_EQ(IpAddress::v4(0x0a141e28u), a);
  EXPECT_EQ(IpAddress::v4(0xffffffffu).str(), "255.255.255.255");
  EXPECT_EQ(a.bytes()[0], 10);
  EXPECT_EQ(a.bytes()[3], 40);
}

TEST(IpAddress, ParsesAndPrintsIpv6) {
  for (const char* s : {"::", "::1", "2001:db8::1", "2001:db8:10::11", "fe80::1:2:3:4",
                        "2001:db8:1:2:3:4:5:6"}) {
    auto a = IpAddress::parse(s);
    ASSERT_TRUE(a) << s;
    EXPECT_FALSE(a->isV4());
    EXPECT_EQ(a->family(), Family::V6);
    EXPECT_EQ(a->bits(), 128);
    EXPECT_EQ(a->str(), s);
    EXPECT_EQ(IpAddress::parse(a->str()), a);
  }
}

TEST(IpAddress, Ipv6IsPrintedInCanonicalForm) {
  EXPECT_EQ(ip("2001:0DB8:0000:0000:0000:0000:0000:0001").str(), "2001:db8::1");
  EXPECT_EQ(ip("2001:db8:0:0:1:0:0:1").str(), "2001:db8::1:0:0:1");
  EXPECT_EQ(ip("2001:db8::1"), ip("2001:0db8:0::0:1"));
}

TEST(IpAddress, RejectsMalformedText) {
  for (const char* s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "10.0.0.1/24", " 10.0.0.1",
                        "10.0.0.1 ", "gg::1", "1:2:3:4:5:6:7:8:9", "::1::2", "web1", "localhost"}) {
    EXPECT_FALSE(IpAddress::parse(s).has_value()) << "'" << s << "'";
  }
  EXPECT_FALSE(IpAddress::parse(std::string(200, '1')).has_value());
  // Not NUL-terminated: parse must only look at the view.
  std::string_view view("10.0.0.12345", 8);
  EXPECT_EQ(IpAddress::parse(view), IpAddress::parse("10.0.0.1"));
}

TEST(IpAddress, BitsFromTheMostSignificant) {
  auto a = ip("128.0.0.1");
  EXPECT_TRUE(a.bit(0));
  EXPECT_FALSE(a.bit(1));
  EXPECT_FALSE(a.bit(30));
  EXPECT_TRUE(a.bit(31));
  auto b = ip("8000::");
  EXPECT_TRUE(b.bit(0));
  EXPECT_FALSE(b.bit(127));
}

TEST(IpAddress, OrdersWithinAFamily) {
  EXPECT_LT(ip("10.0.0.1"), ip("10.0.0.2"));
  EXPECT_LT(ip("9.255.255.255"), ip("10.0.0.0"));
  EXPECT_NE(ip("10.0.0.1"), ip("::ffff:10.0.0.1"));
}

TEST(Prefix, ParsesStrictly) {
  auto p = Prefix::parse("10.20.0.0/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->length(), 24);
  EXPECT_EQ(p->address().str(), "10.20.0.0");
  EXPECT_EQ(p->family(), Family::V4);
  EXPECT_EQ(p->str(), "10.20.0.0/24");
  EXPECT_FALSE(p->isHost());

  auto v6 = Prefix::parse("2001:db8:10::/64");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->length(), 64);
  EXPECT_EQ(v6->family(), Family::V6);
  EXPECT_EQ(v6->str(), "2001:db8:10::/64");

  // Host bits set: rejected when strict (the default).
  EXPECT_FALSE(Prefix::parse("10.20.0.1/24"));
  EXPECT_FALSE(Prefix::parse("10.20.0.1/24", true));
  EXPECT_FALSE(Prefix::parse("2001:db8::1/64"));
}

TEST(Prefix, LooseParseClearsHostBits) {
  auto p = Prefix::parse("10.20.0.77/24", false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "10.20.0.0/24");
  auto v6 = Prefix::parse("2001:db8::1/64", false);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->str(), "2001:db8::/64");
  auto odd = Prefix::parse("10.20.255.255/13", false);
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->str(), "10.16.0.0/13");
}

TEST(Prefix, BareAddressIsAHostPrefix) {
  auto p = Prefix::parse("10.0.0.1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->length(), 32);
  EXPECT_TRUE(p->isHost());
  EXPECT_EQ(p->str(), "10.0.0.1/32");
  auto v6 = Prefix::parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->length(), 128);
  EXPECT_TRUE(v6->isHost());
}

TEST(Prefix, RejectsMalformedText) {
  for (const char* s : {"", "/24", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
                        "10.0.0.0/2x", "10.0.0.0/24/8", "10.0.0.0/1000", "2001:db8::/129",
                        "10.0.0/24", "web/24"}) {
    EXPECT_FALSE(Prefix::parse(s).has_value()) << "'" << s << "'";
    EXPECT_FALSE(Prefix::parse(s, false).has_value()) << "'" << s << "' (loose)";
  }
}

TEST(Prefix, ZeroAndFullLengths) {
  auto all = pfx("0.0.0.0/0");
  EXPECT_EQ(all.length(), 0);
  EXPECT_TRUE(all.contains(ip("203.0.113.7")));
  EXPECT_FALSE(all.contains(ip("2001:db8::1")));
  auto all6 = pfx("::/0");
  EXPECT_TRUE(all6.contains(ip("2001:db8::1")));
  EXPECT_TRUE(pfx("10.0.0.1/32").contains(ip("10.0.0.1")));
  EXPECT_FALSE(pfx("10.0.0.1/32").contains(ip("10.0.0.2")));
}

TEST(Prefix, ConstructorClearsHostBits) {
  Prefix p(ip("192.168.77.200"), 20);
  EXPECT_EQ(p.str(), "192.168.64.0/20");
  Prefix h(ip("192.168.77.200"), 32);
  EXPECT_EQ(h.str(), "192.168.77.200/32");
}

TEST(Prefix, ContainsAddresses) {
  auto p = pfx("10.20.0.0/24");
  EXPECT_TRUE(p.contains(ip("10.20.0.0")));
  EXPECT_TRUE(p.contains(ip("10.20.0.11")));
  EXPECT_TRUE(p.contains(ip("10.20.0.255")));
  EXPECT_FALSE(p.contains(ip("10.20.1.0")));
  EXPECT_FALSE(p.contains(ip("10.19.255.255")));
  EXPECT_FALSE(p.contains(ip("::ffff:10.20.0.1")));  // other family
  auto v6 = pfx("2001:db8:10::/64");
  EXPECT_TRUE(v6.contains(ip("2001:db8:10::11")));
  EXPECT_FALSE(v6.contains(ip("2001:db8:11::11")));
  EXPECT_FALSE(v6.contains(ip("10.20.0.1")));
}

TEST(Prefix, ContainsAtLengthsThatSplitAByte) {
  // Every length from /0 to /32 against the addresses just inside and just outside.
  const auto base = ip("172.16.0.0");
  for (int len = 0; len <= 32; ++len) {
    Prefix p(ip("172.16.255.255"), len);
    EXPECT_TRUE(p.contains(p.address())) << len;
    EXPECT_TRUE(p.contains(p.last())) << len;
    if (len > 0) {
      // Flip the last network bit: outside.
      auto bytes = p.address().bytes();
      bytes[static_cast<std::size_t>((len - 1) / 8)] ^= static_cast<std::uint8_t>(0x80u >> ((len - 1) % 8));
      EXPECT_FALSE(p.contains(IpAddress::fromBytes(base.family(), bytes))) << len;
    }
  }
  EXPECT_TRUE(pfx("2001:db8::/127").contains(ip("2001:db8::1")));
  EXPECT_FALSE(pfx("2001:db8::/127").contains(ip("2001:db8::2")));
  EXPECT_TRUE(pfx("10.250.0.128/25").contains(ip("10.250.0.200")));
  EXPECT_FALSE(pfx("10.250.0.128/25").contains(ip("10.250.0.127")));
}

TEST(Prefix, ContainsAndOverlapsPrefixes) {
  auto big = pfx("10.0.0.0/8");
  auto small = pfx("10.20.0.0/24");
  auto other = pfx("192.168.0.0/16");
  EXPECT_TRUE(big.contains(small));
  EXPECT_FALSE(small.contains(big));
  EXPECT_TRUE(big.contains(big));
  EXPECT_TRUE(big.overlaps(small));
  EXPECT_TRUE(small.overlaps(big));
  EXPECT_FALSE(big.overlaps(other));
  EXPECT_FALSE(pfx("10.250.0.0/25").overlaps(pfx("10.250.0.128/25")));
  EXPECT_TRUE(pfx("10.250.0.0/24").overlaps(pfx("10.250.0.128/25")));
  EXPECT_FALSE(pfx("0.0.0.0/0").overlaps(pfx("::/0")));
  EXPECT_FALSE(pfx("::/0").contains(pfx("10.0.0.0/8")));
}

TEST(Prefix, LastAddress) {
  EXPECT_EQ(pfx("10.20.0.0/24").last().str(), "10.20.0.255");
  EXPECT_EQ(pfx("203.0.113.0/27").last().str(), "203.0.113.31");
  EXPECT_EQ(pfx("10.0.0.0/8").last().str(), "10.255.255.255");
  EXPECT_EQ(pfx("10.0.0.7/32").last().str(), "10.0.0.7");
  EXPECT_EQ(pfx("0.0.0.0/0").last().str(), "255.255.255.255");
  EXPECT_EQ(pfx("2001:db8:10::/64").last().str(), "2001:db8:10:0:ffff:ffff:ffff:ffff");
  EXPECT_EQ(pfx("2001:db8::/127").last().str(), "2001:db8::1");
}

TEST(Prefix, EqualityIgnoresWrittenHostBits) {
  EXPECT_EQ(Prefix::parse("10.0.0.9/24", false), Prefix::parse("10.0.0.0/24"));
  EXPECT_NE(pfx("10.0.0.0/24"), pfx("10.0.0.0/25"));
}

}  // namespace
}  // namespace bulwark::policies
