#pragma once
// Syntax colours for policy YAML: keys, comments, strings, numbers/addresses, list dashes,
// and the policy's own vocabulary (allow/deny/reject, any, internet). Line by line: the
// policy language has no multi-line constructs that change colouring.
#include <QRegularExpression>
#include <QSyntaxHighlighter>
#include <QTextCharFormat>

namespace bulwark::console {

class YamlHighlighter : public QSyntaxHighlighter {
  Q_OBJECT
 public:
  explicit YamlHighlighter(QTextDocument* doc);

 protected:
  void highlightBlock(const QString& text) override;

 private:
  struct RuleFormat {
    QRegularExpression re;
    QTextCharFormat format;
    int group = 0;
  };
  std::vector<RuleFormat> rules_;
  QTextCharFormat comment_;
};

}  // namespace bulwark::console
