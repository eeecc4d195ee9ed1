#pragma once
// A policy's files read from disk, bounded: regular files only (opened O_NONBLOCK and checked
// with fstat, so a FIFO, a device or a socket is refused without blocking and without reading
// a byte), at most kMaxPolicyFiles files and kMaxPolicyBytes in total, and -- for bulwarkd's own
// policy dir -- no symbolic links (O_NOFOLLOW). bulwarkctl reads with its caller's rights;
// bulwarkd reads only the directory it was configured with (it never opens a path a client
// names: clients send the files' content, see bulwark/gateway/protocol.h).
//
// Source names end up in diagnostics, in history and in the comments of kernel rules
// ("campus.yaml:78"), so a name with a NUL or another control character is refused up front
// (sourceNameProblem): the kernel would cut a comment at the NUL and the read-back would no
// longer match what was written.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/policies/loader.h"

namespace bulwark::policies {

inline constexpr std::size_t kMaxPolicyBytes = 16u << 20;  // all files of one policy together
inline constexpr std::size_t kMaxPolicyFiles = 256;
inline constexpr std::size_t kMaxSourceNameBytes = 1024;

struct SourceLimits {
  std::size_t maxFiles = kMaxPolicyFiles;
  std::size_t maxTotalBytes = kMaxPolicyBytes;
  bool followSymlinks = true;  // false: O_NOFOLLOW on every file (the configured dir itself may be a link)
};

struct ReadSources {
  std::vector<Source> sources;  // in loadPolicy order (sorted by name)
  std::string error;            // "PATH: error: ..." when not empty (sources then incomplete)
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// A file, or the *.yaml / *.yml files of a directory (listPolicyFiles' choice), read within
// `limits`. Names are the paths as found.
[[nodiscard]] ReadSources readPolicySources(const std::filesystem::path& path, const SourceLimits& limits = {});

// Why `name` cannot name a source (empty, longer than kMaxSourceNameBytes, a NUL or another
// control character), or "" when it can.
[[nodiscard]] std::string sourceNameProblem(std::string_view name);

// `text` fit for one line of a log or a diagnostic: control characters, DEL and backslash as
// \xNN, cut after `maxBytes` input bytes (then "..." is appended).
[[nodiscard]] std::string printable(std::string_view text, std::size_t maxBytes = 256);

}  // namespace bulwark::policies
