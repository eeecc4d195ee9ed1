#include "sd_notify.h"

#include <systemd/sd-daemon.h>

namespace bulwark::daemon {

void notifyReady(const std::string& status) { sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str()); }
void notifyStatus(const std::string& status) { sd_notifyf(0, "STATUS=%s", status.c_str()); }
void notifyReloading() { sd_notify(0, "RELOADING=1"); }
void notifyStopping() { sd_notify(0, "STOPPING=1"); }
void notifyWatchdog() { sd_notify(0, "WATCHDOG=1"); }

std::chrono::milliseconds watchdogInterval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(usec / 2000);
}

}  // namespace bulwark::daemon
