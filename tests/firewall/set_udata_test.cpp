// Set userdata byte for byte as nft 1.0.6 writes it for the same set declarations. The golden
// bytes were read from the kernel after `nft -f` of `bulwarkctl render campus.yaml` (libnftnl's
// NFTNL_SET_USERDATA of each set). nft lists a set's keys from these hints: without them a
// `type ifname` map's keys came out as "" and nft could not load its own listing.
#include <gtest/gtest.h>

#include <string>

#include "nl/nftnl.h"
#include "nl/ops.h"

namespace bulwark::firewall {
namespace {

std::string hexOf(const SetDef& s) {
  return nl::hex(nl::setUserdata(s));
}

std::string hexText(const std::string& s) { return nl::hex(nl::Bytes(s.begin(), s.end())) + "00"; }

std::string commentTlv(const std::string& c) {
  char len[3];
  std::snprintf(len, sizeof len, "%02x", static_cast<unsigned>(c.size() + 1));
  return "07" + std::string(len) + hexText(c);
}

TEST(SetUserdata, IfnameVerdictMapAsNftWritesIt) {
  SetDef m{"egress_dba", {KeyType::IfName}, false, true, false, 0, 0, {}, "admin VPN zone dba by egress interface"};
  EXPECT_EQ(hexOf(m), "000401000000" "010400000000" "060400000000" + commentTlv(m.comment));
}

TEST(SetUserdata, ConcatenatedVerdictMapAsNftWritesIt) {
  SetDef m{"dispatch", {KeyType::IfName, KeyType::IfName}, false, true, false, 0, 0, {},
           "zone pair by ingress . egress interface"};
  EXPECT_EQ(hexOf(m), "000400000000" "010400000000" "030800040d0000000100" "060400000000" + commentTlv(m.comment));
}

TEST(SetUserdata, ConcatenatedIntervalSetAsNftWritesIt) {
  SetDef s{"egress_svc", {KeyType::InetProto, KeyType::InetService}, true, false, false, 0, 0, {},
           "services of rule egress"};
  EXPECT_EQ(hexOf(s), "000400000000" "030800040d0000000100" + commentTlv(s.comment));
}

TEST(SetUserdata, AddressSetsAreBigEndian) {
  SetDef s{"web-to-db_saddr4", {KeyType::Ipv4Addr}, true, false, false, 0, 0, {}, "saddr of rule web-to-db"};
  EXPECT_EQ(hexOf(s), "000402000000" + commentTlv(s.comment));
  SetDef d{"synflood6", {KeyType::Ipv6Addr}, false, false, true, 60, 65535, {}, "per-source SYN meter"};
  EXPECT_EQ(hexOf(d), "000402000000" + commentTlv(d.comment));
  SetDef bare{"svc", {KeyType::InetService}, true, false, false, 0, 0, {}, ""};
  EXPECT_EQ(hexOf(bare), "000402000000");
}

}  // namespace
}  // namespace bulwark::firewall
