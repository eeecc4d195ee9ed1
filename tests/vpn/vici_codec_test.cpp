// VICI codec: the README's byte-exact example both ways, packets, and every rule the
// decoder enforces (each malformed input is an error value, never a crash).
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "bulwark/vpn/vici_message.h"
#include "bulwark/vpn/vici_transport.h"

namespace bulwark::vpn {
namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) {
    s.push_back(static_cast<char>(c));
  }
  return s;
}

// strongSwan src/libcharon/plugins/vici/README.md, "Encoding example".
const std::string kReadmeExample = bytes({
    3, 4, 'k', 'e', 'y', '1', 0, 6, 'v', 'a', 'l', 'u', 'e', '1',
    1, 8, 's', 'e', 'c', 't', 'i', 'o', 'n', '1',
    1, 11, 's', 'u', 'b', '-', 's', 'e', 'c', 't', 'i', 'o', 'n',
    3, 4, 'k', 'e', 'y', '2', 0, 6, 'v', 'a', 'l', 'u', 'e', '2',
    2,
    4, 5, 'l', 'i', 's', 't', '1',
    5, 0, 5, 'i', 't', 'e', 'm', '1',
    5, 0, 5, 'i', 't', 'e', 'm', '2',
    6,
    2,
});

Message readmeTree() {
  Message m;
  m.add("key1", "value1");
  Section& s1 = m.addSection("section1");
  s1.addSection("sub-section").add("key2", "value2");
  s1.addList("list1", {"item1", "item2"});
  return m;
}

TEST(ViciCodec, EncodesReadmeExampleByteForByte) {
  auto enc = encodeMessage(readmeTree());
  ASSERT_TRUE(enc) << enc.error().message;
  EXPECT_EQ(*enc, kReadmeExample);
}

TEST(ViciCodec, DecodesReadmeExample) {
  auto dec = decodeMessage(kReadmeExample);
  ASSERT_TRUE(dec) << dec.error().message;
  EXPECT_EQ(*dec, readmeTree());
  EXPECT_EQ(dec->get("key1"), "value1");
  ASSERT_NE(dec->section("section1"), nullptr);
  EXPECT_EQ(dec->section("section1")->section("sub-section")->get("key2"), "value2");
  EXPECT_EQ(dec->section("section1")->items("list1"), (std::vector<std::string>{"item1", "item2"}));
  EXPECT_EQ(dec->list("key1"), nullptr);  // wrong kind → absent
}

TEST(ViciCodec, RoundTripsBinaryValuesAndEmptyLists) {
  Message m;
  m.add("data", std::string("\x30\x82\x00\xff", 4));
  m.addList("empty", {});
  m.add("empty-value", "");
  auto enc = encodeMessage(m);
  ASSERT_TRUE(enc);
  auto dec = decodeMessage(*enc);
  ASSERT_TRUE(dec) << dec.error().message;
  EXPECT_EQ(*dec, m);
}

TEST(ViciCodec, EmptyMessageIsValid) {
  auto dec = decodeMessage("");
  ASSERT_TRUE(dec);
  EXPECT_TRUE(dec->empty());
}

TEST(ViciCodec, PacketsNamedAndUnnamed) {
  Packet req{PacketType::CmdRequest, "version", {}};
  auto enc = encodePacket(req);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, bytes({0, 7, 'v', 'e', 'r', 's', 'i', 'o', 'n'}));

  Packet reg{PacketType::EventRegister, "list-sa", {}};
  EXPECT_EQ(*encodePacket(reg), bytes({3, 7, 'l', 'i', 's', 't', '-', 's', 'a'}));

  auto confirm = decodePacket(bytes({5}));
  ASSERT_TRUE(confirm);
  EXPECT_EQ(confirm->type, PacketType::EventConfirm);

  auto resp = decodePacket(bytes({1}) + kReadmeExample);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->type, PacketType::CmdResponse);
  EXPECT_EQ(resp->message, readmeTree());

  auto ev = decodePacket(bytes({7, 3, 'l', 'o', 'g', 3, 1, 'x', 0, 1, 'y'}));
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_EQ(ev->name, "log");
  EXPECT_EQ(ev->message.get("x"), "y");
}

TEST(ViciCodec, FrameHeaderIsBigEndianLength) {
  auto f = frame(bytes({0, 7, 'v', 'e', 'r', 's', 'i', 'o', 'n'}));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->substr(0, 4), bytes({0, 0, 0, 9}));
  const std::uint8_t ok[4] = {0, 8, 0, 0};  // exactly 512 KiB
  EXPECT_TRUE(frameLength(ok));
  const std::uint8_t big[4] = {0, 8, 0, 1};
  EXPECT_FALSE(frameLength(big));
  const std::uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT_FALSE(frameLength(huge));
  const std::uint8_t zero[4] = {0, 0, 0, 0};
  EXPECT_FALSE(frameLength(zero));
  EXPECT_FALSE(frame(std::string(kMaxFrame + 1, 'x')));
}

TEST(ViciCodec, UriParsing) {
  EXPECT_EQ(*socketPathFromUri("unix:///run/x.vici"), "/run/x.vici");
  EXPECT_EQ(*socketPathFromUri("/run/x.vici"), "/run/x.vici");
  EXPECT_FALSE(socketPathFromUri("tcp://127.0.0.1:4502"));
  EXPECT_FALSE(socketPathFromUri("unix://relative"));
}

struct BadCase {
  const char* what;
  std::string input;
  const char* expect;  // substring of the error message
};

class ViciDecoderRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ViciDecoderRejects, WithAnErrorValue) {
  auto dec = decodeMessage(GetParam().input);
  ASSERT_FALSE(dec) << GetParam().what;
  EXPECT_EQ(dec.error().kind, ViciErrorKind::Malformed);
  EXPECT_NE(dec.error().message.find(GetParam().expect), std::string::npos) << dec.error().message;
}

std::string nested(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) {
    s += bytes({1, 1, 's'});
  }
  for (std::size_t i = 0; i < depth; ++i) {
    s += bytes({2});
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ViciDecoderRejects,
    ::testing::Values(
        BadCase{"truncated name", bytes({3, 4, 'k', 'e'}), "name length"},
        BadCase{"truncated value length", bytes({3, 1, 'k', 0}), "truncated value length"},
        BadCase{"oversized value length", bytes({3, 1, 'k', 0xff, 0xff, 'v'}), "exceeds the message"},
        BadCase{"truncated after type", bytes({1}), "truncated name length"},
        BadCase{"readme example cut short", kReadmeExample.substr(0, kReadmeExample.size() - 1), "open section"},
        BadCase{"unknown element", bytes({9}), "unknown element type 9"},
        BadCase{"element 0", bytes({0}), "unknown element type 0"},
        BadCase{"list item outside list", bytes({5, 0, 1, 'x'}), "list item outside of a list"},
        BadCase{"list end outside list", bytes({6}), "list end outside of a list"},
        BadCase{"section end outside section", bytes({2}), "section end outside of a section"},
        BadCase{"unbalanced end", bytes({1, 1, 's', 2, 2}), "section end outside of a section"},
        BadCase{"unclosed list", bytes({4, 1, 'l', 5, 0, 0}), "ends inside list"},
        BadCase{"nested list", bytes({4, 1, 'l', 4, 1, 'm', 6, 6}), "only list items allowed"},
        BadCase{"key in list", bytes({4, 1, 'l', 3, 1, 'k', 0, 0, 6}), "only list items allowed"},
        BadCase{"section in list", bytes({4, 1, 'l', 1, 1, 's', 2, 6}), "only list items allowed"},
        BadCase{"empty name", bytes({3, 0, 0, 0}), "empty or non-printable name"},
        BadCase{"non-printable name", bytes({3, 2, 'k', '\n', 0, 0}), "non-printable"},
        BadCase{"high-bit name", bytes({1, 1, 0xc3, 2}), "non-printable"},
        BadCase{"duplicate key", bytes({3, 1, 'k', 0, 0, 3, 1, 'k', 0, 0}), "duplicate name 'k'"},
        BadCase{"duplicate key and list", bytes({3, 1, 'k', 0, 0, 4, 1, 'k', 6}), "duplicate name 'k'"},
        BadCase{"duplicate section", bytes({1, 1, 's', 2, 1, 1, 's', 2}), "duplicate name 's'"},
        BadCase{"too deep", nested(kMaxDepth + 1), "nested deeper"}),
    [](const ::testing::TestParamInfo<BadCase>& p) {
      std::string name;
      for (const char* c = p.param.what; *c; ++c) {
        name.push_back(std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_');
      }
      return name;
    });

TEST(ViciCodec, SameNameInDifferentSectionsIsFine) {
  auto dec = decodeMessage(bytes({3, 1, 'k', 0, 0, 1, 1, 's', 3, 1, 'k', 0, 0, 2}));
  ASSERT_TRUE(dec) << dec.error().message;
}

TEST(ViciCodec, NumbersAreReadAsCharonWritesThem) {
  Section s;
  s.add("bytes-in", "18446744073709551615").add("established", "42s").add("name", "x").add("neg", "-1");
  s.add("big", "18446744073709551616").addList("list", {"7"});
  EXPECT_EQ(s.number("bytes-in"), 18446744073709551615u);
  EXPECT_EQ(s.number("established"), 42u);  // up to the first non-digit
  for (const char* zero : {"name", "neg", "big", "list", "absent"}) EXPECT_EQ(s.number(zero), 0u) << zero;
}

TEST(ViciCodec, DepthCapIsInclusive) {
  EXPECT_TRUE(decodeMessage(nested(kMaxDepth)));
}

TEST(ViciCodec, PacketErrors) {
  EXPECT_FALSE(decodePacket(""));
  EXPECT_FALSE(decodePacket(bytes({8})));
  EXPECT_FALSE(decodePacket(bytes({0})));                  // named without a name
  EXPECT_FALSE(decodePacket(bytes({0, 5, 'a', 'b'})));     // name longer than the packet
  EXPECT_FALSE(decodePacket(bytes({7, 0})));               // empty event name
  EXPECT_FALSE(decodePacket(bytes({5, 1})));               // payload after EVENT_CONFIRM
  EXPECT_FALSE(decodePacket(bytes({1, 2})));               // response with a bad message
}

TEST(ViciCodec, EncoderRefusesWhatCharonWouldReject) {
  Message m;
  m.add("", "x");
  EXPECT_FALSE(encodeMessage(m));
  Message big;
  big.add("k", std::string(kMaxValueLength + 1, 'x'));
  EXPECT_FALSE(encodeMessage(big));
  Message dup;
  dup.add("k", "1").add("k", "2");
  EXPECT_FALSE(encodeMessage(dup));
  Message nl;
  nl.add("a\nb", "x");
  EXPECT_FALSE(encodeMessage(nl));
  EXPECT_FALSE(encodePacket(Packet{PacketType::CmdRequest, std::string(256, 'c'), {}}));
}

}  // namespace
}  // namespace bulwark::vpn
