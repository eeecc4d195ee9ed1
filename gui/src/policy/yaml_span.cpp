#include "policy/yaml_span.h"

#include <QRegularExpression>
#include <QStringList>

namespace bulwark::console {

namespace {

// Offset of the first character of 1-based `line`, or -1.
qsizetype lineStart(const QString& text, int line) {
  qsizetype pos = 0;
  for (int l = 1; l < line; ++l) {
    pos = text.indexOf(QLatin1Char('\n'), pos);
    if (pos < 0) return -1;
    ++pos;
  }
  return pos;
}

qsizetype lineEnd(const QString& text, qsizetype from) {
  auto e = text.indexOf(QLatin1Char('\n'), from);
  return e < 0 ? text.size() : e;
}

// The depth of YAML flow brackets ([ and {), read one character at a time; brackets inside
// quotes do not count.
struct FlowDepth {
  int depth = 0;
  QChar quote;

  // True when `c` closes a bracket.
  bool step(QChar c) {
    if (!quote.isNull()) {
      if (c == quote) quote = QChar();
      return false;
    }
    if (c == QLatin1Char('"') || c == QLatin1Char('\'')) quote = c;
    else if (c == QLatin1Char('[') || c == QLatin1Char('{')) ++depth;
    else if (c == QLatin1Char(']') || c == QLatin1Char('}')) {
      --depth;
      return true;
    }
    return false;
  }
};

// Depth of unclosed flow brackets on the line before `pos` (quotes respected).
int flowDepthBefore(const QString& text, qsizetype lineFrom, qsizetype pos) {
  FlowDepth flow;
  for (qsizetype i = lineFrom; i < pos; ++i) flow.step(text[i]);
  return flow.depth;
}

}  // namespace

std::optional<TextSpan> valueSpan(const QString& text, int line, int col) {
  if (line < 1 || col < 1) return std::nullopt;
  auto ls = lineStart(text, line);
  if (ls < 0) return std::nullopt;
  auto le = lineEnd(text, ls);
  auto start = ls + col - 1;
  if (start >= le) return std::nullopt;
  QChar first = text[start];
  if (first == QLatin1Char('-')) {
    if (start + 1 >= le || text[start + 1] == QLatin1Char(' ')) return std::nullopt;  // a block sequence item
  }
  if (first == QLatin1Char('[') || first == QLatin1Char('{')) {
    FlowDepth flow;
    for (qsizetype i = start; i < text.size(); ++i) {
      if (flow.step(text[i]) && flow.depth == 0) return TextSpan{start, i + 1};
    }
    return std::nullopt;
  }
  if (first == QLatin1Char('"') || first == QLatin1Char('\'')) {
    for (qsizetype i = start + 1; i < le; ++i) {
      if (text[i] == first && !(first == QLatin1Char('"') && text[i - 1] == QLatin1Char('\\'))) return TextSpan{start, i + 1};
    }
    return std::nullopt;
  }
  const bool inFlow = flowDepthBefore(text, ls, start) > 0;
  qsizetype end = start;
  while (end < le) {
    QChar c = text[end];
    if (inFlow && (c == QLatin1Char(',') || c == QLatin1Char(']') || c == QLatin1Char('}'))) break;
    if (c == QLatin1Char('#') && end > start && text[end - 1].isSpace()) break;
    ++end;
  }
  while (end > start && text[end - 1].isSpace()) --end;
  return TextSpan{start, end};
}

QString yamlScalar(const QString& value) {
  static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9_./:@-][A-Za-z0-9_./:@ -]*$"));
  static const QStringList special{QStringLiteral("true"), QStringLiteral("false"), QStringLiteral("yes"),
                                   QStringLiteral("no"),   QStringLiteral("null"),  QStringLiteral("~"),
                                   QStringLiteral("on"),   QStringLiteral("off")};
  const bool needsQuotes = value.isEmpty() || !plain.match(value).hasMatch() || value.endsWith(QLatin1Char(' ')) ||
                           value.contains(QStringLiteral(": ")) || special.contains(value.toLower()) ||
                           value.startsWith(QLatin1Char('-'));
  if (!needsQuotes) return value;
  QString q = value;
  q.replace(QLatin1Char('\\'), QStringLiteral("\\\\")).replace(QLatin1Char('"'), QStringLiteral("\\\""));
  return QLatin1Char('"') + q + QLatin1Char('"');
}

QString yamlFlowList(const QStringList& items) {
  QStringList out;
  for (const auto& i : items) out << yamlScalar(i);
  return QLatin1Char('[') + out.join(QStringLiteral(", ")) + QLatin1Char(']');
}

std::optional<qsizetype> sectionEnd(const QString& text, const QString& section) {
  static const QRegularExpression header(QStringLiteral("^([A-Za-z_]+):"), QRegularExpression::MultilineOption);
  auto it = header.globalMatch(text);
  qsizetype afterSection = -1;
  while (it.hasNext()) {
    auto m = it.next();
    if (afterSection >= 0) {
      // Back over blank and comment lines that sit above the next section.
      qsizetype pos = m.capturedStart();
      while (pos > 0) {
        auto prevStart = text.lastIndexOf(QLatin1Char('\n'), pos - 2) + 1;
        auto prevLine = text.mid(prevStart, pos - prevStart).trimmed();
        if (!prevLine.isEmpty() && !prevLine.startsWith(QLatin1Char('#'))) break;
        pos = prevStart;
      }
      return pos;
    }
    if (m.captured(1) + QLatin1Char(':') == section) afterSection = m.capturedEnd();
  }
  if (afterSection < 0) return std::nullopt;
  return text.size();
}

}  // namespace bulwark::console
