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

std::string Diagnostic::str() const {
  std::string s = where.str() + (severity == Severity::Error ? ": error: " : ": warning: ") + message;
  if (!hint.empty()) {
    s += "\n  hint: " + hint;
  }
  return s;
}

void Diagnostics::error(Location where, std::string message, std::string hint) {
  items_.push_back({Severity::Error, std::move(where), std::move(message), std::move(hint)});
}

void Diagnostics::warning(Location where, std::string message, std::string hint) {
  items_.push_back({Severity::Warning, std::move(where), std::move(message), std::move(hint)});
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
