#pragma once
// The audit trail: every change (apply, confirm, rollback, drift repair/alert, reload,
// refused requests that would change something) goes to journald with structured fields
// (BULWARK_EVENT, BULWARK_WHO, BULWARK_UID, BULWARK_REVISION, BULWARK_POLICY_HASH,
// BULWARK_SUMMARY) and, as one JSON line, to an append-only file (O_APPEND). Policy texts
// are never logged, only their hash; there are no secrets in a policy anyway (keys and
// certificates live with the PKI), but the rule holds for whatever is added later.
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/result.h"
#include "bulwark/base/unique_fd.h"

namespace bulwark::daemon {

struct AuditEvent {
  std::string event;    // apply, confirm, rollback, drift-repaired, drift-detected, ...
  std::string who;
  long uid = -1;
  int revision = 0;
  std::string policyHash;
  std::string summary;  // plan summary, one line
  bool ok = true;
  nlohmann::json detail = nlohmann::json::object();  // e.g. the list of changes
};

class AuditLog {
 public:
  // `journal`: also send to journald (off in tests run without it, harmless either way).
  [[nodiscard]] static gateway::Result<AuditLog> open(const std::filesystem::path& file, bool journal);
  // Returns the JSON line written (also handed to the listener, for the events stream).
  nlohmann::json record(const AuditEvent& e);
  void setListener(std::function<void(const nlohmann::json&)> fn) { listener_ = std::move(fn); }

 private:
  AuditLog(UniqueFd fd, bool journal) : fd_(std::move(fd)), journal_(journal) {}
  UniqueFd fd_;
  bool journal_ = true;
  std::function<void(const nlohmann::json&)> listener_;
};

}  // namespace bulwark::daemon
