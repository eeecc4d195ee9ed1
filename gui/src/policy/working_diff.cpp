#include "policy/working_diff.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>

namespace bulwark::console {

namespace {

struct GitRun {
  bool started = false;
  int code = -1;
  QByteArray out;
  QString err;
};

GitRun git(const QString& dir, const QStringList& args) {
  QProcess p;
  p.setWorkingDirectory(dir);
  p.start(QStringLiteral("git"), args);
  GitRun r;
  if (!p.waitForStarted(kGitMillis)) return r;
  r.started = true;
  if (!p.waitForFinished(kGitMillis)) {
    p.kill();
    p.waitForFinished(1000);
    r.err = QStringLiteral("git %1 took longer than %2 s").arg(args.value(0)).arg(kGitMillis / 1000);
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = p.readAllStandardOutput();
  r.err = QString::fromUtf8(p.readAllStandardError()).trimmed();
  return r;
}

bool write(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

// `git diff --no-index` exits 1 when the trees differ: that is the answer, not a failure.
QString diffTrees(const QString& tmp, const QString& from, const QString& to, const QString& same) {
  auto r = git(tmp, {QStringLiteral("diff"), QStringLiteral("--no-index"), QStringLiteral("--no-color"), from, to});
  if (r.code == 0) return same;
  if (r.code == 1) return QString::fromUtf8(r.out);
  return QStringLiteral("git diff failed: %1").arg(r.err.isEmpty() ? QString::number(r.code) : r.err);
}

}  // namespace

HeadFiles headFiles(const QString& root, const std::vector<WorkingFile>& files) {
  HeadFiles out;
  for (const auto& f : files) {
    // HEAD:./file is the file's path relative to the directory git runs in.
    auto rel = QDir(root).relativeFilePath(f.path);
    auto head = git(root, {QStringLiteral("show"), QStringLiteral("HEAD:./") + rel});
    if (head.code == 0) {
      out.files.push_back({f.path, f.name, QString::fromUtf8(head.out)});
    } else if (!head.started) {
      out.problem = QStringLiteral("(git is not installed)");
    } else if (git(root, {QStringLiteral("rev-parse"), QStringLiteral("--verify"), QStringLiteral("-q"), QStringLiteral("HEAD")}).code != 0) {
      out.problem = QStringLiteral("(%1 is not a Git working copy with a commit)").arg(root);
    } else {
      out.notInHead << f.name;
    }
  }
  return out;
}

WorkingDiff workingDiff(const QString& root, const std::vector<WorkingFile>& files, const AppliedTexts& applied) {
  QTemporaryDir tmp;
  if (!tmp.isValid()) return {{}, QStringLiteral("no temporary directory: %1").arg(tmp.errorString())};
  QDir t(tmp.path());
  const auto running = QStringLiteral("revision-%1").arg(applied.revision);
  for (const auto& d : {QStringLiteral("saved"), QStringLiteral("HEAD"), QStringLiteral("editor"), running}) t.mkdir(d);
  if (!git(tmp.path(), {QStringLiteral("--version")}).started) return {{}, QStringLiteral("git is not installed")};

  for (const auto& f : files) {
    if (!write(t.filePath(QStringLiteral("editor/") + f.name), f.text.toUtf8())) {
      return {{}, QStringLiteral("cannot write a temporary copy of %1").arg(f.name)};
    }
    QFile disk(f.path);
    if (disk.open(QIODevice::ReadOnly)) write(t.filePath(QStringLiteral("saved/") + f.name), disk.readAll());
  }
  auto head = headFiles(root, files);
  for (const auto& f : head.files) write(t.filePath(QStringLiteral("HEAD/") + f.name), f.text.toUtf8());
  const auto& notInHead = head.notInHead;
  const auto& headProblem = head.problem;

  QStringList out;
  out << QStringLiteral("== the editor against the saved files (b/editor = unsaved edits) ==")
      << diffTrees(tmp.path(), QStringLiteral("saved"), QStringLiteral("editor"),
                   QStringLiteral("(no unsaved edits: the editor holds what is saved)\n"));
  out << QStringLiteral("== the editor against HEAD (the working copy's last commit) ==");
  if (!headProblem.isEmpty()) {
    out << headProblem;
  } else {
    if (!notInHead.isEmpty()) out << QStringLiteral("(not in HEAD: %1)").arg(notInHead.join(QStringLiteral(", ")));
    out << diffTrees(tmp.path(), QStringLiteral("HEAD"), QStringLiteral("editor"),
                     QStringLiteral("(no changes: the editor holds what HEAD has)\n"));
  }
  if (applied.revision <= 0) {
    out << QStringLiteral("== the editor against the gateway's running revision ==")
        << (applied.problem.isEmpty() ? QStringLiteral("(no running revision known: not connected to a gateway)")
                                      : QStringLiteral("(%1)").arg(applied.problem));
  } else {
    out << QStringLiteral("== the editor against revision %1 (running on the gateway) ==").arg(applied.revision);
    bool written = true;
    for (const auto& f : applied.files) {
      const auto base = QFileInfo(f.name).fileName();
      written = written && !base.isEmpty() && write(t.filePath(running + QLatin1Char('/') + base), f.text.toUtf8());
    }
    out << (written ? diffTrees(tmp.path(), running, QStringLiteral("editor"),
                                QStringLiteral("(no changes: the editor holds what the gateway runs)\n"))
                    : QStringLiteral("(cannot write a temporary copy of the running revision)"));
  }
  return {out.join(QLatin1Char('\n')), {}};
}

QString commitClaim(const QString& root, const std::vector<WorkingFile>& files) {
  auto head =
      git(root, {QStringLiteral("rev-parse"), QStringLiteral("--verify"), QStringLiteral("-q"), QStringLiteral("HEAD")});
  const auto commit = QString::fromLatin1(head.out).trimmed();
  if (head.code != 0 || (commit.size() != 40 && commit.size() != 64)) return {};
  auto inHead = headFiles(root, files);
  if (!inHead.problem.isEmpty()) return {};
  bool dirty = !inHead.notInHead.isEmpty();
  for (std::size_t i = 0; i < inHead.files.size() && !dirty; ++i) {
    const auto& h = inHead.files[i];
    for (const auto& f : files) dirty = dirty || (f.path == h.path && f.text != h.text);
  }
  return dirty ? commit + QStringLiteral("-dirty") : commit;
}

WorkingDiff textsDiff(const QString& heading, const QString& fromLabel, const std::vector<NamedText>& from,
                      const QString& toLabel, const std::vector<NamedText>& to, const QString& same) {
  QTemporaryDir tmp;
  if (!tmp.isValid()) return {{}, QStringLiteral("no temporary directory: %1").arg(tmp.errorString())};
  QDir t(tmp.path());
  // The labels become the diff's a/ and b/ directories ("a/revision-3/campus.yaml").
  for (const auto& [label, texts] : {std::pair{fromLabel, &from}, std::pair{toLabel, &to}}) {
    if (!t.mkdir(label)) return {{}, QStringLiteral("cannot make %1 in a temporary directory").arg(label)};
    for (const auto& f : *texts) {
      const auto base = QFileInfo(f.name).fileName();
      if (base.isEmpty() || !write(t.filePath(label + QLatin1Char('/') + base), f.text.toUtf8())) {
        return {{}, QStringLiteral("cannot write a temporary copy of %1").arg(f.name)};
      }
    }
  }
  return {heading + QLatin1Char('\n') + diffTrees(tmp.path(), fromLabel, toLabel, same), {}};
}

}  // namespace bulwark::console
