// Set keys and elements as the kernel stores them (nft 1.0.6 conventions):
//  - hash sets: the key, fields padded to 4 bytes when concatenated;
//  - concatenated interval sets (pipapo): key = first of each field, KEY_END = last;
//  - single-field interval sets (rbtree): a start element and an exclusive end element
//    flagged NFT_SET_ELEM_INTERVAL_END (omitted when the range ends at the maximum).
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <array>

#include "nl/ops.h"

namespace bulwark::firewall::nl {
namespace {

constexpr std::uint32_t kTypeIpAddr = 7;
constexpr std::uint32_t kTypeIp6Addr = 8;
constexpr std::uint32_t kTypeInetProto = 12;
constexpr std::uint32_t kTypeInetService = 13;
constexpr std::uint32_t kTypeIfname = 41;
constexpr std::uint32_t kTypeInteger = 4;
constexpr std::uint32_t kTypeBits = 6;

std::uint32_t round4(std::uint32_t n) { return (n + 3) / 4 * 4; }

// first/last bytes of one field (natural length).
struct FieldRange {
  Bytes first;
  Bytes last;
};

std::optional<FieldRange> fieldRange(KeyType t, const KeyPart& part, std::string& error) {
  switch (t) {
    case KeyType::IfName: {
      const auto* s = std::get_if<std::string>(&part);
      if (!s || s->empty() || s->size() > 15) {
        error = "expected an interface name (1-15 characters)";
        return std::nullopt;
      }
      Bytes b(16, 0);
      std::copy(s->begin(), s->end(), b.begin());
      return FieldRange{b, b};
    }
    case KeyType::Ipv4Addr:
    case KeyType::Ipv6Addr: {
      const auto* p = std::get_if<Prefix>(&part);
      const bool v4 = t == KeyType::Ipv4Addr;
      if (!p || p->address().isV4() != v4) {
        error = v4 ? "expected an IPv4 prefix" : "expected an IPv6 prefix";
        return std::nullopt;
      }
      const std::size_t n = v4 ? 4 : 16;
      const auto& a = p->address().bytes();
      const IpAddress lastAddr = p->last();  // by value: bytes() refers into it
      const auto& l = lastAddr.bytes();
      return FieldRange{Bytes(a.begin(), a.begin() + static_cast<long>(n)),
                        Bytes(l.begin(), l.begin() + static_cast<long>(n))};
    }
    case KeyType::InetProto: {
      const auto* p = std::get_if<std::uint8_t>(&part);
      if (!p) {
        error = "expected a protocol number";
        return std::nullopt;
      }
      return FieldRange{{*p}, {*p}};
    }
    case KeyType::InetService: {
      const auto* r = std::get_if<PortRange>(&part);
      if (!r || r->first > r->last) {
        error = "expected a port range";
        return std::nullopt;
      }
      auto be = [](std::uint16_t v) {
        return Bytes{static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v & 0xff)};
      };
      return FieldRange{be(r->first), be(r->last)};
    }
    case KeyType::Slot: {
      const auto* v = std::get_if<std::uint32_t>(&part);
      if (!v) {
        error = "expected a slot number";
        return std::nullopt;
      }
      Bytes b(4);
      for (std::size_t i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(*v >> (8 * i));  // host order (numgen)
      return FieldRange{b, b};
    }
  }
  return std::nullopt;
}

// Big-endian increment; false on overflow.
bool increment(Bytes& b) {
  for (std::size_t i = b.size(); i-- > 0;) {
    if (++b[i] != 0) {
      return true;
    }
  }
  return false;
}

bool decrement(Bytes& b) {
  for (std::size_t i = b.size(); i-- > 0;) {
    if (b[i]-- != 0) {
      return true;
    }
  }
  return false;
}

std::optional<KeyPart> partFromRange(KeyType t, const Bytes& first, const Bytes& last) {
  switch (t) {
    case KeyType::IfName:
      if (first != last) {
        return std::nullopt;
      } else {
        std::string s;
        for (auto c : first) {
          if (c == 0) {
            break;
          }
          s.push_back(static_cast<char>(c));
        }
        return KeyPart{s};
      }
    case KeyType::Ipv4Addr:
    case KeyType::Ipv6Addr: {
      const auto fam = t == KeyType::Ipv4Addr ? policies::Family::V4 : policies::Family::V6;
      std::array<std::uint8_t, 16> a{};
      std::copy(first.begin(), first.end(), a.begin());
      const IpAddress addr = IpAddress::fromBytes(fam, a);
      // the prefix length: number of leading bits where first == last
      int len = 0;
      const int bits = addr.bits();
      while (len < bits && ((first[static_cast<std::size_t>(len / 8)] ^ last[static_cast<std::size_t>(len / 8)]) &
                            (0x80 >> (len % 8))) == 0) {
        ++len;
      }
      Prefix p(addr, len);
      const IpAddress lastAddr = p.last();
      const auto& pl = lastAddr.bytes();
      if (p.address() != addr || !std::equal(last.begin(), last.end(), pl.begin())) {
        return std::nullopt;
      }
      return KeyPart{p};
    }
    case KeyType::InetProto:
      if (first != last) {
        return std::nullopt;
      }
      return KeyPart{first[0]};
    case KeyType::InetService:
      return KeyPart{PortRange{static_cast<std::uint16_t>((first[0] << 8) | first[1]),
                               static_cast<std::uint16_t>((last[0] << 8) | last[1])}};
    case KeyType::Slot: {
      if (first != last) {
        return std::nullopt;
      }
      std::uint32_t v = 0;
      for (std::size_t i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(first[i]) << (8 * i);
      return KeyPart{v};
    }
  }
  return std::nullopt;
}

// Split a kernel key into natural-length fields.
std::optional<std::vector<Bytes>> splitKey(const SetDef& set, const Bytes& key) {
  std::vector<Bytes> out;
  const bool concat = set.key.size() > 1;
  std::size_t off = 0;
  for (KeyType t : set.key) {
    const std::uint32_t n = keyTypeLen(t);
    const std::uint32_t step = concat ? round4(n) : n;
    if (off + step > key.size()) {
      return std::nullopt;
    }
    out.emplace_back(key.begin() + static_cast<long>(off), key.begin() + static_cast<long>(off + n));
    off += step;
  }
  if (off != key.size()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::uint32_t keyTypeLen(KeyType t) {
  switch (t) {
    case KeyType::IfName: return 16;
    case KeyType::Ipv4Addr: return 4;
    case KeyType::Ipv6Addr: return 16;
    case KeyType::InetProto: return 1;
    case KeyType::InetService: return 2;
    case KeyType::Slot: return 4;
  }
  return 0;
}

std::uint32_t keyTypeId(KeyType t) {
  switch (t) {
    case KeyType::IfName: return kTypeIfname;
    case KeyType::Ipv4Addr: return kTypeIpAddr;
    case KeyType::Ipv6Addr: return kTypeIp6Addr;
    case KeyType::InetProto: return kTypeInetProto;
    case KeyType::InetService: return kTypeInetService;
    case KeyType::Slot: return kTypeInteger;
  }
  return 0;
}

std::uint32_t setKeyLen(const SetDef& s) {
  if (s.key.size() == 1) {
    return keyTypeLen(s.key[0]);
  }
  std::uint32_t n = 0;
  for (KeyType t : s.key) {
    n += round4(keyTypeLen(t));
  }
  return n;
}

std::uint32_t setKeyTypeId(const SetDef& s) {
  std::uint32_t id = 0;
  for (KeyType t : s.key) {
    id = (id << kTypeBits) | keyTypeId(t);
  }
  return id;
}

std::optional<std::vector<KeyType>> keyTypesFromId(std::uint32_t id, std::uint32_t len) {
  std::vector<KeyType> out;
  while (id != 0) {
    const std::uint32_t t = id & ((1u << kTypeBits) - 1);
    id >>= kTypeBits;
    switch (t) {
      case kTypeIfname: out.push_back(KeyType::IfName); break;
      case kTypeIpAddr: out.push_back(KeyType::Ipv4Addr); break;
      case kTypeIp6Addr: out.push_back(KeyType::Ipv6Addr); break;
      case kTypeInetProto: out.push_back(KeyType::InetProto); break;
      case kTypeInetService: out.push_back(KeyType::InetService); break;
      case kTypeInteger: out.push_back(KeyType::Slot); break;
      default: return std::nullopt;
    }
  }
  std::reverse(out.begin(), out.end());
  if (out.empty()) {
    return std::nullopt;
  }
  SetDef probe;
  probe.key = out;
  if (setKeyLen(probe) != len) {
    return std::nullopt;
  }
  return out;
}

EncodeResult encodeElement(const SetDef& set, const SetElement& e) {
  EncodeResult r;
  if (e.key.size() != set.key.size()) {
    r.error = "key has " + std::to_string(e.key.size()) + " fields, set '" + set.name + "' has " +
              std::to_string(set.key.size());
    return r;
  }
  const bool concat = set.key.size() > 1;
  Bytes key;
  Bytes keyEnd;
  bool isRange = false;
  for (std::size_t i = 0; i < set.key.size(); ++i) {
    std::string err;
    auto fr = fieldRange(set.key[i], e.key[i], err);
    if (!fr) {
      r.error = "field " + std::to_string(i + 1) + " of an element of set '" + set.name + "': " + err;
      return r;
    }
    isRange = isRange || fr->first != fr->last;
    if (concat) {
      fr->first.resize(round4(static_cast<std::uint32_t>(fr->first.size())), 0);
      fr->last.resize(round4(static_cast<std::uint32_t>(fr->last.size())), 0);
    }
    key.insert(key.end(), fr->first.begin(), fr->first.end());
    keyEnd.insert(keyEnd.end(), fr->last.begin(), fr->last.end());
  }
  if (isRange && !set.interval) {
    r.error = "element of set '" + set.name + "' is a range/prefix but the set has no interval flag";
    return r;
  }
  std::optional<Bytes> data;
  if (set.addressMap) {
    if (!e.target || e.target->family() != *set.addressMap) {
      r.error = "element of map '" + set.name + "' needs a target address of the map's family";
      return r;
    }
    const auto& b = e.target->bytes();
    data = Bytes(b.begin(), b.begin() + (e.target->isV4() ? 4 : 16));
  }
  if (!set.interval) {
    r.elems.push_back({key, data, std::nullopt, false});
  } else if (concat) {
    r.elems.push_back({key, data, keyEnd, false});
  } else {
    r.elems.push_back({key, data, std::nullopt, false});
    if (increment(keyEnd)) {
      r.elems.push_back({keyEnd, std::nullopt, std::nullopt, true});
    }
  }
  return r;
}

DecodeResult decodeElements(const SetDef& set, std::vector<RawElement> raw) {
  DecodeResult out;
  auto emit = [&](const RawElement& start, const Bytes& first, const Bytes& last) {
    auto f1 = splitKey(set, first);
    auto f2 = splitKey(set, last);
    if (!f1 || !f2) {
      out.unknown.push_back(hex(first) + (first == last ? "" : "-" + hex(last)));
      return;
    }
    SetElement e;
    for (std::size_t i = 0; i < set.key.size(); ++i) {
      auto part = partFromRange(set.key[i], (*f1)[i], (*f2)[i]);
      if (!part) {
        out.unknown.push_back(hex(first) + (first == last ? "" : "-" + hex(last)));
        return;
      }
      e.key.push_back(*part);
    }
    e.jumpTo = start.jumpTo.value_or("");
    e.comment = start.comment;
    if (set.addressMap && start.data) {
      const std::size_t n = *set.addressMap == policies::Family::V4 ? 4 : 16;
      if (start.data->size() != n) {
        out.unknown.push_back(hex(first) + " : " + hex(*start.data));
        return;
      }
      std::array<std::uint8_t, 16> a{};
      std::copy(start.data->begin(), start.data->end(), a.begin());
      e.target = IpAddress::fromBytes(*set.addressMap, a);
    }
    out.elements.push_back(std::move(e));
  };

  if (!set.interval || set.key.size() > 1) {
    for (const auto& r : raw) {
      emit(r, r.key, r.keyEnd.value_or(r.key));
    }
    return out;
  }
  // rbtree: sort by key, end markers before starts at equal keys, pair them up.
  std::sort(raw.begin(), raw.end(), [](const RawElement& a, const RawElement& b) {
    if (a.key != b.key) {
      return a.key < b.key;
    }
    return a.intervalEnd && !b.intervalEnd;
  });
  const RawElement* open = nullptr;
  for (const auto& r : raw) {
    if (!r.intervalEnd) {
      if (open != nullptr) {  // start without an end: runs up to the next start
        Bytes last = r.key;
        decrement(last);
        emit(*open, open->key, last);
      }
      open = &r;
      continue;
    }
    if (open != nullptr) {
      Bytes last = r.key;
      decrement(last);
      emit(*open, open->key, last);
      open = nullptr;
    }
  }
  if (open != nullptr) {
    emit(*open, open->key, Bytes(open->key.size(), 0xff));
  }
  return out;
}

}  // namespace bulwark::firewall::nl
