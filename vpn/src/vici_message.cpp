// VICI message and packet codec (see vici_message.h for the format).
#include "bulwark/vpn/vici_message.h"

#include <charconv>
#include <set>
#include <utility>

namespace bulwark::vpn {

namespace {

ViciError malformed(std::string message) {
  return ViciError{ViciErrorKind::Malformed, std::move(message), 0, {}};
}
ViciError badInput(std::string message) {
  return ViciError{ViciErrorKind::Config, std::move(message), 0, {}};
}

const Entry* findEntry(const std::vector<Entry>& entries, std::string_view name) {
  for (const auto& e : entries) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

// What every Section builder does first: a new last entry of `kind` named `name`.
Entry& appendEntry(std::vector<Entry>& entries, Entry::Kind kind, std::string name) {
  Entry& e = entries.emplace_back();
  e.kind = kind;
  e.name = std::move(name);
  return e;
}

void putU16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (unsigned char c : v) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == '{' || c == '}' || c == '[' || c == ']') {
      return true;
    }
  }
  return false;
}

std::string printable(std::string_view v) {
  std::string out;
  bool binary = false;
  for (unsigned char c : v) {
    if (c < 0x20 || c > 0x7e) {
      binary = true;
      break;
    }
  }
  if (binary) {
    return "<" + std::to_string(v.size()) + " bytes>";
  }
  if (!needsQuotes(v)) {
    return std::string(v);
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

ViciStatus encodeSection(const Section& s, std::string& out, std::size_t depth) {
  if (depth > kMaxDepth) {
    return badInput("vici: sections nested deeper than " + std::to_string(kMaxDepth));
  }
  std::set<std::string_view> seen;
  for (const auto& e : s.entries()) {
    if (!validName(e.name)) {
      return badInput("vici: invalid element name '" + printable(e.name) + "'");
    }
    if (!seen.insert(e.name).second) {
      return badInput("vici: duplicate name '" + e.name + "' in one section");
    }
    switch (e.kind) {
      case Entry::Kind::Value:
        if (e.value.size() > kMaxValueLength) {
          return badInput("vici: value of '" + e.name + "' longer than 65535 bytes");
        }
        out.push_back(static_cast<char>(ElementType::KeyValue));
        out.push_back(static_cast<char>(e.name.size()));
        out += e.name;
        putU16(out, e.value.size());
        out += e.value;
        break;
      case Entry::Kind::List:
        out.push_back(static_cast<char>(ElementType::ListStart));
        out.push_back(static_cast<char>(e.name.size()));
        out += e.name;
        for (const auto& item : e.items) {
          if (item.size() > kMaxValueLength) {
            return badInput("vici: item of list '" + e.name + "' longer than 65535 bytes");
          }
          out.push_back(static_cast<char>(ElementType::ListItem));
          putU16(out, item.size());
          out += item;
        }
        out.push_back(static_cast<char>(ElementType::ListEnd));
        break;
      case Entry::Kind::Section: {
        out.push_back(static_cast<char>(ElementType::SectionStart));
        out.push_back(static_cast<char>(e.name.size()));
        out += e.name;
        auto st = encodeSection(e.section, out, depth + 1);
        if (!st) {
          return st;
        }
        out.push_back(static_cast<char>(ElementType::SectionEnd));
        break;
      }
    }
  }
  return viciOk();
}

}  // namespace

bool packetTypeIsNamed(PacketType t) {
  return t == PacketType::CmdRequest || t == PacketType::EventRegister ||
         t == PacketType::EventUnregister || t == PacketType::Event;
}

const char* packetTypeName(PacketType t) {
  switch (t) {
    case PacketType::CmdRequest: return "CMD_REQUEST";
    case PacketType::CmdResponse: return "CMD_RESPONSE";
    case PacketType::CmdUnknown: return "CMD_UNKNOWN";
    case PacketType::EventRegister: return "EVENT_REGISTER";
    case PacketType::EventUnregister: return "EVENT_UNREGISTER";
    case PacketType::EventConfirm: return "EVENT_CONFIRM";
    case PacketType::EventUnknown: return "EVENT_UNKNOWN";
    case PacketType::Event: return "EVENT";
  }
  return "?";
}

bool validName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return false;
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------- Section

Section& Section::add(std::string name, std::string value) {
  appendEntry(entries_, Entry::Kind::Value, std::move(name)).value = std::move(value);
  return *this;
}

Section& Section::addList(std::string name, std::vector<std::string> items) {
  appendEntry(entries_, Entry::Kind::List, std::move(name)).items = std::move(items);
  return *this;
}

Section& Section::addSection(std::string name) {
  return appendEntry(entries_, Entry::Kind::Section, std::move(name)).section;
}

const std::string* Section::value(std::string_view name) const {
  const Entry* e = findEntry(entries_, name);
  return e && e->kind == Entry::Kind::Value ? &e->value : nullptr;
}

const std::vector<std::string>* Section::list(std::string_view name) const {
  const Entry* e = findEntry(entries_, name);
  return e && e->kind == Entry::Kind::List ? &e->items : nullptr;
}

const Section* Section::section(std::string_view name) const {
  const Entry* e = findEntry(entries_, name);
  return e && e->kind == Entry::Kind::Section ? &e->section : nullptr;
}

std::string Section::get(std::string_view name, std::string_view fallback) const {
  const std::string* v = value(name);
  return v ? *v : std::string(fallback);
}

std::uint64_t Section::number(std::string_view name) const {
  std::string v = get(name, "0");
  std::uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

std::vector<std::string> Section::items(std::string_view name) const {
  const auto* l = list(name);
  return l ? *l : std::vector<std::string>{};
}

bool Section::has(std::string_view name) const { return findEntry(entries_, name) != nullptr; }

std::string Section::str(int indent) const {
  std::string out;
  std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  for (const auto& e : entries_) {
    switch (e.kind) {
      case Entry::Kind::Value:
        out += pad + e.name + " = " + printable(e.value) + "\n";
        break;
      case Entry::Kind::List: {
        out += pad + e.name + " = [";
        bool first = true;
        for (const auto& i : e.items) {
          out += first ? " " : ", ";
          out += printable(i);
          first = false;
        }
        out += " ]\n";
        break;
      }
      case Entry::Kind::Section:
        out += pad + e.name + " {\n" + e.section.str(indent + 1) + pad + "}\n";
        break;
    }
  }
  return out;
}

bool operator==(const Section& a, const Section& b) { return a.entries_ == b.entries_; }

bool operator==(const Entry& a, const Entry& b) {
  return a.kind == b.kind && a.name == b.name && a.value == b.value && a.items == b.items &&
         a.section == b.section;
}

// ---------------------------------------------------------------------------- encode

ViciResult<std::string> encodeMessage(const Message& msg) {
  std::string out;
  auto st = encodeSection(msg, out, 0);
  if (!st) {
    return st.error();
  }
  return out;
}

ViciResult<std::string> encodePacket(const Packet& packet) {
  std::string out;
  out.push_back(static_cast<char>(packet.type));
  if (packetTypeIsNamed(packet.type)) {
    if (!validName(packet.name)) {
      return badInput("vici: invalid packet name '" + printable(packet.name) + "'");
    }
    out.push_back(static_cast<char>(packet.name.size()));
    out += packet.name;
  }
  if (packet.type == PacketType::CmdRequest || packet.type == PacketType::CmdResponse ||
      packet.type == PacketType::Event) {
    auto body = encodeMessage(packet.message);
    if (!body) {
      return body.error();
    }
    out += *body;
  }
  return out;
}

// ---------------------------------------------------------------------------- decode

// Reads one message, validating as it goes. Sections are appended to the innermost open
// section only, so the stack of raw pointers stays valid: an ancestor's entry vector
// never grows while one of its descendants is open.
class MessageDecoder {
 public:
  explicit MessageDecoder(std::string_view in) : in_(in) {}

  ViciResult<Message> run() {
    Message root;
    std::vector<Section*> stack{&root};  // not owned: points into root
    std::vector<std::set<std::string_view>> names(1);
    Entry* openList = nullptr;  // not owned: the list being filled, if any
    while (pos_ < in_.size()) {
      const std::size_t at = pos_;
      const auto raw = static_cast<std::uint8_t>(in_[pos_++]);
      if (raw < 1 || raw > 6) {
        return fail(at, "unknown element type " + std::to_string(raw));
      }
      const auto type = static_cast<ElementType>(raw);
      if (openList && type != ElementType::ListItem && type != ElementType::ListEnd) {
        return fail(at, "element inside list '" + openList->name + "' (only list items allowed)");
      }
      switch (type) {
        case ElementType::SectionStart:
        case ElementType::KeyValue:
        case ElementType::ListStart: {
          std::string_view name;
          if (!readName(name)) {
            return fail(at, err_);
          }
          if (!names.back().insert(name).second) {
            return fail(at, "duplicate name '" + std::string(name) + "' in one section");
          }
          Section& cur = *stack.back();
          if (type == ElementType::KeyValue) {
            std::string_view value;
            if (!readValue(value)) {
              return fail(at, err_);
            }
            cur.add(std::string(name), std::string(value));
          } else if (type == ElementType::ListStart) {
            cur.addList(std::string(name), {});
            openList = &cur.entries_.back();
          } else {
            if (stack.size() > kMaxDepth) {
              return fail(at, "sections nested deeper than " + std::to_string(kMaxDepth));
            }
            Section& child = cur.addSection(std::string(name));
            stack.push_back(&child);
            names.emplace_back();
          }
          break;
        }
        case ElementType::SectionEnd:
          if (stack.size() == 1) {
            return fail(at, "section end outside of a section");
          }
          stack.pop_back();
          names.pop_back();
          break;
        case ElementType::ListItem: {
          if (!openList) {
            return fail(at, "list item outside of a list");
          }
          std::string_view value;
          if (!readValue(value)) {
            return fail(at, err_);
          }
          openList->items.emplace_back(value);
          break;
        }
        case ElementType::ListEnd:
          if (!openList) {
            return fail(at, "list end outside of a list");
          }
          openList = nullptr;
          break;
      }
    }
    if (openList) {
      return fail(pos_, "message ends inside list '" + openList->name + "'");
    }
    if (stack.size() != 1) {
      return fail(pos_, "message ends inside " + std::to_string(stack.size() - 1) + " open section(s)");
    }
    return root;
  }

 private:
  ViciError fail(std::size_t at, const std::string& what) const {
    return malformed("vici: malformed message at byte " + std::to_string(at) + ": " + what);
  }

  bool readName(std::string_view& name) {
    if (pos_ >= in_.size()) {
      err_ = "truncated name length";
      return false;
    }
    const std::size_t len = static_cast<std::uint8_t>(in_[pos_++]);
    if (len > in_.size() - pos_) {
      err_ = "name length " + std::to_string(len) + " exceeds the message";
      return false;
    }
    name = in_.substr(pos_, len);
    pos_ += len;
    if (!validName(name)) {
      err_ = "empty or non-printable name";
      return false;
    }
    return true;
  }

  bool readValue(std::string_view& value) {
    if (in_.size() - pos_ < 2) {
      err_ = "truncated value length";
      return false;
    }
    const std::size_t len = (static_cast<std::size_t>(static_cast<std::uint8_t>(in_[pos_])) << 8) |
                            static_cast<std::uint8_t>(in_[pos_ + 1]);
    pos_ += 2;
    if (len > in_.size() - pos_) {
      err_ = "value length " + std::to_string(len) + " exceeds the message";
      return false;
    }
    value = in_.substr(pos_, len);
    pos_ += len;
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::string err_;
};

ViciResult<Message> decodeMessage(std::string_view bytes) { return MessageDecoder(bytes).run(); }

ViciResult<Packet> decodePacket(std::string_view bytes) {
  if (bytes.empty()) {
    return malformed("vici: empty packet");
  }
  const auto raw = static_cast<std::uint8_t>(bytes[0]);
  if (raw > 7) {
    return malformed("vici: unknown packet type " + std::to_string(raw));
  }
  Packet p;
  p.type = static_cast<PacketType>(raw);
  std::size_t pos = 1;
  if (packetTypeIsNamed(p.type)) {
    if (bytes.size() < 2) {
      return malformed(std::string("vici: ") + packetTypeName(p.type) + " packet without a name");
    }
    const std::size_t len = static_cast<std::uint8_t>(bytes[1]);
    if (len > bytes.size() - 2) {
      return malformed(std::string("vici: ") + packetTypeName(p.type) + " name length exceeds the packet");
    }
    p.name = std::string(bytes.substr(2, len));
    if (!validName(p.name)) {
      return malformed(std::string("vici: ") + packetTypeName(p.type) + " with an empty or non-printable name");
    }
    pos = 2 + len;
  }
  const std::string_view rest = bytes.substr(pos);
  const bool carriesMessage = p.type == PacketType::CmdRequest || p.type == PacketType::CmdResponse ||
                              p.type == PacketType::Event;
  if (!carriesMessage) {
    if (!rest.empty()) {
      return malformed(std::string("vici: unexpected payload after ") + packetTypeName(p.type));
    }
    return p;
  }
  auto msg = decodeMessage(rest);
  if (!msg) {
    return msg.error();
  }
  p.message = std::move(*msg);
  return p;
}

// ---------------------------------------------------------------------------- errors

const char* viciErrorKindName(ViciErrorKind k) {
  switch (k) {
    case ViciErrorKind::Transport: return "transport";
    case ViciErrorKind::Malformed: return "malformed";
    case ViciErrorKind::Unknown: return "unknown";
    case ViciErrorKind::Command: return "command failed";
    case ViciErrorKind::Config: return "config";
  }
  return "?";
}

std::string ViciError::str() const { return message; }

}  // namespace bulwark::vpn
