#pragma once
// Where a policy comes from (the daemon's directory, a path named in a request, or sources
// sent inline), its content hash, its Git commit, and loading + validating it.
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
  std::string hash;       // sha256 over names and texts, hex
};

// Reads the files loadPolicy(path) would read. Errors: missing path, unreadable files.
[[nodiscard]] gateway::Result<PolicyInput> readPolicyPath(const std::filesystem::path& path);
// From a request's "sources" array: [{"name": ..., "text": ...}].
[[nodiscard]] gateway::Result<PolicyInput> policyFromJson(const nlohmann::json& sources);

[[nodiscard]] std::string sha256Hex(const std::vector<policies::Source>& sources);
// `git -C DIR rev-parse HEAD` (no shell); empty when DIR is not in a repository.
[[nodiscard]] std::string gitCommitOf(const std::filesystem::path& dir);

// loadPolicy + validatePolicy, diagnostics sorted.
[[nodiscard]] policies::LoadResult loadAndValidate(const PolicyInput& in);

// Diagnostics as "file:line:col: error: message" strings.
[[nodiscard]] std::vector<std::string> diagnosticLines(const policies::Diagnostics& d);

}  // namespace bulwark::daemon
