#include "bulwark/policies/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace bulwark::policies {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; policy text can hold anything.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  std::string s(text);
  IpAddress a;
  if (s.find(':') == std::string::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) != 1) {
      return std::nullopt;
    }
    a.family_ = Family::V4;
    std::memcpy(a.bytes_.data(), &v4, 4);
  } else {
    in6_addr v6{};
    if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) {
      return std::nullopt;
    }
    a.family_ = Family::V6;
    std::memcpy(a.bytes_.data(), &v6, 16);
  }
  return a;
}

IpAddress IpAddress::v4(std::uint32_t hostOrder) {
  IpAddress a;
  a.family_ = Family::V4;
  a.bytes_[0] = static_cast<std::uint8_t>(hostOrder >> 24);
  a.bytes_[1] = static_cast<std::uint8_t>(hostOrder >> 16);
  a.bytes_[2] = static_cast<std::uint8_t>(hostOrder >> 8);
  a.bytes_[3] = static_cast<std::uint8_t>(hostOrder);
  return a;
}

IpAddress IpAddress::fromBytes(Family family, const std::array<std::uint8_t, 16>& bytes) {
  IpAddress a;
  a.family_ = family;
  a.bytes_ = bytes;
  if (family == Family::V4) {
    std::fill(a.bytes_.begin() + 4, a.bytes_.end(), std::uint8_t{0});
  }
  return a;
}

std::uint32_t IpAddress::v4HostOrder() const {
  return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
         (std::uint32_t{bytes_[2]} << 8) | std::uint32_t{bytes_[3]};
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

bool IpAddress::bit(int index) const {
  return (bytes_[static_cast<std::size_t>(index / 8)] >> (7 - index % 8)) & 1;
}

Prefix::Prefix(IpAddress addr, int len) : len_(len) {
  auto bytes = addr.bytes();
  for (int i = len; i < addr.bits(); ++i) {
    bytes[static_cast<std::size_t>(i / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  }
  addr_ = IpAddress::fromBytes(addr.family(), bytes);
}

std::optional<Prefix> Prefix::parse(std::string_view text, bool strict) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) {
    return std::nullopt;
  }
  int len = addr->bits();
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) {
      return std::nullopt;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc{} || end != digits.data() + digits.size() || len < 0 || len > addr->bits()) {
      return std::nullopt;
    }
  }
  Prefix p(*addr, len);
  if (strict && p.addr_ != *addr) {
    return std::nullopt;
  }
  return p;
}

bool Prefix::contains(const IpAddress& a) const {
  if (a.family() != family()) {
    return false;
  }
  // Byte by byte instead of building the masked address: the validator's shadow check calls
  // this for every pair of rules (O(rules^2)), where the copy dominated.
  const auto& x = a.bytes();
  const auto& y = addr_.bytes();
  const auto whole = static_cast<std::size_t>(len_ / 8);
  for (std::size_t i = 0; i < whole; ++i) {
    if (x[i] != y[i]) return false;
  }
  if (len_ % 8 == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - len_ % 8));
  return (x[whole] & mask) == y[whole];
}

bool Prefix::contains(const Prefix& p) const { return p.len_ >= len_ && contains(p.addr_); }

bool Prefix::overlaps(const Prefix& p) const { return contains(p) || p.contains(*this); }

IpAddress Prefix::last() const {
  auto bytes = addr_.bytes();
  for (int i = len_; i < addr_.bits(); ++i) {
    bytes[static_cast<std::size_t>(i / 8)] |= static_cast<std::uint8_t>(0x80u >> (i % 8));
  }
  return IpAddress::fromBytes(addr_.family(), bytes);
}

std::string Prefix::str() const { return addr_.str() + '/' + std::to_string(len_); }

}  // namespace bulwark::policies
