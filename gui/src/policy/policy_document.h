#pragma once
// The policy being edited: the files of a working copy (one YAML file or a directory of
// them, as bulwarkd reads its policy dir), their edited texts, and the latest validation.
//
// Validation runs the policy library on a worker thread (QtConcurrent), debounced after
// each edit; one run at a time, and a newer edit made meanwhile starts the next run when
// the current one ends, so a 10,000-flow policy never queues up work or blocks typing.
#include <QFutureWatcher>
#include <QJsonArray>
#include <QObject>
#include <QTimer>

#include <vector>

#include "policy/analysis.h"
#include "policy/working_diff.h"

namespace bulwark::console {

class PolicyDocument : public QObject {
  Q_OBJECT
 public:
  struct File {
    QString path;  // on disk ("" for in-memory sources)
    QString name;  // as diagnostics name it (the file name)
    QString text;
    bool modified = false;  // text differs from `saved`
    QString saved;          // the text as last read from or written to disk
  };

  explicit PolicyDocument(QObject* parent = nullptr);
  ~PolicyDocument() override;

  // A file or a directory of *.yaml/*.yml (policies::listPolicyFiles decides which).
  bool open(const QString& path, QString* error);
  // open() again from the same path: the editor's texts are replaced by the files on disk.
  bool reload(QString* error);
  // In-memory sources (tests, benchmark); not saved anywhere. A file's `saved` defaults to
  // its text unless it is marked modified.
  void setSources(const std::vector<File>& files);

  [[nodiscard]] int fileCount() const { return static_cast<int>(files_.size()); }
  [[nodiscard]] const File& file(int i) const { return files_.at(static_cast<std::size_t>(i)); }
  [[nodiscard]] int fileIndex(const QString& name) const;  // -1 if unknown
  [[nodiscard]] QString rootPath() const { return root_; }
  [[nodiscard]] QString openedPath() const { return opened_; }

  // The editor's text changed (the editor already shows it: no textReplaced signal).
  void setText(int i, const QString& text);
  // Replaces the YAML value written at file:line:col with `value` (already YAML), as the
  // tables and the matrix do; emits textReplaced. False + why when the place has no
  // editable value (e.g. a block list).
  bool replaceValue(const QString& fileName, int line, int col, const QString& value, QString* error);
  // Appends `block` at the end of the top-level `section` ("rules:") of file i.
  bool appendToSection(int i, const QString& section, const QString& block, QString* error);

  [[nodiscard]] std::vector<policies::Source> sources() const;
  [[nodiscard]] QJsonArray sourcesJson() const;  // [{"name", "text"}] for plan/apply
  // The files that are on disk, with the editor's texts: what the Git runs compare.
  [[nodiscard]] std::vector<WorkingFile> workingFiles() const;

  // Writes the modified files back; then `git diff` (async) shows what changed.
  bool save(QString* error);
  // Diffs the editor's texts (not only what is saved) against the saved files and against
  // the working copy's HEAD, with `git diff --no-index` on a temporary copy (a worker
  // thread, every git run bounded); gitDiffReady carries both parts.
  void requestGitDiff();
  // The revision the gateway runs (its texts), for the diff's third part; set by the window
  // from the session's status. Revision 0: none known.
  void setApplied(AppliedTexts applied) { applied_ = std::move(applied); }
  [[nodiscard]] int appliedRevision() const { return applied_.revision; }
  [[nodiscard]] bool modified() const;
  // The editor's texts hashed as bulwarkd hashes a policy's sources (`status.policy_hash`,
  // the events' policy_hash): SHA-256 over each file name, NUL, text, NUL, in order.
  [[nodiscard]] QString policyHash() const;

  [[nodiscard]] AnalysisPtr analysis() const { return analysis_; }
  [[nodiscard]] bool validating() const { return watcher_.isRunning(); }
  void setDebounce(int ms) { debounce_.setInterval(ms); }
  void validateNow();

 signals:
  void textReplaced(int file);      // a programmatic edit: editors reload the text
  void analysed(bulwark::console::AnalysisPtr analysis);
  void validationStarted();
  void gitDiffReady(const QString& diff, const QString& error);
  void modifiedChanged();

 private:
  void startRun();
  void onRunDone();
  bool setModified(File& f);  // recomputes f.modified; true when it flipped

  QString root_;
  QString opened_;
  std::vector<File> files_;
  AnalysisPtr analysis_;
  quint64 generation_ = 0;
  bool rerun_ = false;
  QTimer debounce_;
  QFutureWatcher<AnalysisPtr> watcher_;
  QFutureWatcher<WorkingDiff> diff_;
  AppliedTexts applied_;
  bool diffAgain_ = false;
};

}  // namespace bulwark::console

Q_DECLARE_METATYPE(bulwark::console::AnalysisPtr)
