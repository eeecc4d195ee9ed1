#pragma once
// One conntrack entry as revocation needs it: both directions' tuples (a DNATed flow's
// original destination is the VIP, its reply tuple names the backend), the zone and what
// ctnetlink needs to delete exactly this entry (its id, the ICMP id/type/code).
#include <array>
#include <cstdint>
#include <string>

namespace bulwark::conntrack {

struct Tuple {
  std::array<std::uint8_t, 16> src{}, dst{};  // network order; IPv4 in the first 4 bytes
  std::uint16_t sport = 0, dport = 0;         // host order; 0 for protocols without ports
};

struct Entry {
  std::uint32_t id = 0;  // CTA_ID: a delete naming it spares a new entry that took the tuple
  std::uint8_t family = 0;
  std::uint8_t proto = 0;
  std::uint16_t zone = 0;
  Tuple orig, reply;
  std::uint8_t icmpType = 0, icmpCode = 0;  // ICMP / ICMPv6 entries: part of the tuple
  std::uint16_t icmpId = 0;                 // network order, as ctnetlink gives it

  // "tcp 198.18.0.1:40000 -> 203.0.113.10:443" (the original direction)
  [[nodiscard]] std::string text() const;
  // The original direction was translated (DNAT): the reply comes from somewhere else.
  [[nodiscard]] bool dnat() const { return reply.src != orig.dst || reply.sport != orig.dport; }
};

}  // namespace bulwark::conntrack
