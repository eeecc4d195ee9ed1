#include "views/editor_view.h"

#include <QAction>
#include <QComboBox>
#include <QFontDatabase>
#include <QFrame>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTextBlock>
#include <QVBoxLayout>

#include "policy/policy_document.h"
#include "policy/yaml_highlighter.h"
#include "views/code_editor.h"
#include "views/panes.h"

namespace bulwark::console {

namespace {
constexpr int kFileRole = Qt::UserRole + 1;
constexpr int kLineRole = Qt::UserRole + 2;
constexpr int kColRole = Qt::UserRole + 3;
}  // namespace

EditorView::EditorView(PolicyDocument* doc, QWidget* parent) : QWidget(parent), doc_(doc) {
  files_ = new QComboBox;
  auto* save = new QPushButton(tr("Save to working copy"));
  auto* diffBtn = new QPushButton(tr("git diff"));
  summary_ = new QLabel(tr("not validated yet"));
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("File:")));
  top->addWidget(files_, 1);
  top->addWidget(summary_, 2);
  top->addWidget(save);
  top->addWidget(diffBtn);

  banner_ = new QFrame;
  banner_->setObjectName(QStringLiteral("gatewayBanner"));
  banner_->setStyleSheet(QStringLiteral("#gatewayBanner { background: #fff3cd; border: 1px solid #d09000; }"));
  bannerText_ = new QLabel;
  bannerText_->setWordWrap(true);
  auto* dismiss = new QPushButton(tr("Dismiss"));
  auto* bannerLay = new QHBoxLayout(banner_);
  bannerLay->setContentsMargins(6, 3, 6, 3);
  bannerLay->addWidget(bannerText_, 1);
  bannerLay->addWidget(dismiss);
  banner_->hide();
  connect(dismiss, &QPushButton::clicked, banner_, &QWidget::hide);

  edit_ = new CodeEditor;
  edit_->setObjectName(QStringLiteral("yamlEditor"));
  edit_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  edit_->setLineWrapMode(QPlainTextEdit::NoWrap);
  highlighter_ = new YamlHighlighter(edit_->document());
  list_ = new QListWidget;
  diff_ = new QPlainTextEdit;
  diff_->setReadOnly(true);
  diff_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  bottom_ = new QTabWidget;
  bottom_->addTab(list_, tr("Diagnostics"));
  bottom_->addTab(diff_, tr("git diff"));

  auto* split = stackedPanes(edit_, 4, bottom_, 1);
  auto* lay = new QVBoxLayout(this);
  lay->addLayout(top);
  lay->addWidget(banner_);
  lay->addWidget(split, 1);

  auto* goTo = new QAction(tr("Go to line…"), this);
  goTo->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  goTo->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  connect(goTo, &QAction::triggered, this, &EditorView::goToLineDialog);
  addAction(goTo);
  connect(doc_, &PolicyDocument::modifiedChanged, this, &EditorView::updateFileNames);

  connect(files_, &QComboBox::currentIndexChanged, this, &EditorView::showFile);
  connect(edit_, &QPlainTextEdit::textChanged, this, [this] {
    if (!loading_ && current_ >= 0) doc_->setText(current_, edit_->toPlainText());
  });
  connect(doc_, &PolicyDocument::textReplaced, this, [this](int i) {
    if (files_->count() != doc_->fileCount()) {
      QSignalBlocker b(files_);
      files_->clear();
      for (int k = 0; k < doc_->fileCount(); ++k) files_->addItem(doc_->file(k).name);
      current_ = -1;
    }
    updateFileNames();
    if (i == current_ || current_ < 0) showFile(current_ < 0 ? 0 : current_);
  });
  connect(doc_, &PolicyDocument::validationStarted, this, [this] { summary_->setText(tr("validating…")); });
  connect(doc_, &PolicyDocument::analysed, this, &EditorView::onAnalysed);
  connect(list_, &QListWidget::itemActivated, this, [this](QListWidgetItem* it) {
    showLocation(it->data(kFileRole).toString(), it->data(kLineRole).toInt(), it->data(kColRole).toInt());
  });
  connect(list_, &QListWidget::itemClicked, list_, &QListWidget::itemActivated);
  connect(save, &QPushButton::clicked, this, [this] {
    QString err;
    if (!doc_->save(&err)) {
      QMessageBox::warning(this, tr("Save"), err);
      return;
    }
    doc_->requestGitDiff();
  });
  connect(diffBtn, &QPushButton::clicked, doc_, &PolicyDocument::requestGitDiff);
  connect(doc_, &PolicyDocument::gitDiffReady, this, [this](const QString& diff, const QString& err) {
    diff_->setPlainText(err.isEmpty() ? diff : tr("git diff: %1").arg(err));
    bottom_->setCurrentWidget(diff_);
  });
}

void EditorView::updateFileNames() {
  for (int k = 0; k < std::min(files_->count(), doc_->fileCount()); ++k) {
    const auto& f = doc_->file(k);
    files_->setItemText(k, f.modified ? f.name + QLatin1Char('*') : f.name);
  }
}

void EditorView::setGatewayNotice(const QString& text) {
  bannerText_->setText(text);
  banner_->setVisible(!text.isEmpty());
}

QString EditorView::gatewayNotice() const { return banner_->isVisibleTo(this) ? bannerText_->text() : QString(); }

void EditorView::goToLineDialog() {
  if (current_ < 0) return;
  bool ok = false;
  const int line = QInputDialog::getInt(this, tr("Go to line"), tr("Line in %1:").arg(doc_->file(current_).name),
                                        edit_->textCursor().blockNumber() + 1, 1, edit_->blockCount(), 1, &ok);
  if (!ok) return;
  edit_->goTo(line);
  edit_->setFocus();
}

void EditorView::showFile(int i) {
  if (i < 0 || i >= doc_->fileCount()) return;
  current_ = i;
  if (files_->currentIndex() != i) {
    QSignalBlocker b(files_);
    files_->setCurrentIndex(i);
  }
  if (edit_->toPlainText() != doc_->file(i).text) {
    loading_ = true;
    // QSyntaxHighlighter colours the whole document at once when it is set: for a
    // machine-generated policy of megabytes that is seconds of frozen window, so such files
    // are shown without colours (validation and diagnostics work the same).
    const bool huge = doc_->file(i).text.size() > kMaxHighlightChars;
    QTextDocument* target = huge ? nullptr : edit_->document();
    if (highlighter_->document() != target) highlighter_->setDocument(target);
    // Keep the cursor line when a table edit rewrote a value in this file.
    int pos = edit_->textCursor().position();
    edit_->setPlainText(doc_->file(i).text);
    auto c = edit_->textCursor();
    c.setPosition(std::min(pos, static_cast<int>(doc_->file(i).text.size())));
    edit_->setTextCursor(c);
    loading_ = false;
  }
  markDiagnostics();
}

void EditorView::onAnalysed(const AnalysisPtr& a) {
  list_->clear();
  const auto& d = a->diagnostics;
  summary_->setText(tr("%1 error(s), %2 warning(s) — validated in %3 ms")
                        .arg(d.errorCount())
                        .arg(d.warningCount())
                        .arg(a->millis, 0, 'f', 1));
  for (const auto& x : d.items()) {
    auto* it = new QListWidgetItem(QString::fromStdString(x.str()));
    it->setForeground(x.severity == policies::Severity::Error ? QColor(0xb0, 0x1c, 0x1c) : QColor(0x9a, 0x6b, 0x00));
    it->setData(kFileRole, QString::fromStdString(x.where.file));
    it->setData(kLineRole, x.where.line);
    it->setData(kColRole, x.where.col);
    list_->addItem(it);
  }
  markDiagnostics();
}

void EditorView::markDiagnostics() {
  QList<QTextEdit::ExtraSelection> marks;
  auto a = doc_->analysis();
  if (a && current_ >= 0) {
    const auto name = doc_->file(current_).name.toStdString();
    for (const auto& x : a->diagnostics.items()) {
      if (x.where.file != name || x.where.line < 1) continue;
      auto block = edit_->document()->findBlockByNumber(x.where.line - 1);
      if (!block.isValid()) continue;
      QTextEdit::ExtraSelection s;
      s.cursor = QTextCursor(block);
      // Underline from the column to the end of the token there (or the whole line).
      const auto text = block.text();
      int from = std::clamp(x.where.col - 1, 0, static_cast<int>(text.size()));
      int to = from;
      while (to < text.size() && !text[to].isSpace() && text[to] != QLatin1Char(',') && text[to] != QLatin1Char(']')) ++to;
      if (to == from) {
        from = 0;
        to = static_cast<int>(text.size());
      }
      s.cursor.setPosition(block.position() + from);
      s.cursor.setPosition(block.position() + to, QTextCursor::KeepAnchor);
      s.format.setUnderlineStyle(QTextCharFormat::WaveUnderline);
      s.format.setUnderlineColor(x.severity == policies::Severity::Error ? Qt::red : QColor(0xd0, 0x90, 0x00));
      s.format.setToolTip(QString::fromStdString(x.message));
      marks << s;
    }
  }
  edit_->setExtraSelections(marks);
}

void EditorView::showLocation(const QString& file, int line, int col) {
  int i = doc_->fileIndex(file);
  if (i < 0) return;
  showFile(i);
  edit_->goTo(line, col);
  edit_->setFocus();
}

}  // namespace bulwark::console
