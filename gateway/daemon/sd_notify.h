#pragma once
// systemd integration: READY/STATUS/WATCHDOG/RELOADING/STOPPING. All no-ops when the daemon
// is not started by systemd (no $NOTIFY_SOCKET).
#include <chrono>
#include <string>

namespace bulwark::daemon {

void notifyReady(const std::string& status);
void notifyStatus(const std::string& status);
void notifyReloading();
void notifyStopping();
void notifyWatchdog();
// Half the configured WatchdogSec, or zero when there is no watchdog.
[[nodiscard]] std::chrono::milliseconds watchdogInterval();

}  // namespace bulwark::daemon
