// A set element has one spelling (render_words.h: elementText) for the diff's element changes
// and the programmer's element messages; the two differ only in whether a host prefix keeps
// its /32 or /128.
#include <gtest/gtest.h>

#include "bulwark/firewall/diff.h"
#include "render_words.h"

namespace bulwark::firewall {
namespace {

Prefix pfx(const char* s) { return *Prefix::parse(s); }

TEST(ElementText, KeyPartsGotoAndTarget) {
  const SetElement concat{{std::string("eth0"), pfx("10.0.0.0/8"), std::uint8_t{6}, PortRange{1000, 2000}}, "", ""};
  EXPECT_EQ(elementText(concat, false), "\"eth0\" . 10.0.0.0/8 . 6 . 1000-2000");
  EXPECT_EQ(elementText(concat, true), "\"eth0\" . 10.0.0.0/8 . 6 . 1000-2000");

  const SetElement vmap{{std::string("eth1"), PortRange{22, 22}}, "lan__dmz", "ignored here"};
  EXPECT_EQ(elementText(vmap, false), "\"eth1\" . 22 : goto lan__dmz");

  const SetElement slot{{std::uint32_t{3}}, "", "", IpAddress::parse("192.0.2.7")};
  EXPECT_EQ(elementText(slot, false), "3 : 192.0.2.7");
}

TEST(ElementText, HostPrefixBareOnlyWhenAsked) {
  const SetElement host4{{pfx("192.168.1.1/32")}, "", ""};
  EXPECT_EQ(elementText(host4, false), "192.168.1.1/32");
  EXPECT_EQ(elementText(host4, true), "192.168.1.1");
  const SetElement host6{{pfx("2001:db8::1/128")}, "", ""};
  EXPECT_EQ(elementText(host6, false), "2001:db8::1/128");
  EXPECT_EQ(elementText(host6, true), "2001:db8::1");
}

// The diff's element identity is elementText with the prefixes whole, and the comment.
TEST(ElementText, DiffDescribesElementsWithTheirComment) {
  SetDef set;
  set.name = "nets4";
  set.key = {KeyType::Ipv4Addr};
  set.interval = true;
  Ruleset desired;
  desired.sets.push_back(set);
  desired.sets[0].elements = {{{pfx("192.168.1.1/32")}, "", "host"}};
  ObservedTable observed;
  observed.sets.push_back(ObservedSet{set, {}, {}, 0});
  observed.sets[0].def.elements = {{{pfx("10.0.0.0/8")}, "", ""}};

  const Diff d = diff(desired, observed);
  ASSERT_EQ(d.changes.size(), 2u);
  EXPECT_EQ(d.changes[0].description, "set 'nets4': element 192.168.1.1/32 comment \"host\" added");
  EXPECT_EQ(d.changes[1].description, "set 'nets4': element 10.0.0.0/8 removed");
}

}  // namespace
}  // namespace bulwark::firewall
