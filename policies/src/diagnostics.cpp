#include "bulwark/policies/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace bulwark::policies {

std::string Location::str() const {
  std::string s = file.empty() ? std::string("<input>") : file;
  if (line > 0) {
    s += ':' + std::to_string(line);
    if (col > 0) {
      s += ':' + std::to_string(col);
    }
  }
  return s;
}

namespace {

// Messages quote the policy's text, and a binary file's bytes reach them through yaml-cpp's
// errors: control characters are written as \xNN so no diagnostic moves the terminal's cursor
// or forges a line. Hints are ours and may span lines.
std::string escaped(const std::string& text, bool keepNewlines) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(keepNewlines && c == '\n')) || u == 0x7f) {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string Diagnostic::str() const {
  std::string s = escaped(where.str(), false) + (severity == Severity::Error ? ": error: " : ": warning: ") +
                  escaped(message, false);
  if (!hint.empty()) {
    s += "\n  hint: " + escaped(hint, true);
  }
  return s;
}


void Diagnostics::error(Location where, std::string message, std::string hint) {
  items_.push_back({Severity::Error, std::move(where), escaped(std::move(message), false),
                    escaped(std::move(hint), true)});
}

void Diagnostics::warning(Location where, std::string message, std::string hint) {
  items_.push_back({Severity::Warning, std::move(where), escaped(std::move(message), false),
                    escaped(std::move(hint), true)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::hasErrors() const { return errorCount() > 0; }

std::size_t Diagnostics::errorCount() const {
  return static_cast<std::size_t>(std::count_if(
      items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; }));
}

std::size_t Diagnostics::warningCount() const { return items_.size() - errorCount(); }

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line, a.where.col) <
           std::tie(b.where.file, b.where.line, b.where.col);
  });
}

}  // namespace bulwark::policies
