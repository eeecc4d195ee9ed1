#pragma once
// Conntrack pressure: the table filling up (a SYN flood, many half-open connections) shows
// before it is full, when new connections start to be dropped. Once a second bulwarkd reads
// nf_conntrack_count / nf_conntrack_max; crossing 80 % is one event ("conntrack-pressure":
// journald, STATE/audit.log, the events stream, the web view's last changes, as a failing
// health check is), falling below 70 % again is another ("conntrack-pressure-cleared"). The
// gap between the two thresholds keeps a table that hovers at 80 % from giving an event a
// second. The Prometheus alert in docs/monitoring fires on the same 80 %.
#include <cstdint>
#include <optional>
#include <string>

#include "audit.h"
#include "counters.h"

namespace bulwark::daemon {

class ConntrackPressure {
 public:
  static constexpr double kHigh = 0.80;  // entries/max at or above: pressure
  static constexpr double kLow = 0.70;   // below: pressure over

  // One reading. Returns the event to record when it crosses a threshold (revision and
  // policy hash left to the caller); nothing for an unreadable table (entries or max < 0).
  [[nodiscard]] std::optional<AuditEvent> update(const ConntrackUsage& u);

  [[nodiscard]] bool high() const { return high_; }
  [[nodiscard]] std::uint64_t crossings() const { return crossings_; }
  // bulwark_conntrack_pressure (0/1) and bulwark_conntrack_pressure_events_total (Prometheus text).
  [[nodiscard]] std::string metrics() const;

 private:
  bool high_ = false;
  std::uint64_t crossings_ = 0;  // times it went above kHigh
};

}  // namespace bulwark::daemon
