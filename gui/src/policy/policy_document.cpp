#include "policy/policy_document.h"

#include <QDir>
#include <QFile>
#include <QCryptographicHash>
#include <QFileInfo>
#include <QJsonObject>
#include <QSaveFile>
#include <QtConcurrent/QtConcurrentRun>

#include "policy/yaml_span.h"

namespace bulwark::console {

PolicyDocument::PolicyDocument(QObject* parent) : QObject(parent) {
  debounce_.setSingleShot(true);
  debounce_.setInterval(250);  // typing pauses; a keystroke must not start a run each
  connect(&debounce_, &QTimer::timeout, this, &PolicyDocument::startRun);
  connect(&watcher_, &QFutureWatcher<AnalysisPtr>::finished, this, &PolicyDocument::onRunDone);
  connect(&diff_, &QFutureWatcher<WorkingDiff>::finished, this, [this] {
    auto r = diff_.result();
    if (diffAgain_) {  // asked again while git ran: the text may have changed since
      diffAgain_ = false;
      requestGitDiff();
      return;
    }
    emit gitDiffReady(r.text, r.error);
  });
}

PolicyDocument::~PolicyDocument() {
  watcher_.waitForFinished();  // the run reads a copy of the sources, but its result lands here
  diff_.waitForFinished();     // bounded: each git run is
}

bool PolicyDocument::open(const QString& path, QString* error) {
  auto list = policies::listPolicyFiles(path.toStdString());
  if (!list.error.empty()) {
    if (error) *error = QString::fromStdString(list.error);
    return false;
  }
  std::vector<File> files;
  for (const auto& p : list.files) {
    QFile f(QString::fromStdString(p.string()));
    if (!f.open(QIODevice::ReadOnly)) {
      if (error) *error = QStringLiteral("cannot read %1: %2").arg(f.fileName(), f.errorString());
      return false;
    }
    auto text = QString::fromUtf8(f.readAll());
    files.push_back({f.fileName(), QFileInfo(f.fileName()).fileName(), text, false, text});
  }
  if (files.empty()) {
    if (error) *error = QStringLiteral("%1 holds no policy files").arg(path);
    return false;
  }
  QFileInfo info(path);
  root_ = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
  opened_ = info.absoluteFilePath();
  files_ = std::move(files);
  for (int i = 0; i < fileCount(); ++i) emit textReplaced(i);
  emit modifiedChanged();
  validateNow();
  return true;
}

bool PolicyDocument::reload(QString* error) {
  if (opened_.isEmpty()) {
    if (error) *error = QStringLiteral("in-memory policy: nothing to reload");
    return false;
  }
  return open(opened_, error);
}

void PolicyDocument::setSources(const std::vector<File>& files) {
  files_ = files;
  for (auto& f : files_) {
    if (!f.modified && f.saved.isEmpty()) f.saved = f.text;
    f.modified = f.text != f.saved;
  }
  root_.clear();
  opened_.clear();
  emit modifiedChanged();
  for (int i = 0; i < fileCount(); ++i) emit textReplaced(i);
  validateNow();
}

int PolicyDocument::fileIndex(const QString& name) const {
  for (int i = 0; i < fileCount(); ++i) {
    if (files_[static_cast<std::size_t>(i)].name == name) return i;
  }
  return -1;
}

bool PolicyDocument::setModified(File& f) {
  const bool was = f.modified;
  f.modified = f.text != f.saved;
  return was != f.modified;
}

void PolicyDocument::setText(int i, const QString& text) {
  auto& f = files_.at(static_cast<std::size_t>(i));
  if (f.text == text) return;
  f.text = text;
  if (setModified(f)) emit modifiedChanged();
  debounce_.start();
}

bool PolicyDocument::replaceValue(const QString& fileName, int line, int col, const QString& value, QString* error) {
  int i = fileIndex(fileName);
  if (i < 0) {
    if (error) *error = QStringLiteral("no file %1 in this policy").arg(fileName);
    return false;
  }
  auto& f = files_[static_cast<std::size_t>(i)];
  auto span = valueSpan(f.text, line, col);
  if (!span) {
    if (error) *error = QStringLiteral("%1:%2:%3 is not a one-line value; edit it in the YAML text").arg(fileName).arg(line).arg(col);
    return false;
  }
  f.text.replace(span->start, span->end - span->start, value);
  const bool flipped = setModified(f);
  emit textReplaced(i);
  if (flipped) emit modifiedChanged();
  validateNow();
  return true;
}

bool PolicyDocument::appendToSection(int i, const QString& section, const QString& block, QString* error) {
  auto& f = files_.at(static_cast<std::size_t>(i));
  auto at = sectionEnd(f.text, section);
  if (!at) {
    if (error) *error = QStringLiteral("%1 has no %2 section").arg(f.name, section);
    return false;
  }
  QString insert = block;
  if (*at > 0 && f.text[*at - 1] != QLatin1Char('\n')) insert.prepend(QLatin1Char('\n'));
  f.text.insert(*at, insert);
  const bool flipped = setModified(f);
  emit textReplaced(i);
  if (flipped) emit modifiedChanged();
  validateNow();
  return true;
}

std::vector<policies::Source> PolicyDocument::sources() const {
  std::vector<policies::Source> out;
  out.reserve(files_.size());
  for (const auto& f : files_) out.push_back({f.name.toStdString(), f.text.toStdString()});
  return out;
}

QJsonArray PolicyDocument::sourcesJson() const {
  QJsonArray out;
  for (const auto& f : files_) out.append(QJsonObject{{"name", f.name}, {"text", f.text}});
  return out;
}

bool PolicyDocument::modified() const {
  return std::any_of(files_.begin(), files_.end(), [](const File& f) { return f.modified; });
}

bool PolicyDocument::save(QString* error) {
  for (auto& f : files_) {
    if (!f.modified || f.path.isEmpty()) continue;
    QSaveFile out(f.path);  // write + rename: a crash never leaves half a policy
    if (!out.open(QIODevice::WriteOnly) || out.write(f.text.toUtf8()) < 0 || !out.commit()) {
      if (error) *error = QStringLiteral("cannot write %1: %2").arg(f.path, out.errorString());
      return false;
    }
    f.saved = f.text;
    f.modified = false;
  }
  emit modifiedChanged();
  return true;
}

QString PolicyDocument::policyHash() const {
  QCryptographicHash h(QCryptographicHash::Sha256);
  for (const auto& f : files_) {
    h.addData(f.name.toUtf8());
    h.addData(QByteArrayView("\0", 1));
    h.addData(f.text.toUtf8());
    h.addData(QByteArrayView("\0", 1));
  }
  return QString::fromLatin1(h.result().toHex());
}

void PolicyDocument::requestGitDiff() {
  if (root_.isEmpty()) {
    emit gitDiffReady({}, QStringLiteral("in-memory policy: no working copy"));
    return;
  }
  if (diff_.isRunning()) {
    diffAgain_ = true;  // one at a time; the newest text is diffed when it ends
    return;
  }
  diff_.setFuture(QtConcurrent::run(&workingDiff, root_, workingFiles(), applied_));
}

std::vector<WorkingFile> PolicyDocument::workingFiles() const {
  std::vector<WorkingFile> files;
  for (const auto& f : files_) {
    if (!f.path.isEmpty()) files.push_back({f.path, f.name, f.text});
  }
  return files;
}

void PolicyDocument::validateNow() {
  debounce_.stop();
  startRun();
}

void PolicyDocument::startRun() {
  if (watcher_.isRunning()) {
    rerun_ = true;  // picked up in onRunDone: never two runs at once
    return;
  }
  rerun_ = false;
  emit validationStarted();
  watcher_.setFuture(QtConcurrent::run(&analysePolicy, sources(), ++generation_));
}

void PolicyDocument::onRunDone() {
  auto result = watcher_.result();
  if (rerun_) {
    startRun();
    return;  // stale: the text changed while it ran
  }
  analysis_ = result;
  emit analysed(analysis_);
}

}  // namespace bulwark::console
