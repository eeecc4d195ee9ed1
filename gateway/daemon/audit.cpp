#include "audit.h"

#include <fcntl.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>

#include "history.h"

namespace bulwark::daemon {

gateway::Result<AuditLog> AuditLog::open(const std::filesystem::path& file, bool journal) {
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return gateway::sysError("cannot open audit log " + file.string(), errno);
  return AuditLog(UniqueFd(fd), journal);
}

nlohmann::json AuditLog::record(const AuditEvent& e) {
  nlohmann::json j{{"time", utcNow()},       {"event", e.event},         {"who", e.who},
                   {"uid", e.uid},           {"revision", e.revision},   {"policy_hash", e.policyHash},
                   {"summary", e.summary},   {"ok", e.ok}};
  if (!e.detail.empty()) j["detail"] = e.detail;
  // One write() of one line: O_APPEND keeps concurrent writers from interleaving.
  auto line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (fd_.valid()) {
    ssize_t n = ::write(fd_.get(), line.data(), line.size());
    (void)n;  // a full disk must not stop the gateway; journald still has the event
  }
  if (journal_) {
    std::string message = "bulwark " + e.event + " by " + e.who + ": " + e.summary;
    sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%i", e.ok ? LOG_NOTICE : LOG_WARNING,
                    "SYSLOG_IDENTIFIER=bulwarkd", "BULWARK_EVENT=%s", e.event.c_str(), "BULWARK_WHO=%s",
                    e.who.c_str(), "BULWARK_UID=%ld", e.uid, "BULWARK_REVISION=%d", e.revision,
                    "BULWARK_POLICY_HASH=%s", e.policyHash.c_str(), "BULWARK_SUMMARY=%s", e.summary.c_str(),
                    "BULWARK_OK=%d", e.ok ? 1 : 0, nullptr);
  }
  if (listener_) listener_(j);
  return j;
}

}  // namespace bulwark::daemon
