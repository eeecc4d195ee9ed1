#pragma once
// Where `bulwarkctl diff` reads the two sides of a change: a policy path on disk (the working
// tree), or a Git revision of the repository that holds the policy -- its files as that
// commit has them, read with `git show REV:path` (git run directly, never through a shell; a
// revision that looks like an option is refused). The files keep the loader's rules: a file,
// or a directory's *.yaml / *.yml (not recursive), bounded like a policy read from disk.
#include <string>

#include "bulwark/review/review.h"

namespace bulwark::cli {

struct ReadSide {
  review::ReviewInput input;
  std::string error;  // "...: error: ..." when the side cannot be read
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// The policy at `path` as it is on disk; sources named as the path is written.
[[nodiscard]] ReadSide readWorkingTree(const std::string& path);

// The policy at `path` (a file or directory inside a Git work tree) as revision `rev` has it;
// sources named "REV:path" so locations say which side they are in.
[[nodiscard]] ReadSide readRevision(const std::string& path, const std::string& rev);

// The commit the policy at `path` is read from, as bulwarkd records it with an applied
// revision ("git_commit"): HEAD's object name, with "-dirty" when the working tree's files at
// `path` differ from HEAD's (changed, staged or untracked). Empty outside a Git work tree.
[[nodiscard]] std::string commitClaim(const std::string& path);

// `spec` names an existing file or directory: read it; otherwise it is a revision of the
// repository of `policyPath`.
[[nodiscard]] ReadSide readSide(const std::string& policyPath, const std::string& spec);

}  // namespace bulwark::cli
