#include "conntrack_pressure.h"

#include <cstdio>

namespace bulwark::daemon {

std::optional<AuditEvent> ConntrackPressure::update(const ConntrackUsage& u) {
  if (u.entries < 0 || u.limit <= 0) return std::nullopt;
  const double use = static_cast<double>(u.entries) / static_cast<double>(u.limit);
  if (high_ ? use >= kLow : use < kHigh) return std::nullopt;
  high_ = !high_;
  if (high_) ++crossings_;
  char pct[16];
  std::snprintf(pct, sizeof pct, "%.1f", use * 100);
  const std::string table = "conntrack " + std::to_string(u.entries) + " of " + std::to_string(u.limit) + " entries (" +
                            pct + " %)";
  AuditEvent e;
  e.event = high_ ? "conntrack-pressure" : "conntrack-pressure-cleared";
  e.who = "bulwarkd (monitor)";
  e.summary = high_ ? table + ": over 80 %, new connections are dropped when it is full"
                    : table + ": below 70 % again";
  e.ok = !high_;
  e.detail = {{"entries", u.entries}, {"max", u.limit}, {"percent", use * 100}};
  return e;
}

std::string ConntrackPressure::metrics() const {
  return "# HELP bulwark_conntrack_pressure 1 while the conntrack table is over 80 % full (until below 70 %).\n"
         "# TYPE bulwark_conntrack_pressure gauge\n"
         "bulwark_conntrack_pressure " + std::to_string(high_ ? 1 : 0) + "\n"
         "# HELP bulwark_conntrack_pressure_events_total Times the conntrack table went over 80 % full.\n"
         "# TYPE bulwark_conntrack_pressure_events_total counter\n"
         "bulwark_conntrack_pressure_events_total " + std::to_string(crossings_) + "\n";
}

}  // namespace bulwark::daemon
