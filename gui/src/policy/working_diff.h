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

struct NamedText {
  QString name;  // a daemon's revision names files by path: only the base name counts
  QString text;
};

// The revision the gateway runs, as `revision N` gave it (revision 0: none known -- not
// connected, nothing applied yet, or `problem`).
struct AppliedTexts {
  int revision = 0;
  std::vector<NamedText> files;
  QString problem;
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

// Three parts: against the saved files, against HEAD, and against the revision the gateway
// runs (`applied`). Blocking (runs git up to 3 + N times, each bounded to kGitMillis): call it
// off the GUI thread.
[[nodiscard]] WorkingDiff workingDiff(const QString& root, const std::vector<WorkingFile>& files,
                                      const AppliedTexts& applied = {});

// The commit the editor's texts come from, as bulwarkd records it with an apply
// ("git_commit"): the working copy's HEAD, with "-dirty" when any text differs from HEAD's
// file (edited, saved or not, or not in HEAD). Empty when `root` has no commit or git is
// missing. Blocking (1 + N git runs): off the GUI thread.
[[nodiscard]] QString commitClaim(const QString& root, const std::vector<WorkingFile>& files);

// Two sets of policy texts (two revisions the gateway applied), one unified diff under
// `heading`; files named by their base names; `same` when they do not differ. Blocking
// (one git run): off the GUI thread.
[[nodiscard]] WorkingDiff textsDiff(const QString& heading, const QString& fromLabel,
                                    const std::vector<NamedText>& from, const QString& toLabel,
                                    const std::vector<NamedText>& to, const QString& same);
inline constexpr int kGitMillis = 10000;

}  // namespace bulwark::console
