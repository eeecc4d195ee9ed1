#pragma once
// Where a policy comes from -- the daemon's own policy dir, or sources a client sent inline
// (the daemon never opens a path a client names) -- its content hash, its Git commit, and
// loading + validating it. Everything here may run on the policy worker thread: no state.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/result.h"
#include "bulwark/policies/loader.h"

namespace bulwark::daemon {

struct PolicyInput {
  std::vector<policies::Source> sources;
  std::string origin;     // "dir /etc/bulwark/policy", "payload", ...
  std::string gitCommit;  // empty unless read from a directory inside a Git work tree
  std::string hash;       // sha256 over names and texts, hex (withHash() fills it in)
  // The kinds to plan or apply ("firewall", "links", "vpn", ...): the request's `parts`, or a
  // revision's record for its rollback. Empty: every kind. The others are left as they are.
  std::vector<std::string> parts;
};

// The daemon's own policy dir (or file), as --policy names it: regular files only, opened
// O_NOFOLLOW | O_NONBLOCK (a symlink, FIFO or device in the dir is an error, never followed
// or waited on), at most policies::kMaxPolicyBytes in all. Hash and Git commit included.
[[nodiscard]] gateway::Result<PolicyInput> readPolicyDir(const std::filesystem::path& dir);
// A request's "sources" array, [{"name": ..., "text": ...}], checked against the protocol's
// bounds (files, bytes, names: policies/source_files.h); the texts are moved out of `sources`.
// No hash yet (withHash, on the worker: hashing 16 MiB takes tens of ms).
[[nodiscard]] gateway::Result<PolicyInput> policyFromJson(nlohmann::json& sources);
// The inverse: sources as a request's (or a reply's) "sources" array.
[[nodiscard]] nlohmann::json sourcesJson(const std::vector<policies::Source>& sources);
// `in` with its hash computed (when empty).
[[nodiscard]] PolicyInput withHash(PolicyInput in);

[[nodiscard]] std::string sha256Hex(const std::vector<policies::Source>& sources);
// `git -C DIR rev-parse HEAD` (no shell); empty when DIR is not in a repository.
[[nodiscard]] std::string gitCommitOf(const std::filesystem::path& dir);

// Diagnostics as "file:line:col: error: message" strings.
[[nodiscard]] std::vector<std::string> diagnosticLines(const policies::Diagnostics& d);

}  // namespace bulwark::daemon
