#pragma once
// What the editor holds against what is saved and against the working copy's last commit:
// `git diff --no-index` over a temporary tree (saved/, HEAD/, editor/), so the buffer is
// compared without touching the working copy, its index or its object store.
#include <QString>
#include <QStringList>

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

// The files as the working copy's HEAD has them (`git show HEAD:./file`, bounded like every
// git run here), named as the editor names them: what the text diff and the Review view
// (policy_review.h) compare the editor against.
struct HeadFiles {
  std::vector<WorkingFile> files;  // path and name as given, text from HEAD
  QStringList notInHead;           // names HEAD does not have
  QString problem;                 // "(ROOT is not a Git working copy with a commit)", git missing
};
// Blocking (1 + N git runs): off the GUI thread.
[[nodiscard]] HeadFiles headFiles(const QString& root, const std::vector<WorkingFile>& files);

// Blocking (runs git up to 2 + N times, each bounded to kGitMillis): call it off the GUI thread.
[[nodiscard]] WorkingDiff workingDiff(const QString& root, const std::vector<WorkingFile>& files);
inline constexpr int kGitMillis = 10000;

}  // namespace bulwark::console
