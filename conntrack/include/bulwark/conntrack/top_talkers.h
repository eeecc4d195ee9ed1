#pragma once
// Top talkers over a sliding window from successive conntrack dumps (pure: no kernel here).
//
// Each dump is kept as a flat open-addressing table key -> bytes (no allocation per entry, no
// sort), for as long as the window needs it; a flow's rate is (bytes now - bytes in the oldest
// kept dump) / elapsed, and a flow absent from that dump started since, so all its bytes fall
// in the window. Sources sum the rates of their flows (the original direction's source
// address). Memory: 32 bytes per entry per kept dump (the table at most half full), plus the
// newest dump's flows.
#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>
#include <string>
#include <vector>

#include "bulwark/conntrack/flow.h"

namespace bulwark::conntrack {

struct FlowRate {
  Flow flow;
  double bytesPerSecond = 0;
};

struct SourceRate {
  std::uint8_t family = 0;
  std::array<std::uint8_t, 16> address{};
  double bytesPerSecond = 0;
  std::size_t flows = 0;
  [[nodiscard]] std::string text() const { return addressText(family, address); }
};

struct TopReport {
  std::vector<FlowRate> flows;      // highest first, at most n
  std::vector<SourceRate> sources;  // highest first, at most n
  double windowSeconds = 0;         // the span the rates cover (< the window after startup)
  std::size_t entries = 0;          // entries in the newest dump
};

class TopTalkers {
 public:
  explicit TopTalkers(std::chrono::seconds window = std::chrono::seconds(10)) : window_(window) {}

  // A dump taken at `at` (monotonic). Dumps older than the window (all but the newest one
  // at or before now - window) are dropped. Returns the previous dump's vector, cleared, for
  // the next dump to reuse its capacity.
  std::vector<Flow> add(std::chrono::steady_clock::time_point at, std::vector<Flow> flows);
  [[nodiscard]] TopReport top(std::size_t n = 10) const;
  [[nodiscard]] std::size_t keptDumps() const { return kept_.size(); }

 private:
  // key -> bytes, linear probing in a power-of-two table; key 0 marks an empty slot (a flow
  // whose key is 0 is stored under 1).
  class ByteTable {
   public:
    void fill(const std::vector<Flow>& flows, const std::vector<std::uint64_t>& keys);
    [[nodiscard]] std::uint64_t find(std::uint64_t key) const;  // 0 when absent

   private:
    std::vector<std::pair<std::uint64_t, std::uint64_t>> slots_;
    std::size_t mask_ = 0;
  };
  struct Kept {
    std::chrono::steady_clock::time_point at;
    ByteTable bytes;
  };
  std::chrono::seconds window_;
  std::deque<Kept> kept_;
  std::vector<Flow> newest_;
  std::vector<std::uint64_t> newestKeys_;  // newest_[i].key(), computed once
};

}  // namespace bulwark::conntrack
