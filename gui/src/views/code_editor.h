#pragma once
// The policy text editor: a plain-text editor with a line-number gutter, because every
// diagnostic names file:line:col and an administrator reads the line off the margin.
#include <QPlainTextEdit>

namespace bulwark::console {

class CodeEditor : public QPlainTextEdit {
  Q_OBJECT
 public:
  explicit CodeEditor(QWidget* parent = nullptr);

  [[nodiscard]] int gutterWidth() const;
  // The 1-based number of the first line the gutter shows (the top of the viewport).
  [[nodiscard]] int firstVisibleLine() const;
  // Moves the cursor to line:col (1-based, clamped) and centres it.
  void goTo(int line, int col = 1);

 protected:
  void resizeEvent(QResizeEvent* e) override;

 private:
  class Gutter;
  void paintGutter(QPaintEvent* e);
  void updateGutterWidth();
  void updateGutter(const QRect& rect, int dy);

  Gutter* gutter_;
};

}  // namespace bulwark::console
