#pragma once
// The VICI wire format (strongSwan src/libcharon/plugins/vici/README.md), pure:
//   packet  = u8 type [u8 name-len, name] message
//   message = elements: SECTION_START(1) name | SECTION_END(2) | KEY_VALUE(3) name u16-len value
//             | LIST_START(4) name | LIST_ITEM(5) u16-len value | LIST_END(6)
// Names are 1..255 printable ASCII bytes; values are blobs (charon sends strings, and DER
// for list-cert). The decoder validates structure while it reads (balanced sections, list
// items only inside lists, lists not nested, unique names per section, nesting capped at
// kMaxDepth) and returns an error value for anything else; it never throws or reads past
// the input. The transport frame (u32 length prefix) lives in vici_transport.h.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/vpn/vici_error.h"

namespace bulwark::vpn {

enum class PacketType : std::uint8_t {
  CmdRequest = 0,
  CmdResponse = 1,
  CmdUnknown = 2,
  EventRegister = 3,
  EventUnregister = 4,
  EventConfirm = 5,
  EventUnknown = 6,
  Event = 7,
};
[[nodiscard]] bool packetTypeIsNamed(PacketType t);
[[nodiscard]] const char* packetTypeName(PacketType t);

enum class ElementType : std::uint8_t {
  SectionStart = 1,
  SectionEnd = 2,
  KeyValue = 3,
  ListStart = 4,
  ListItem = 5,
  ListEnd = 6,
};

inline constexpr std::size_t kMaxDepth = 32;         // nested sections accepted by the decoder
inline constexpr std::size_t kMaxNameLength = 255;   // u8 length
inline constexpr std::size_t kMaxValueLength = 65535; // u16 length

struct Entry;

// An ordered section (the message root is one). Names are unique within a section.
class Section {
 public:
  // Builders; they return *this (or the new child) so requests read like swanctl.conf.
  Section& add(std::string name, std::string value);
  Section& addList(std::string name, std::vector<std::string> items);
  Section& addSection(std::string name);  // returns the NEW child section

  // Lookups; nullptr when absent or of another kind.
  [[nodiscard]] const std::string* value(std::string_view name) const;
  [[nodiscard]] const std::vector<std::string>* list(std::string_view name) const;
  [[nodiscard]] const Section* section(std::string_view name) const;
  // A value, or `fallback` when absent.
  [[nodiscard]] std::string get(std::string_view name, std::string_view fallback = {}) const;
  // A value as charon writes counters and times: an unsigned decimal, read up to its first
  // non-digit; 0 when absent, not a number or out of range.
  [[nodiscard]] std::uint64_t number(std::string_view name) const;
  // A list, or an empty one when absent.
  [[nodiscard]] std::vector<std::string> items(std::string_view name) const;

  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
  [[nodiscard]] bool empty() const { return entries_.empty(); }
  [[nodiscard]] bool has(std::string_view name) const;

  // Debug/test rendering in swanctl.conf-like syntax (values quoted when needed).
  [[nodiscard]] std::string str(int indent = 0) const;

  friend bool operator==(const Section& a, const Section& b);

 private:
  friend class MessageDecoder;
  std::vector<Entry> entries_;
};

struct Entry {
  enum class Kind : std::uint8_t { Value, List, Section };
  Kind kind = Kind::Value;
  std::string name;
  std::string value;               // Kind::Value
  std::vector<std::string> items;  // Kind::List
  Section section;                 // Kind::Section
  friend bool operator==(const Entry& a, const Entry& b);
};

using Message = Section;

// Message encoding. Fails (Config error) on names that are empty, longer than 255 bytes or
// not printable, and values longer than 65535 bytes: charon would reject them.
[[nodiscard]] ViciResult<std::string> encodeMessage(const Message& msg);
[[nodiscard]] ViciResult<Message> decodeMessage(std::string_view bytes);

struct Packet {
  PacketType type = PacketType::CmdRequest;
  std::string name;  // CmdRequest, EventRegister, EventUnregister, Event
  Message message;   // CmdRequest, CmdResponse, Event
};

// Packet = type, optional name, optional message (no transport length prefix).
[[nodiscard]] ViciResult<std::string> encodePacket(const Packet& packet);
[[nodiscard]] ViciResult<Packet> decodePacket(std::string_view bytes);

// True for names the protocol accepts: 1..255 bytes of printable ASCII (0x20..0x7e).
[[nodiscard]] bool validName(std::string_view name);

}  // namespace bulwark::vpn
