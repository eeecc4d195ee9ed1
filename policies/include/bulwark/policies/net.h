#pragma once
// IPv4/IPv6 addresses and prefixes as values: parsing, containment, overlap.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::policies {

enum class Family : std::uint8_t { V4 = 4, V6 = 6 };

class IpAddress {
 public:
  IpAddress() = default;
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(std::uint32_t hostOrder);
  static IpAddress fromBytes(Family family, const std::array<std::uint8_t, 16>& bytes);

  [[nodiscard]] Family family() const { return family_; }
  [[nodiscard]] bool isV4() const { return family_ == Family::V4; }
  [[nodiscard]] int bits() const { return isV4() ? 32 : 128; }
  // Network-order bytes; 4 significant for IPv4, 16 for IPv6.
  [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  [[nodiscard]] std::uint32_t v4HostOrder() const;
  [[nodiscard]] std::string str() const;
  [[nodiscard]] bool bit(int index) const;  // index 0 = most significant

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::V4;
  std::array<std::uint8_t, 16> bytes_{};
};

class Prefix {
 public:
  Prefix() = default;
  Prefix(IpAddress addr, int len);  // host bits are cleared
  // "10.0.0.0/24", "2001:db8::/32"; a bare address is a host prefix (/32, /128).
  // strict: reject host bits set ("10.0.0.1/24").
  static std::optional<Prefix> parse(std::string_view text, bool strict = true);

  [[nodiscard]] const IpAddress& address() const { return addr_; }
  [[nodiscard]] int length() const { return len_; }
  [[nodiscard]] Family family() const { return addr_.family(); }
  [[nodiscard]] bool contains(const IpAddress& a) const;
  [[nodiscard]] bool contains(const Prefix& p) const;
  [[nodiscard]] bool overlaps(const Prefix& p) const;
  [[nodiscard]] bool isHost() const { return len_ == addr_.bits(); }
  [[nodiscard]] IpAddress last() const;  // broadcast address for IPv4
  [[nodiscard]] std::string str() const;

  friend auto operator<=>(const Prefix&, const Prefix&) = default;

 private:
  IpAddress addr_;
  int len_ = 0;
};

}  // namespace bulwark::policies
