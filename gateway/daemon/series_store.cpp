#include "series_store.h"

#include <cstdio>
#include <limits>

namespace bulwark::daemon {

namespace {
constexpr float kGap = std::numeric_limits<float>::quiet_NaN();
}

void SeriesStore::advanceTo(std::int64_t t) {
  if (columns_ == 0) {
    tEnd_ = t;
    columns_ = 1;
    head_ = 0;
    for (auto& [k, r] : series_) r.v[head_] = kGap;
    return;
  }
  // A jump of more than an hour (clock set, loop asleep) leaves nothing worth keeping.
  std::int64_t steps = std::min<std::int64_t>(t - tEnd_, static_cast<std::int64_t>(kPoints));
  for (std::int64_t i = 0; i < steps; ++i) {
    head_ = (head_ + 1) % kPoints;
    for (auto& [k, r] : series_) r.v[head_] = kGap;
  }
  columns_ = std::min(kPoints, columns_ + static_cast<std::size_t>(steps));
  tEnd_ = t;
}

void SeriesStore::record(std::int64_t t, const std::vector<std::pair<std::string, double>>& values) {
  std::lock_guard lock(mutex_);
  if (columns_ > 0 && t <= tEnd_) return;
  advanceTo(t);
  for (const auto& [key, value] : values) {
    auto it = series_.find(key);
    if (it == series_.end()) {
      if (series_.size() >= kMaxSeries) {
        ++refused_;
        continue;
      }
      Ring r;
      r.v = std::make_unique<float[]>(kPoints);
      for (std::size_t i = 0; i < kPoints; ++i) r.v[i] = kGap;
      it = series_.emplace(key, std::move(r)).first;
    }
    it->second.v[head_] = static_cast<float>(value);
    it->second.lastSet = t;
  }
  for (auto it = series_.begin(); it != series_.end();) {
    if (t - it->second.lastSet >= static_cast<std::int64_t>(kPoints)) {
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string SeriesStore::historyJson() const {
  std::vector<std::pair<std::string, std::vector<float>>> copy;
  std::int64_t tEnd = 0;
  std::size_t n = 0;
  {
    std::lock_guard lock(mutex_);
    tEnd = tEnd_;
    n = columns_;
    copy.reserve(series_.size());
    const std::size_t first = (head_ + kPoints + 1 - n) % kPoints;  // oldest filled column
    for (const auto& [key, r] : series_) {
      std::vector<float> v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = r.v[(first + i) % kPoints];
      copy.emplace_back(key, std::move(v));
    }
  }
  std::string out;
  out.reserve(64 + copy.size() * (n * 7 + 32));
  out += "{\"t_end\":" + std::to_string(tEnd) + ",\"step\":1,\"n\":" + std::to_string(n) + ",\"series\":{";
  char buf[32];
  bool firstKey = true;
  for (const auto& [key, v] : copy) {
    if (!firstKey) out += ',';
    firstKey = false;
    out += '"';
    for (char c : key) {  // keys are policy names and fixed words; escape what JSON needs anyway
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    out += "\":[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out += ',';
      if (std::isnan(v[i])) {
        out += "null";
      } else {
        int len = std::snprintf(buf, sizeof buf, "%.4g", static_cast<double>(v[i]));
        out.append(buf, static_cast<std::size_t>(len));
      }
    }
    out += ']';
  }
  out += "}}";
  return out;
}

std::size_t SeriesStore::seriesCount() const {
  std::lock_guard lock(mutex_);
  return series_.size();
}

std::size_t SeriesStore::refused() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

std::size_t SeriesStore::bytes() const {
  std::lock_guard lock(mutex_);
  return series_.size() * kPoints * sizeof(float);
}

}  // namespace bulwark::daemon
