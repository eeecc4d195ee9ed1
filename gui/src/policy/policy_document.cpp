#include "policy/policy_document.h"

#include <QDir>
#include <QFile>
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
}

PolicyDocument::~PolicyDocument() {
  watcher_.waitForFinished();  // the run reads a copy of the sources, but its result lands here
  if (git_) {
    git_->kill();
    git_->waitForFinished(1000);
  }
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
    files.push_back({f.fileName(), QFileInfo(f.fileName()).fileName(), QString::fromUtf8(f.readAll()), false});
  }
  if (files.empty()) {
    if (error) *error = QStringLiteral("%1 holds no policy files").arg(path);
    return false;
  }
  QFileInfo info(path);
  root_ = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
  files_ = std::move(files);
  for (int i = 0; i < fileCount(); ++i) emit textReplaced(i);
  emit modifiedChanged();
  validateNow();
  return true;
}

void PolicyDocument::setSources(const std::vector<File>& files) {
  files_ = files;
  root_.clear();
  for (int i = 0; i < fileCount(); ++i) emit textReplaced(i);
  validateNow();
}

int PolicyDocument::fileIndex(const QString& name) const {
  for (int i = 0; i < fileCount(); ++i) {
    if (files_[static_cast<std::size_t>(i)].name == name) return i;
  }
  return -1;
}

void PolicyDocument::setText(int i, const QString& text) {
  auto& f = files_.at(static_cast<std::size_t>(i));
  if (f.text == text) return;
  f.text = text;
  if (!f.modified) {
    f.modified = true;
    emit modifiedChanged();
  }
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
  f.modified = true;
  emit textReplaced(i);
  emit modifiedChanged();
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
  f.modified = true;
  emit textReplaced(i);
  emit modifiedChanged();
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
    f.modified = false;
  }
  emit modifiedChanged();
  return true;
}

void PolicyDocument::requestGitDiff() {
  if (root_.isEmpty()) {
    emit gitDiffReady({}, QStringLiteral("in-memory policy: no working copy"));
    return;
  }
  if (git_) return;  // one at a time; its result is current enough
  git_ = new QProcess(this);
  git_->setWorkingDirectory(root_);
  connect(git_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus st) {
    auto out = QString::fromUtf8(git_->readAllStandardOutput());
    auto err = QString::fromUtf8(git_->readAllStandardError()).trimmed();
    git_->deleteLater();
    git_ = nullptr;
    if (st != QProcess::NormalExit || code != 0) {
      emit gitDiffReady({}, err.isEmpty() ? QStringLiteral("git diff failed (%1)").arg(code) : err);
      return;
    }
    emit gitDiffReady(out.isEmpty() ? QStringLiteral("(no changes against the working copy's index)") : out, {});
  });
  connect(git_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart) return;
    git_->deleteLater();
    git_ = nullptr;
    emit gitDiffReady({}, QStringLiteral("git is not installed"));
  });
  git_->start(QStringLiteral("git"), {QStringLiteral("diff"), QStringLiteral("--no-color"), QStringLiteral("--"), QStringLiteral(".")});
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
