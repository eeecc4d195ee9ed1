#pragma once
// Finds the comments of a YAML text (yaml-cpp drops them) so the formatter can put each
// one back next to the key or list item it belonged to.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::policies::detail {

struct Comment {
  int line = 0;  // 0-based
  int col = 0;   // 0-based column of '#'
  std::string text;  // from '#' to the end of the line, trailing spaces removed
  bool fullLine = false;
  bool blankAfter = false;  // a blank line separates it from what follows
  int flowDepth = 0;        // > 0: inside a flow collection ([...] or {...}) ...
  int flowEnd = 1 << 30;    // ... which closes on this line (0-based)
  bool used = false;
};

class CommentMap {
 public:
  explicit CommentMap(std::string_view text);

  // Leading comments attach to the next anchor line (a key or list item) below them;
  // the formatter tells which lines are anchors before asking.
  void setAnchors(const std::vector<int>& lines);
  std::vector<Comment*> leading(int anchorLine);
  [[nodiscard]] bool hasLeading(int anchorLine) const;
  Comment* trailing(int line);
  [[nodiscard]] bool hasTrailing(int line) const;
  std::vector<Comment*> remainingAtEnd();  // after the last anchor
  [[nodiscard]] std::vector<const Comment*> unused() const;
  [[nodiscard]] bool empty() const { return comments_.empty(); }

 private:
  std::vector<Comment> comments_;
  std::map<int, std::vector<std::size_t>> leadingByAnchor_;
  std::vector<std::size_t> atEnd_;
};

}  // namespace bulwark::policies::detail
