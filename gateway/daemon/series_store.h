#pragma once
// The web view's history: the last hour at 1 s resolution per series (a segment's bits/s in,
// a zone pair's dropped packets/s, ...), in ring buffers of floats. Bounded: kPoints columns,
// at most kMaxSeries series (more are refused and counted), a series not set for a whole
// hour is dropped. The loop records one column a second; the web server's threads render
// the history (historyJson) under the same mutex, copying first so that the lock is held
// for a copy, not for the rendering.
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace bulwark::daemon {

class SeriesStore {
 public:
  static constexpr std::size_t kPoints = 3600;
  static constexpr std::size_t kMaxSeries = 512;  // 7.4 MB of floats at most

  // Loop thread: the values at wall-clock second `t` (unix time). Seconds skipped since the
  // last call are gaps (NaN, null in JSON); a `t` not after the last is ignored. Keys not in
  // `values` get a gap at `t`.
  void record(std::int64_t t, const std::vector<std::pair<std::string, double>>& values);

  // Any thread: {"t_end": <last t>, "step": 1, "n": <columns>, "series": {key: [v|null...]}},
  // oldest first, values rounded to 4 significant digits.
  [[nodiscard]] std::string historyJson() const;

  [[nodiscard]] std::size_t seriesCount() const;
  [[nodiscard]] std::size_t refused() const;  // keys refused at the kMaxSeries bound
  [[nodiscard]] std::size_t bytes() const;    // memory held by the rings

 private:
  struct Ring {
    std::unique_ptr<float[]> v;
    std::int64_t lastSet = 0;  // t of the last real value
  };
  void advanceTo(std::int64_t t);  // mutex held

  mutable std::mutex mutex_;
  std::map<std::string, Ring, std::less<>> series_;
  std::int64_t tEnd_ = 0;    // t of the newest column
  std::size_t columns_ = 0;  // filled columns, <= kPoints
  std::size_t head_ = 0;     // index of the newest column
  std::size_t refused_ = 0;
};

}  // namespace bulwark::daemon
