#include "views/change_highlighter.h"

namespace bulwark::console {

void ChangeHighlighter::highlightBlock(const QString& text) {
  QTextCharFormat f;
  auto t = text.trimmed();
  auto starts = [&t](const char* s) { return t.startsWith(QLatin1String(s)); };
  if (starts("==") || starts("--") || t == QLatin1String("Effect:") || starts("Policy change") ||
      starts("In policy terms") || t == QLatin1String("Invariants:")) {
    f.setFontWeight(QFont::Bold);
  } else if (starts("newly allowed") || starts("no longer broken") || starts("+") || starts("add ") ||
             starts("insert ")) {
    f.setForeground(QColor(0x1b, 0x7f, 0x2a));
  } else if (starts("newly denied") || starts("newly broken") || starts("-") || starts("delete ")) {
    f.setForeground(QColor(0xb0, 0x1c, 0x1c));
  } else if (starts("redirected")) {
    f.setForeground(QColor(0x9a, 0x5b, 0x00));
  } else {
    return;
  }
  setFormat(0, static_cast<int>(text.size()), f);
}

}  // namespace bulwark::console
