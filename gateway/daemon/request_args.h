#pragma once
// The arguments of the control API's operations, checked in one place before a handler acts
// on them: types, ranges and sizes. Pure (the request dispatch fuzz target runs them too).
// Error texts say what was wrong and never quote the client's bytes.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/gateway/protocol.h"
#include "bulwark/gateway/result.h"
#include "policy_input.h"
#include "kept_flow.h"

namespace bulwark::daemon {

inline constexpr std::size_t kDefaultHistory = 50;
inline constexpr std::size_t kMaxHistory = 1000;
inline constexpr std::size_t kMaxUserBytes = 64;
inline constexpr std::size_t kMaxSessionBytes = 128;
inline constexpr std::size_t kMaxParts = 8;
inline constexpr std::size_t kMaxPartBytes = 32;
// A Git object name: abbreviated (git's shortest is 7) up to SHA-256's 64 hex digits.
inline constexpr std::size_t kMinCommitHex = 7;
inline constexpr std::size_t kMaxCommitHex = 64;

// plan/apply "sources": nullopt when absent or null (the daemon's own policy dir); the texts
// are moved out of the request (policyFromJson: at most 256 files, 16 MiB, clean names).
// Their Git commit is the request's "git_commit" (gitCommitArg), which needs "sources".
[[nodiscard]] gateway::Result<std::optional<PolicyInput>> sourcesArg(gateway::Request& req);
// plan/apply "git_commit": the commit the client read the sources from, as the client says
// ("-dirty": the sources differ from it); recorded with the revision so History names it.
// Empty when absent or null; else kMinCommitHex..kMaxCommitHex lowercase hex digits and an
// optional "-dirty" -- nothing else reaches the history file, the audit log or a reply.
[[nodiscard]] gateway::Result<std::string> gitCommitArg(const gateway::Request& req);
// apply "confirm": absent/null, or whole seconds 1..maxSeconds.
[[nodiscard]] gateway::Result<std::optional<int>> confirmArg(const gateway::Request& req, int maxSeconds);
// A boolean flag ("local_only", "resync_peer"): false when absent or null.
[[nodiscard]] gateway::Result<bool> flagArg(const gateway::Request& req, const char* name);
// rollback / revision / peer-apply "revision": 1 .. 2^31-1, range-checked before any
// conversion (4294967297 is not 1).
[[nodiscard]] gateway::Result<int> revisionArg(const gateway::Request& req);
// history "limit": an unsigned number, at most kMaxHistory; kDefaultHistory when absent.
[[nodiscard]] std::size_t historyLimitArg(const gateway::Request& req);
// apply "keep_established": absent/null = false, else a boolean (revocation is skipped).
[[nodiscard]] gateway::Result<bool> keepEstablishedArg(const gateway::Request& req);
// apply "session": the client's SSH session ($SSH_CONNECTION: "client_ip client_port
// server_ip server_port", at most kMaxSessionBytes), never cut by this apply's revocation.
[[nodiscard]] gateway::Result<std::optional<engine::KeptFlow>> sessionArg(const gateway::Request& req);
// plan/apply "parts": absent/null = every kind; else 1..kMaxParts distinct names of
// 1..kMaxPartBytes bytes of [a-z] (the handler checks them against the daemon's kinds).
[[nodiscard]] gateway::Result<std::vector<std::string>> partsArg(const gateway::Request& req);
// terminate "user": 1..kMaxUserBytes bytes, no control characters.
[[nodiscard]] gateway::Result<std::string> terminateUserArg(const gateway::Request& req);

}  // namespace bulwark::daemon
