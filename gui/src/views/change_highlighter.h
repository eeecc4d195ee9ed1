#pragma once
// Colours for the texts that say what a change does, in the Plan and Review views: headings
// bold; newly allowed, additions and "no longer broken" green; newly denied, deletions and
// "newly broken" red; redirected amber (the words of review/report.cpp and the plan's nft).
#include <QSyntaxHighlighter>

namespace bulwark::console {

class ChangeHighlighter : public QSyntaxHighlighter {
 public:
  using QSyntaxHighlighter::QSyntaxHighlighter;

 protected:
  void highlightBlock(const QString& text) override;
};

}  // namespace bulwark::console
