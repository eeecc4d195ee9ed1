#include "kept_flow.h"

#include <charconv>
#include <string>
#include <vector>

namespace bulwark::engine {

namespace {

std::optional<std::uint16_t> portOf(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

}  // namespace

std::optional<KeptFlow> keptFlowFromText(std::string_view text) {
  std::vector<std::string_view> parts;
  while (!text.empty() && parts.size() < 5) {
    auto sp = text.find(' ');
    auto word = text.substr(0, sp);
    if (!word.empty()) parts.push_back(word);
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  if (parts.size() != 4) return std::nullopt;
  auto src = policies::IpAddress::parse(parts[0]);
  auto sport = portOf(parts[1]);
  auto dst = policies::IpAddress::parse(parts[2]);
  auto dport = portOf(parts[3]);
  if (!src || !sport || !dst || !dport || src->family() != dst->family()) return std::nullopt;
  return KeptFlow{*src, *sport, *dst, *dport};
}

}  // namespace bulwark::engine
