#include "bulwark/conntrack/top_talkers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <map>

namespace bulwark::conntrack {

std::string addressText(std::uint8_t family, const std::array<std::uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

const char* protoName(std::uint8_t proto) {
  switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_UDPLITE: return "udplite";
    case IPPROTO_GRE: return "gre";
    case IPPROTO_ESP: return "esp";
    default: return "";
  }
}

std::string Flow::srcText() const { return addressText(family, src); }
std::string Flow::dstText() const { return addressText(family, dst); }

std::uint64_t Flow::key() const {
  // FNV-1a over the tuple, folded with the id.
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  };
  mix(&family, 1);
  mix(&proto, 1);
  mix(src.data(), src.size());
  mix(dst.data(), dst.size());
  mix(reinterpret_cast<const std::uint8_t*>(&sport), 2);
  mix(reinterpret_cast<const std::uint8_t*>(&dport), 2);
  return (h & 0xffffffff00000000ULL) ^ id;
}

void TopTalkers::add(std::chrono::steady_clock::time_point at, std::vector<Flow> flows) {
  Kept k;
  k.at = at;
  k.bytes.reserve(flows.size());
  for (const auto& f : flows) k.bytes.emplace_back(f.key(), f.bytes);
  std::sort(k.bytes.begin(), k.bytes.end());
  kept_.push_back(std::move(k));
  newest_ = std::move(flows);
  // Keep the newest dump at or before now - window (the window's start) and everything after.
  while (kept_.size() >= 2 && kept_[1].at <= at - window_) kept_.pop_front();
}

TopReport TopTalkers::top(std::size_t n) const {
  TopReport r;
  r.entries = newest_.size();
  if (kept_.size() < 2) return r;
  const Kept& old = kept_.front();
  const double span = std::chrono::duration<double>(kept_.back().at - old.at).count();
  if (span <= 0) return r;
  r.windowSeconds = span;
  std::vector<FlowRate> rates;
  rates.reserve(newest_.size());
  for (const auto& f : newest_) {
    auto key = f.key();
    auto it = std::lower_bound(old.bytes.begin(), old.bytes.end(), std::make_pair(key, std::uint64_t{0}));
    std::uint64_t before = (it != old.bytes.end() && it->first == key) ? it->second : 0;
    // A counter below its old value is another entry under the same key: count it whole.
    std::uint64_t delta = f.bytes >= before ? f.bytes - before : f.bytes;
    if (delta == 0) continue;
    rates.push_back({f, static_cast<double>(delta) / span});
  }
  std::map<std::pair<std::uint8_t, std::array<std::uint8_t, 16>>, SourceRate> bySource;
  for (const auto& fr : rates) {
    auto& s = bySource[{fr.flow.family, fr.flow.src}];
    s.family = fr.flow.family;
    s.address = fr.flow.src;
    s.bytesPerSecond += fr.bytesPerSecond;
    ++s.flows;
  }
  auto byRate = [](const auto& a, const auto& b) { return a.bytesPerSecond > b.bytesPerSecond; };
  const std::size_t nf = std::min(n, rates.size());
  std::partial_sort(rates.begin(), rates.begin() + static_cast<std::ptrdiff_t>(nf), rates.end(), byRate);
  rates.resize(nf);
  r.flows = std::move(rates);
  std::vector<SourceRate> sources;
  sources.reserve(bySource.size());
  for (auto& [k, s] : bySource) sources.push_back(s);
  const std::size_t ns = std::min(n, sources.size());
  std::partial_sort(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(ns), sources.end(), byRate);
  sources.resize(ns);
  r.sources = std::move(sources);
  return r;
}

}  // namespace bulwark::conntrack
