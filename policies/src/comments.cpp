#include "comments.h"

#include <algorithm>

namespace bulwark::policies::detail {

namespace {

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      auto last = text.substr(start);
      if (!last.empty() && last.back() == '\r') last.remove_suffix(1);  // CRLF file without final LF
      if (start < text.size()) lines.push_back(last);
      break;
    }
    auto line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = nl + 1;
  }
  return lines;
}

std::size_t indentOf(std::string_view line) {
  auto i = line.find_first_not_of(' ');
  return i == std::string_view::npos ? line.size() : i;
}

bool isBlank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

// Does the content before any comment end with a block scalar indicator (| or >)?
bool startsBlockScalar(std::string_view content) {
  auto end = content.find_last_not_of(" \t");
  if (end == std::string_view::npos) return false;
  content = content.substr(0, end + 1);
  // strip chomping / indentation indicators: "|-", ">+", "|2-"
  while (!content.empty() && (content.back() == '-' || content.back() == '+' ||
                              (content.back() >= '1' && content.back() <= '9'))) {
    content.remove_suffix(1);
  }
  if (content.empty() || (content.back() != '|' && content.back() != '>')) return false;
  content.remove_suffix(1);
  return content.empty() || content.back() == ' ' || content.back() == ':' || content.back() == '-';
}

// Does a '[' or '{' at `i` open a flow collection? In block context only where a value
// starts (plain scalars may hold brackets: "description: see [1]").
bool opensFlow(std::string_view line, std::size_t i) {
  auto before = line.substr(0, i);
  auto end = before.find_last_not_of(" \t");
  if (end == std::string_view::npos) return true;
  return end + 1 < i && std::string_view(":-?").find(before[end]) != std::string_view::npos;
}

// A quote opens a quoted scalar only where a scalar starts: at the line's first non-blank
// character or after an indicator (`: `, `- `, `? `, `[`, `{`, `,`). Inside a plain scalar
// ("RTMP ingest 'nd HLS") it is just a character; taking it for a quote would hide every
// comment up to the next quote in the file (fmt then dropped a comment line on each run).
bool startsScalar(std::string_view line, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && (line[j - 1] == ' ' || line[j - 1] == '\t')) --j;
  if (j == 0) return true;
  const char prev = line[j - 1];
  if (prev == '[' || prev == '{' || prev == ',') return true;
  // `:`, `-` and `?` are indicators only when a blank follows them.
  return j < i && (prev == ':' || prev == '-' || prev == '?');
}

}  // namespace

CommentMap::CommentMap(std::string_view text) {
  auto lines = splitLines(text);
  char quote = 0;               // open quote carried across lines
  std::size_t blockIndent = 0;  // inside a block scalar: lines more indented than this
  bool inBlock = false;
  int depth = 0;                    // open flow collections
  std::vector<std::size_t> inFlow;  // comments inside a collection not yet closed
  for (std::size_t n = 0; n < lines.size(); ++n) {
    auto line = lines[n];
    if (inBlock) {
      if (isBlank(line) || indentOf(line) > blockIndent) continue;
      inBlock = false;
    }
    std::size_t hash = std::string_view::npos;
    for (std::size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quote == '"') {
        if (c == '\\') ++i;
        else if (c == '"') quote = 0;
      } else if (quote == '\'') {
        if (c == '\'' && i + 1 < line.size() && line[i + 1] == '\'') ++i;
        else if (c == '\'') quote = 0;
      } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        hash = i;
        break;
      } else if ((c == '[' || c == '{') && (depth > 0 || opensFlow(line, i))) {
        ++depth;
      } else if ((c == ']' || c == '}') && depth > 0) {
        --depth;
        while (!inFlow.empty() && comments_[inFlow.back()].flowDepth > depth) {
          comments_[inFlow.back()].flowEnd = static_cast<int>(n);
          inFlow.pop_back();
        }
      } else if ((c == '"' || c == '\'') && startsScalar(line, i)) {
        quote = c;
      }
    }
    auto content = line.substr(0, hash);
    if (startsBlockScalar(content)) {
      inBlock = true;
      blockIndent = indentOf(line);
    }
    if (hash == std::string_view::npos) continue;
    Comment c;
    c.line = static_cast<int>(n);
    c.col = static_cast<int>(hash);
    auto t = line.substr(hash);
    c.text = std::string(t.substr(0, t.find_last_not_of(" \t") + 1));
    c.fullLine = isBlank(content);
    c.blankAfter = n + 1 < lines.size() && isBlank(lines[n + 1]);
    c.flowDepth = depth;
    if (depth > 0) inFlow.push_back(comments_.size());
    comments_.push_back(std::move(c));
  }
}

void CommentMap::setAnchors(const std::vector<int>& lines) {
  std::vector<int> sorted = lines;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < comments_.size(); ++i) {
    if (!comments_[i].fullLine) continue;
    auto it = std::upper_bound(sorted.begin(), sorted.end(), comments_[i].line);
    // Inside a multi-line flow collection a comment can only go above one of its items;
    // after the last one it stays unattached, and the formatter refuses to drop it.
    if (comments_[i].flowDepth > 0 && (it == sorted.end() || *it > comments_[i].flowEnd)) continue;
    if (it == sorted.end()) atEnd_.push_back(i);
    else leadingByAnchor_[*it].push_back(i);
  }
}

std::vector<Comment*> CommentMap::leading(int anchorLine) {
  std::vector<Comment*> out;
  auto it = leadingByAnchor_.find(anchorLine);
  if (it == leadingByAnchor_.end()) return out;
  for (auto i : it->second) {
    if (!comments_[i].used) {
      comments_[i].used = true;
      out.push_back(&comments_[i]);
    }
  }
  return out;
}

bool CommentMap::hasLeading(int anchorLine) const {
  auto it = leadingByAnchor_.find(anchorLine);
  return it != leadingByAnchor_.end() &&
         std::any_of(it->second.begin(), it->second.end(), [&](std::size_t i) { return !comments_[i].used; });
}

Comment* CommentMap::trailing(int line) {
  for (auto& c : comments_) {
    if (!c.fullLine && !c.used && c.line == line) {
      c.used = true;
      return &c;
    }
  }
  return nullptr;
}

bool CommentMap::hasTrailing(int line) const {
  return std::any_of(comments_.begin(), comments_.end(),
                     [&](const Comment& c) { return !c.fullLine && !c.used && c.line == line; });
}

std::vector<Comment*> CommentMap::remainingAtEnd() {
  std::vector<Comment*> out;
  for (auto i : atEnd_) {
    if (!comments_[i].used) {
      comments_[i].used = true;
      out.push_back(&comments_[i]);
    }
  }
  return out;
}

std::vector<const Comment*> CommentMap::unused() const {
  std::vector<const Comment*> out;
  for (const auto& c : comments_) {
    if (!c.used) out.push_back(&c);
  }
  return out;
}

}  // namespace bulwark::policies::detail
