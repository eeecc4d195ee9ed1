#pragma once
// The YAML text of the policy's files with syntax colours and the validator's diagnostics
// as you type: each error/warning underlined at its file:line:col and listed below (click
// to jump). Save writes the working copy; the git diff of it shows next to the editor.
#include <QWidget>

#include "policy/analysis.h"

class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QTabWidget;

namespace bulwark::console {

class PolicyDocument;
class YamlHighlighter;

class EditorView : public QWidget {
  Q_OBJECT
 public:
  EditorView(PolicyDocument* doc, QWidget* parent = nullptr);

  [[nodiscard]] QPlainTextEdit* editor() const { return edit_; }
  [[nodiscard]] QListWidget* diagnosticsList() const { return list_; }
  [[nodiscard]] QPlainTextEdit* diffView() const { return diff_; }
  void showLocation(const QString& file, int line, int col);
  static constexpr qsizetype kMaxHighlightChars = 512 * 1024;

 private:
  void showFile(int i);
  void onAnalysed(const AnalysisPtr& a);
  void markDiagnostics();

  PolicyDocument* doc_;
  QComboBox* files_;
  QPlainTextEdit* edit_;
  YamlHighlighter* highlighter_;
  QListWidget* list_;
  QLabel* summary_;
  QTabWidget* bottom_;
  QPlainTextEdit* diff_;
  int current_ = -1;
  bool loading_ = false;
};

}  // namespace bulwark::console
