#pragma once
// What the editor holds against what is saved and against the working copy's last commit:
// `git diff --no-index` over a temporary tree (saved/, HEAD/, editor/), so the buffer is
// compared without touching the working copy, its index or its object store.
#include <QString>

#include <vector>

namespace bulwark::console {

struct WorkingFile {
  QString path;  // on disk
  QString name;  // the file name shown
  QString text;  // the editor's text
};

struct WorkingDiff {
  QString text;   // both parts, each under a "== … ==" heading
  QString error;  // git missing, or nothing to compare
};

// Blocking (runs git up to 2 + N times, each bounded to kGitMillis): call it off the GUI thread.
[[nodiscard]] WorkingDiff workingDiff(const QString& root, const std::vector<WorkingFile>& files);
inline constexpr int kGitMillis = 10000;

}  // namespace bulwark::console
