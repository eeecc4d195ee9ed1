#pragma once
// Two panes one above the other that the user can resize, sharing the height in the given
// proportion at first (the editor and its diagnostics, the history and its events).
#include <QSplitter>

namespace bulwark::console {

[[nodiscard]] inline QSplitter* stackedPanes(QWidget* top, int topShare, QWidget* bottom, int bottomShare) {
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(top);
  split->addWidget(bottom);
  split->setStretchFactor(0, topShare);
  split->setStretchFactor(1, bottomShare);
  return split;
}

}  // namespace bulwark::console
