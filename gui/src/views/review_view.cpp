#include "views/review_view.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>
#include <QtConcurrent>

#include "policy/policy_document.h"
#include "views/change_highlighter.h"

namespace bulwark::console {

ReviewView::ReviewView(PolicyDocument* doc, QWidget* parent) : QWidget(parent), doc_(doc) {
  reviewBtn_ = new QPushButton(tr("Review against HEAD"));
  state_ = new QLabel(tr("the editor against the repository's HEAD: what the change does"));
  state_->setWordWrap(true);
  auto* bar = new QHBoxLayout;
  bar->addWidget(reviewBtn_);
  bar->addWidget(state_, 1);
  text_ = new QPlainTextEdit;
  text_->setObjectName(QStringLiteral("reviewText"));
  text_->setReadOnly(true);
  text_->setLineWrapMode(QPlainTextEdit::WidgetWidth);
  text_->setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
  text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  new ChangeHighlighter(text_->document());
  auto* lay = new QVBoxLayout(this);
  lay->addLayout(bar);
  lay->addWidget(text_, 1);
  deadline_.setSingleShot(true);
  deadline_.setInterval(kDefaultTimeoutMillis);
  connect(reviewBtn_, &QPushButton::clicked, this, &ReviewView::requestReview);
  connect(&watcher_, &QFutureWatcher<PolicyReview>::finished, this, &ReviewView::onDone);
  connect(&deadline_, &QTimer::timeout, this, &ReviewView::onDeadline);
}

ReviewView::~ReviewView() { watcher_.waitForFinished(); }  // bounded: git runs and the policy's size are

QString ReviewView::stateText() const { return state_->text(); }

void ReviewView::showEvent(QShowEvent* e) {
  QWidget::showEvent(e);
  requestReview();
}

void ReviewView::requestReview() {
  if (watcher_.isRunning()) {
    again_ = !gaveUp_;
    return;
  }
  std::vector<WorkingFile> files;
  for (int i = 0; i < doc_->fileCount(); ++i) {
    const auto& f = doc_->file(i);
    if (!f.path.isEmpty()) files.push_back({f.path, f.name, f.text});
  }
  again_ = false;
  gaveUp_ = false;
  state_->setText(tr("reviewing the editor against HEAD…"));
  started_.start();
  deadline_.start();
  watcher_.setFuture(QtConcurrent::run(reviewAgainstHead, doc_->rootPath(), files));
}

void ReviewView::onDeadline() {
  if (!watcher_.isRunning()) return;
  gaveUp_ = true;
  again_ = false;
  text_->clear();
  state_->setText(tr("the review took longer than %1 s: stopped waiting (bulwarkctl diff gives the same answer)")
                      .arg(deadline_.interval() / 1000.0));
  emit reviewShown();
}

void ReviewView::onDone() {
  deadline_.stop();
  if (gaveUp_) return;  // said already; the late result is stale by now
  if (again_) {
    requestReview();
    return;
  }
  const auto r = watcher_.result();
  if (!r.error.isEmpty()) {
    text_->setPlainText(r.error);
    state_->setText(tr("no review: %1").arg(r.error.section(QLatin1Char('\n'), 0, 0)));
  } else {
    text_->setPlainText(r.text);
    state_->setText((r.changed ? tr("the editor changes the policy (against HEAD)") : tr("no change against HEAD")) +
                    tr(" · reviewed in %1 ms").arg(static_cast<int>(r.millis)));
  }
  emit reviewShown();
}

}  // namespace bulwark::console
