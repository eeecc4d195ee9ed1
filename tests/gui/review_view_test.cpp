// The Review view: the editor's working copy (unsaved edits included) against the repository's
// HEAD in policy terms and its effect on flows, as `bulwarkctl diff` says it; on a worker
// thread; a policy that does not load and a folder outside Git said as such; the wait bounded.
// A real Git repository in a temporary directory holds campus.yaml.
#include <QFile>
#include <QPlainTextEdit>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/main_window.h"
#include "policy/policy_document.h"
#include "views/review_view.h"

using namespace bulwark::console;

namespace {

bool git(const QString& dir, const QStringList& args) {
  QProcess p;
  p.setWorkingDirectory(dir);
  auto env = QProcessEnvironment::systemEnvironment();
  for (const auto* k : {"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"}) env.insert(QLatin1String(k), QStringLiteral("t"));
  for (const auto* k : {"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"}) env.insert(QLatin1String(k), QStringLiteral("t@example.org"));
  p.setProcessEnvironment(env);
  p.start(QStringLiteral("git"), args);
  return p.waitForFinished(10000) && p.exitCode() == 0;
}

QString campus() {
  QFile f(QStringLiteral(BULWARK_EXAMPLES_DIR "/campus.yaml"));
  return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

bool writeFile(const QString& path, const QString& text) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(text.toUtf8()) >= 0;
}

const QString kRule = QStringLiteral("    to: [mysql1, mysql2]\n    services: [mysql]");
const QString kRuleSsh = QStringLiteral("    to: [mysql1, mysql2]\n    services: [mysql, ssh]");

}  // namespace

class ReviewViewTest : public QObject {
  Q_OBJECT
 private slots:
  void editorAgainstHead() {
    QTemporaryDir dir;
    const auto text = campus();
    QVERIFY(text.contains(kRule));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("campus.yaml")), text));
    QVERIFY(git(dir.path(), {QStringLiteral("init"), QStringLiteral("-q")}));
    QVERIFY(git(dir.path(), {QStringLiteral("add"), QStringLiteral("campus.yaml")}));
    QVERIFY(git(dir.path(), {QStringLiteral("commit"), QStringLiteral("-q"), QStringLiteral("-m"), QStringLiteral("campus")}));

    MainWindow w;
    QString err;
    QVERIFY2(w.document()->open(dir.path(), &err), qPrintable(err));
    auto* review = w.reviewView();
    QSignalSpy shown(review, &ReviewView::reviewShown);

    // An unsaved edit: ssh to web-to-db.
    auto edited = text;
    edited.replace(kRule, kRuleSsh);
    w.document()->setText(0, edited);
    w.show();
    w.tabs()->setCurrentWidget(review);  // shown: reviewed
    QVERIFY(shown.wait(30000));
    auto out = review->reviewText()->toPlainText();
    const int line = static_cast<int>(edited.left(edited.indexOf(QStringLiteral("  - name: web-to-db"))).count(QLatin1Char('\n'))) + 1;
    QVERIFY2(out.startsWith(QStringLiteral("Policy change HEAD → the editor (working copy)")), qPrintable(out));
    QVERIFY2(out.contains(QStringLiteral("changed rule web-to-db at campus.yaml:%1").arg(line)), qPrintable(out));
    QVERIFY2(out.contains(QStringLiteral("newly allowed by web-to-db at campus.yaml:%1").arg(line)), qPrintable(out));
    QVERIFY2(out.contains(QStringLiteral("web1, web2 → mysql1, mysql2 ssh (tcp/22)")), qPrintable(out));
    QVERIFY2(out.indexOf(QStringLiteral("In policy terms")) < out.indexOf(QStringLiteral("Effect:")), qPrintable(out));
    QVERIFY2(review->stateText().startsWith(QStringLiteral("the editor changes the policy")), qPrintable(review->stateText()));
    // The working copy was not touched: the edit is unsaved and git sees no change.
    QVERIFY(git(dir.path(), {QStringLiteral("diff"), QStringLiteral("--quiet")}));

    // Back to HEAD's text: no change.
    w.document()->setText(0, text);
    review->requestReview();
    QVERIFY(shown.wait(30000));
    QVERIFY2(review->reviewText()->toPlainText().contains(QStringLiteral("No change")), qPrintable(review->reviewText()->toPlainText()));
    QVERIFY2(review->stateText().startsWith(QStringLiteral("no change against HEAD")), qPrintable(review->stateText()));

    // A policy that does not load: its file:line:col, never an empty side.
    w.document()->setText(0, text + QStringLiteral("\nrules: [\n"));
    review->requestReview();
    QVERIFY(shown.wait(30000));
    out = review->reviewText()->toPlainText();
    QVERIFY2(out.contains(QStringLiteral("does not load")) && out.contains(QStringLiteral("campus.yaml:")), qPrintable(out));

    // The wait is bounded: past the deadline the view says so and ignores the late result.
    w.document()->setText(0, edited);
    review->setTimeoutMillis(1);
    review->requestReview();
    QVERIFY(shown.wait(30000));
    QVERIFY2(review->stateText().contains(QStringLiteral("took longer than")), qPrintable(review->stateText()));
    QTRY_VERIFY_WITH_TIMEOUT(!review->running(), 30000);
    QTest::qWait(50);
    QVERIFY(review->reviewText()->toPlainText().isEmpty());
    review->setTimeoutMillis(ReviewView::kDefaultTimeoutMillis);
    review->requestReview();
    QVERIFY(shown.wait(30000));
    QVERIFY(review->reviewText()->toPlainText().contains(QStringLiteral("newly allowed by web-to-db")));
  }

  void outsideGit() {
    QTemporaryDir dir;
    QVERIFY(writeFile(dir.filePath(QStringLiteral("campus.yaml")), campus()));
    PolicyDocument doc;
    QString err;
    QVERIFY2(doc.open(dir.path(), &err), qPrintable(err));
    ReviewView view(&doc);
    QSignalSpy shown(&view, &ReviewView::reviewShown);
    view.requestReview();
    QVERIFY(shown.wait(30000));
    QVERIFY2(view.stateText().contains(QStringLiteral("is not a Git working copy with a commit")), qPrintable(view.stateText()));
  }
};

QTEST_MAIN(ReviewViewTest)
#include "review_view_test.moc"
