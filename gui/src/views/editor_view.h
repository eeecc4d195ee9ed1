#pragma once
// The YAML text of the policy's files with syntax colours, line numbers and the validator's
// diagnostics as you type: each error/warning underlined at its file:line:col and listed
// below (click to jump; Ctrl+L goes to a line). Unsaved files carry a '*'. Save writes the
// working copy; "git diff" shows the editor's text against the saved files, HEAD and the
// revision the gateway runs (`revision N`, fetched by the window at each new revision). A
// banner above the text says when the gateway runs something other than the editor holds
// (after a rollback).
#include <QWidget>

#include "policy/analysis.h"
#include "views/code_editor.h"

class QComboBox;
class QFrame;
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

  [[nodiscard]] CodeEditor* editor() const { return edit_; }
  [[nodiscard]] QComboBox* fileChooser() const { return files_; }
  [[nodiscard]] QListWidget* diagnosticsList() const { return list_; }
  [[nodiscard]] QPlainTextEdit* diffView() const { return diff_; }
  void showLocation(const QString& file, int line, int col);
  // The banner above the text ("" hides it).
  void setGatewayNotice(const QString& text);
  [[nodiscard]] QString gatewayNotice() const;
  void goToLineDialog();
  static constexpr qsizetype kMaxHighlightChars = 512 * 1024;

 private:
  void showFile(int i);
  void onAnalysed(const AnalysisPtr& a);
  void markDiagnostics();
  void updateFileNames();

  PolicyDocument* doc_;
  QComboBox* files_;
  CodeEditor* edit_;
  QFrame* banner_;
  QLabel* bannerText_;
  YamlHighlighter* highlighter_;
  QListWidget* list_;
  QLabel* summary_;
  QTabWidget* bottom_;
  QPlainTextEdit* diff_;
  int current_ = -1;
  bool loading_ = false;
};

}  // namespace bulwark::console
