#include "bulwark/conntrack/top_talkers.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

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

namespace {

std::uint64_t slotKey(std::uint64_t key) { return key == 0 ? 1 : key; }

// Fibonacci hashing: the key's low bits are the entry id, its high bits the tuple's hash.
std::size_t slotOf(std::uint64_t key, std::size_t mask) {
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

}  // namespace

void TopTalkers::ByteTable::fill(const std::vector<Flow>& flows, const std::vector<std::uint64_t>& keys) {
  std::size_t cap = 16;
  while (cap < 2 * flows.size()) cap *= 2;
  slots_.assign(cap, {0, 0});
  mask_ = cap - 1;
  for (std::size_t i = 0; i < flows.size(); ++i) {
    const std::uint64_t k = slotKey(keys[i]);
    std::size_t s = slotOf(k, mask_);
    while (slots_[s].first != 0 && slots_[s].first != k) s = (s + 1) & mask_;
    slots_[s] = {k, flows[i].bytes};
  }
}

std::uint64_t TopTalkers::ByteTable::find(std::uint64_t key) const {
  if (slots_.empty()) return 0;
  const std::uint64_t k = slotKey(key);
  for (std::size_t s = slotOf(k, mask_);; s = (s + 1) & mask_) {
    if (slots_[s].first == k) return slots_[s].second;
    if (slots_[s].first == 0) return 0;
  }
}

std::vector<Flow> TopTalkers::add(std::chrono::steady_clock::time_point at, std::vector<Flow> flows) {
  newestKeys_.resize(flows.size());
  for (std::size_t i = 0; i < flows.size(); ++i) newestKeys_[i] = flows[i].key();
  // Reuse the table of the dump about to leave the window, if one is.
  const bool reuse = kept_.size() >= 2 && kept_[1].at <= at - window_;
  Kept k;
  if (reuse) {
    k = std::move(kept_.front());
    kept_.pop_front();
  }
  k.at = at;
  k.bytes.fill(flows, newestKeys_);
  kept_.push_back(std::move(k));
  std::swap(newest_, flows);
  // Keep the newest dump at or before now - window (the window's start) and everything after.
  while (kept_.size() >= 2 && kept_[1].at <= at - window_) kept_.pop_front();
  flows.clear();
  return flows;
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
  for (std::size_t i = 0; i < newest_.size(); ++i) {
    const Flow& f = newest_[i];
    const std::uint64_t before = old.bytes.find(newestKeys_[i]);
    // A counter below its old value is another entry under the same key: count it whole.
    const std::uint64_t delta = f.bytes >= before ? f.bytes - before : f.bytes;
    if (delta == 0) continue;
    rates.push_back({f, static_cast<double>(delta) / span});
  }
  // Sources: the moving flows ordered by source address, each run summed.
  std::vector<const FlowRate*> bySource(rates.size());
  for (std::size_t i = 0; i < rates.size(); ++i) bySource[i] = &rates[i];
  auto sourceLess = [](const FlowRate* a, const FlowRate* b) {
    return a->flow.family != b->flow.family ? a->flow.family < b->flow.family : a->flow.src < b->flow.src;
  };
  std::sort(bySource.begin(), bySource.end(), sourceLess);
  std::vector<SourceRate> sources;
  for (const FlowRate* fr : bySource) {
    if (sources.empty() || sources.back().family != fr->flow.family || sources.back().address != fr->flow.src) {
      sources.push_back({fr->flow.family, fr->flow.src, 0, 0});
    }
    sources.back().bytesPerSecond += fr->bytesPerSecond;
    ++sources.back().flows;
  }
  auto byRate = [](const auto& a, const auto& b) { return a.bytesPerSecond > b.bytesPerSecond; };
  const std::size_t nf = std::min(n, rates.size());
  std::partial_sort(rates.begin(), rates.begin() + static_cast<std::ptrdiff_t>(nf), rates.end(), byRate);
  rates.resize(nf);
  r.flows = std::move(rates);
  const std::size_t ns = std::min(n, sources.size());
  std::partial_sort(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(ns), sources.end(), byRate);
  sources.resize(ns);
  r.sources = std::move(sources);
  return r;
}

}  // namespace bulwark::conntrack
