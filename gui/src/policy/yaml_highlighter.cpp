#include "policy/yaml_highlighter.h"

namespace bulwark::console {

namespace {
QTextCharFormat fmt(const QColor& c, bool bold = false) {
  QTextCharFormat f;
  f.setForeground(c);
  if (bold) f.setFontWeight(QFont::Bold);
  return f;
}
}  // namespace

YamlHighlighter::YamlHighlighter(QTextDocument* doc) : QSyntaxHighlighter(doc) {
  rules_.push_back({QRegularExpression(QStringLiteral("^(\\s*-?\\s*)([A-Za-z_][A-Za-z0-9_-]*)(?=\\s*:)")), fmt(QColor(0x1f, 0x4e, 0x9c), true), 2});
  rules_.push_back({QRegularExpression(QStringLiteral("[{,]\\s*([A-Za-z_][A-Za-z0-9_-]*)(?=\\s*:)")), fmt(QColor(0x1f, 0x4e, 0x9c), true), 1});
  rules_.push_back({QRegularExpression(QStringLiteral("^\\s*(-)\\s")), fmt(QColor(0x80, 0x80, 0x80), true), 1});
  rules_.push_back({QRegularExpression(QStringLiteral("\\b(\\d+(\\.\\d+){0,3}(/\\d+)?|[0-9a-fA-F]*:[0-9a-fA-F:]+(/\\d+)?)\\b")), fmt(QColor(0x8a, 0x4b, 0x08)), 0});
  rules_.push_back({QRegularExpression(QStringLiteral("\\b(tcp|udp|sctp|icmp|icmpv6)/[0-9-]+|\\b(tcp|udp|sctp|icmp|icmpv6)\\b")), fmt(QColor(0x6a, 0x1b, 0x9a)), 0});
  rules_.push_back({QRegularExpression(QStringLiteral("\\b(allow)\\b")), fmt(QColor(0x1b, 0x7f, 0x2a), true), 0});
  rules_.push_back({QRegularExpression(QStringLiteral("\\b(deny|reject)\\b")), fmt(QColor(0xb0, 0x1c, 0x1c), true), 0});
  rules_.push_back({QRegularExpression(QStringLiteral("\\b(any|internet|masquerade)\\b")), fmt(QColor(0x00, 0x6d, 0x77), true), 0});
  rules_.push_back({QRegularExpression(QStringLiteral("\"(?:[^\"\\\\]|\\\\.)*\"|'[^']*'")), fmt(QColor(0x2e, 0x7d, 0x32)), 0});
  comment_ = fmt(QColor(0x75, 0x75, 0x75));
  comment_.setFontItalic(true);
}

void YamlHighlighter::highlightBlock(const QString& text) {
  for (const auto& r : rules_) {
    auto it = r.re.globalMatch(text);
    while (it.hasNext()) {
      auto m = it.next();
      setFormat(static_cast<int>(m.capturedStart(r.group)), static_cast<int>(m.capturedLength(r.group)), r.format);
    }
  }
  // A comment starts at '#' at the line start or after a space, outside quotes.
  QChar quote;
  for (qsizetype i = 0; i < text.size(); ++i) {
    QChar c = text[i];
    if (!quote.isNull()) {
      if (c == quote) quote = QChar();
      continue;
    }
    if (c == QLatin1Char('"') || c == QLatin1Char('\'')) {
      quote = c;
    } else if (c == QLatin1Char('#') && (i == 0 || text[i - 1].isSpace())) {
      setFormat(static_cast<int>(i), static_cast<int>(text.size() - i), comment_);
      break;
    }
  }
}

}  // namespace bulwark::console
