#pragma once
// Problems found in a policy, each tied to the place in a file that caused it.
#include <string>
#include <vector>

namespace bulwark::policies {

struct Location {
  std::string file;
  int line = 0;  // 1-based; 0 = unknown
  int col = 0;   // 1-based; 0 = unknown

  [[nodiscard]] std::string str() const;  // "file:line:col"
  friend bool operator==(const Location&, const Location&) = default;
};

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  Location where;
  std::string message;
  std::string hint;  // optional "did you mean", "move it above" ...

  // "file:line:col: error: message" (+ "\n  hint: ..." when a hint is present)
  [[nodiscard]] std::string str() const;
};

class Diagnostics {
 public:
  void error(Location where, std::string message, std::string hint = {});
  void warning(Location where, std::string message, std::string hint = {});
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);

  [[nodiscard]] bool hasErrors() const;
  [[nodiscard]] std::size_t errorCount() const;
  [[nodiscard]] std::size_t warningCount() const;
  [[nodiscard]] const std::vector<Diagnostic>& items() const { return items_; }
  [[nodiscard]] bool empty() const { return items_.empty(); }

  // Stable order for output: by file, line, column, then insertion order.
  void sort();

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace bulwark::policies
