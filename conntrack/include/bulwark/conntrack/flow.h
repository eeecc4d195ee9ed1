#pragma once
// One conntrack entry as the monitoring needs it: the original direction's tuple and the
// accounting of both directions (nf_conntrack_acct must be 1 in the namespace, else the
// counters stay 0).
#include <array>
#include <cstdint>
#include <string>

namespace bulwark::conntrack {

struct Flow {
  std::uint32_t id = 0;      // ctnetlink's CTA_ID: stable for the entry's life
  std::uint8_t family = 0;   // AF_INET / AF_INET6
  std::uint8_t proto = 0;    // IPPROTO_*
  std::array<std::uint8_t, 16> src{}, dst{};  // network order; IPv4 in the first 4 bytes
  std::uint16_t sport = 0, dport = 0;         // host order; 0 for protocols without ports
  std::uint64_t bytes = 0;    // original + reply
  std::uint64_t packets = 0;  // original + reply

  [[nodiscard]] std::string srcText() const;
  [[nodiscard]] std::string dstText() const;
  // 64-bit key of the entry: its id and its tuple (an id is only reused for another tuple).
  [[nodiscard]] std::uint64_t key() const;
};

[[nodiscard]] std::string addressText(std::uint8_t family, const std::array<std::uint8_t, 16>& a);
[[nodiscard]] const char* protoName(std::uint8_t proto);  // "tcp", "udp", ...; "" if unknown

}  // namespace bulwark::conntrack
