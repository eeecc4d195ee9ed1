// The packets of bulwark-flood (lab/tools/flood.cpp): IPv4 + TCP SYN or IPv4 + UDP, headers
// and checksums written by hand for a raw socket with IP_HDRINCL, and the address ranges it
// may draw sources from and send to. Header-only and free of I/O, so that a test can parse
// what it builds.
#pragma once

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace lab::flood {

constexpr std::size_t kIpHeader = 20;
constexpr std::size_t kTcpHeader = 20;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kMaxPacket = 128;
constexpr std::size_t kMaxUdpPayload = kMaxPacket - kIpHeader - kUdpHeader;

// An IPv4 prefix, addresses in host byte order.
struct Net {
  std::uint32_t base = 0;
  int len = 32;
  [[nodiscard]] std::uint32_t mask() const { return len == 0 ? 0 : ~0u << (32 - len); }
  [[nodiscard]] bool contains(std::uint32_t a) const { return (a & mask()) == base; }
  [[nodiscard]] bool covers(const Net& n) const { return n.len >= len && contains(n.base); }
  [[nodiscard]] std::uint64_t size() const { return 1ull << (32 - len); }
};

// "198.18.0.0/15" or "203.0.113.10" (a /32); nullopt when it is not one.
inline std::optional<Net> parseNet(const std::string& s) {
  auto slash = s.find('/');
  in_addr a{};
  if (inet_pton(AF_INET, s.substr(0, slash).c_str(), &a) != 1) return std::nullopt;
  long len = 32;
  if (slash != std::string::npos) {
    const std::string l = s.substr(slash + 1);
    if (l.empty() || l.size() > 2 || l.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    len = std::stol(l);
    if (len > 32) return std::nullopt;
  }
  Net n;
  n.len = static_cast<int>(len);
  n.base = ntohl(a.s_addr) & n.mask();
  return n;
}

inline bool inAny(const std::vector<Net>& nets, std::uint32_t a) {
  for (const auto& n : nets)
    if (n.contains(a)) return true;
  return false;
}

// The Internet checksum (RFC 1071) of `len` bytes, continuing `sum`.
inline std::uint32_t sumWords(const std::uint8_t* p, std::size_t len, std::uint32_t sum = 0) {
  for (; len > 1; p += 2, len -= 2) sum += static_cast<std::uint32_t>(p[0] << 8 | p[1]);
  if (len) sum += static_cast<std::uint32_t>(p[0] << 8);
  return sum;
}
inline std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

inline void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

// The sum of the pseudo-header TCP and UDP checksums cover (RFC 793, RFC 768).
inline std::uint32_t pseudoSum(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, std::size_t len) {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + static_cast<std::uint32_t>(len);
}

// The IPv4 header (no options, TTL 64, no fragmentation flags) of a packet of `total` bytes.
inline void buildIp(std::uint8_t* b, std::uint32_t src, std::uint32_t dst, std::uint8_t proto, std::size_t total,
                    std::uint16_t id) {
  std::memset(b, 0, kIpHeader);
  b[0] = 0x45;
  put16(b + 2, static_cast<std::uint16_t>(total));
  put16(b + 4, id);
  b[8] = 64;
  b[9] = proto;
  put32(b + 12, src);
  put32(b + 16, dst);
  put16(b + 10, fold(sumWords(b, kIpHeader)));
}

// A TCP SYN (window 64240, no options) from src:sport to dst:dport; returns its length.
inline std::size_t buildSyn(std::uint8_t* b, std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                            std::uint16_t dport, std::uint32_t seq, std::uint16_t id) {
  const std::size_t total = kIpHeader + kTcpHeader;
  buildIp(b, src, dst, IPPROTO_TCP, total, id);
  std::uint8_t* t = b + kIpHeader;
  std::memset(t, 0, kTcpHeader);
  put16(t, sport);
  put16(t + 2, dport);
  put32(t + 4, seq);
  t[12] = 5 << 4;  // data offset: 5 words
  t[13] = 0x02;    // SYN
  put16(t + 14, 64240);
  put16(t + 16, fold(sumWords(t, kTcpHeader, pseudoSum(src, dst, IPPROTO_TCP, kTcpHeader))));
  return total;
}

// A UDP datagram of `payload` zero bytes (at most kMaxUdpPayload); returns its length.
inline std::size_t buildUdp(std::uint8_t* b, std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                            std::uint16_t dport, std::size_t payload, std::uint16_t id) {
  const std::size_t udpLen = kUdpHeader + payload;
  buildIp(b, src, dst, IPPROTO_UDP, kIpHeader + udpLen, id);
  std::uint8_t* u = b + kIpHeader;
  std::memset(u, 0, udpLen);
  put16(u, sport);
  put16(u + 2, dport);
  put16(u + 4, static_cast<std::uint16_t>(udpLen));
  std::uint16_t c = fold(sumWords(u, udpLen, pseudoSum(src, dst, IPPROTO_UDP, udpLen)));
  put16(u + 6, c == 0 ? 0xffff : c);  // 0 would mean "no checksum"
  return kIpHeader + udpLen;
}

// A small fast generator (xorshift64*) for addresses, ports and sequence numbers.
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  std::uint32_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<std::uint32_t>((s * 0x2545f4914f6cdd1dull) >> 32);
  }
};

// A random address of `net` outside `exclude`, not its network or broadcast address; nullopt
// after 64 misses (the exclusions cover (nearly) all of it: the caller refuses such a run).
inline std::optional<std::uint32_t> pickSource(Rng& rng, const Net& net, const std::vector<Net>& exclude) {
  for (int i = 0; i < 64; ++i) {
    std::uint32_t a = net.base | (rng.next() & ~net.mask());
    if (net.len < 31 && (a == net.base || a == (net.base | ~net.mask()))) continue;
    if (!inAny(exclude, a)) return a;
  }
  return std::nullopt;
}

}  // namespace lab::flood
