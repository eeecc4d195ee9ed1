#pragma once
// Every applied policy, under STATE_DIR/revisions/NNNNNN.json (one file per revision, written
// to a temporary file, fsync'ed and renamed): number, hash, who, when, Git commit, origin,
// plan summary, status, and the policy sources themselves, so `rollback N` can re-apply it.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/result.h"
#include "bulwark/policies/loader.h"

namespace bulwark::daemon {

struct Revision {
  int number = 0;
  std::string hash;
  std::string who;     // "alice (uid 1000)", "bulwarkd (startup)"
  long uid = -1;       // -1: the daemon itself
  std::string time;    // UTC, ISO 8601
  std::string gitCommit;
  std::string origin;  // policy dir, path or "payload"
  std::string summary; // plan summary
  std::string status;  // applied | pending | confirmed | rolled-back
  std::vector<std::string> parts;  // the kinds this revision applied (`parts`); empty: all
  std::vector<policies::Source> sources;  // only in load(); empty in list()

  [[nodiscard]] nlohmann::json meta() const;  // without sources
};

class History {
 public:
  [[nodiscard]] static gateway::Result<History> open(const std::filesystem::path& stateDir);

  // Assigns the next number and writes the revision. `number` > 0: that number instead (an HA
  // pair records a pair apply under the same number on both nodes); it must be above latest().
  [[nodiscard]] gateway::Result<int> record(Revision rev, int number = 0);
  [[nodiscard]] gateway::Status setStatus(int number, const std::string& status);
  [[nodiscard]] gateway::Result<Revision> load(int number) const;
  // Newest first, at most `limit`.
  [[nodiscard]] std::vector<Revision> list(std::size_t limit) const;
  [[nodiscard]] const Revision* latest() const { return revs_.empty() ? nullptr : &revs_.back(); }
  [[nodiscard]] const Revision* find(int number) const;
  // Revision `number`'s file when it is one of this history's (nullopt otherwise): the
  // `revision` op reads it on the policy worker with loadFile, away from the loop.
  [[nodiscard]] std::optional<std::filesystem::path> fileIfRecorded(int number) const;
  // One revision file, sources included.
  [[nodiscard]] static gateway::Result<Revision> loadFile(const std::filesystem::path& file);
  // The state dir History::open() was given (revisions live in its "revisions" subdir).
  [[nodiscard]] std::filesystem::path stateDir() const { return dir_.parent_path(); }

 private:
  explicit History(std::filesystem::path dir) : dir_(std::move(dir)) {}
  [[nodiscard]] std::filesystem::path fileOf(int number) const;
  [[nodiscard]] gateway::Status write(const Revision& rev) const;
  std::filesystem::path dir_;
  std::vector<Revision> revs_;  // metadata, oldest first
};

// Writes `data` to `path` atomically (tmp + fsync + rename), mode 0600.
[[nodiscard]] gateway::Status writeFileAtomic(const std::filesystem::path& path, const std::string& data);
[[nodiscard]] std::string utcNow();
// A JSON object from a file (errors: unreadable, not a JSON object).
[[nodiscard]] gateway::Result<nlohmann::json> readJsonFile(const std::filesystem::path& path);

}  // namespace bulwark::daemon
