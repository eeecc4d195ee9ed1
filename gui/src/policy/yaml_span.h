#pragma once
// Text edits at the places the loader recorded (file:line:col of a field's value), so the
// tables and the matrix edit the YAML the admin wrote instead of regenerating it: comments,
// order and layout stay as they were.
#include <QString>

#include <optional>

namespace bulwark::console {

struct TextSpan {
  qsizetype start = 0;  // offset into the text
  qsizetype end = 0;    // one past the last character
};

// The extent of the YAML value starting at line:col (1-based): a flow list or map up to its
// matching bracket, a quoted scalar up to its closing quote, or a plain scalar up to the
// next ',', ']' or '}' inside a flow collection, else to the end of the line (without a
// trailing comment). nullopt when line:col is outside the text or the value is a block
// collection (it starts on a later line: edit the YAML text for those).
[[nodiscard]] std::optional<TextSpan> valueSpan(const QString& text, int line, int col);

// A scalar as YAML needs it written: plain when that reads back the same, else
// double-quoted.
[[nodiscard]] QString yamlScalar(const QString& value);

// "[a, b, c]" from items (each written with yamlScalar).
[[nodiscard]] QString yamlFlowList(const QStringList& items);

// The offset where a new item of the top-level list `section` ("rules:") can be appended:
// after the section's last line that belongs to it. nullopt when there is no such section.
[[nodiscard]] std::optional<qsizetype> sectionEnd(const QString& text, const QString& section);

}  // namespace bulwark::console
