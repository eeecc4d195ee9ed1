#include "yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

namespace bulwark::policies::detail {

const Field* Fields::get(std::string_view key) const {
  for (const auto& f : fields_) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

Location YamlReader::loc(const YAML::Node& n) const {
  auto m = n.Mark();
  if (m.is_null()) {
    return {file_, 0, 0};
  }
  return {file_, m.line + 1, m.column + 1};
}

Location YamlReader::loc(const Field& f) const {
  // An empty value (`key:`) has the mark of whatever follows it; point at the key instead.
  if (!f.value.IsDefined() || f.value.IsNull()) {
    return loc(f.keyNode);
  }
  return loc(f.value);
}

namespace {

// The edit distance of `a` and `b` if it is below `limit`, else `limit`. Only a close typo is
// of interest, so a pair whose lengths differ by `limit` or more is never compared, and the
// comparison stops at the first row whose every cell has reached `limit`: a misspelt key or
// reference costs a few dozen steps per candidate, however long it is or however many names
// the policy holds. `prev` and `cur` are the caller's, reused across candidates.
std::size_t editDistanceBelow(std::string_view a, std::string_view b, std::size_t limit,
                              std::vector<std::size_t>& prev, std::vector<std::size_t>& cur) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) >= limit) return limit;
  prev.resize(b.size() + 1);
  cur.resize(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    std::size_t rowMin = cur[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      rowMin = std::min(rowMin, cur[j]);
    }
    if (rowMin >= limit) return limit;
    std::swap(prev, cur);
  }
  return std::min(prev[b.size()], limit);
}

std::string joinKeys(std::initializer_list<std::string_view> keys) {
  std::string s;
  for (auto k : keys) {
    s += (s.empty() ? "" : ", ") + std::string(k);
  }
  return s;
}

const char* nodeKind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "empty";
    case YAML::NodeType::Undefined: return "missing";
  }
  return "?";
}

}  // namespace

namespace {

// Records where each document's root node starts.
class DocumentMarks : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> roots;
  void OnDocumentStart(const YAML::Mark&) override { depth_ = 0; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(m);
    ++depth_;
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(m);
    ++depth_;
  }
  void OnMapEnd() override { --depth_; }

 private:
  void node(const YAML::Mark& m) {
    if (depth_ == 0) roots.push_back(m);
  }
  int depth_ = 0;
};

// Can anything follow the first document? Not after a block collection that starts in
// column 0: it ends only at the end of the text or at a document marker. (yaml-cpp reads
// UTF-16 and UTF-32 too, where the markers below do not show as bytes: those take the long
// way.)
bool mayHoldMore(const std::string& text, const YAML::Node& root) {
  if (!root.IsMap() && !root.IsSequence()) return true;
  if (text.find('\0') != std::string::npos ||
      (!text.empty() && (static_cast<unsigned char>(text[0]) == 0xfe ||
                         static_cast<unsigned char>(text[0]) == 0xff))) {
    return true;
  }
  if (root.Style() != YAML::EmitterStyle::Block || root.Mark().column != 0) return true;
  // A "---" before the root only starts the first document (many files open with one).
  const auto rootAt = static_cast<std::size_t>(root.Mark().pos);
  for (std::size_t at = 0; at < text.size(); at = text.find('\n', at) + 1) {
    if ((at >= rootAt && text.compare(at, 3, "---") == 0) || text.compare(at, 3, "...") == 0) return true;
    if (text.find('\n', at) == std::string::npos) break;
  }
  return false;
}

}  // namespace

namespace {

// Finds the first anchor or alias of the first document, from the parser's events (which do
// not expand aliases: linear in the text).
class AnchorFinder : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> first;
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { note(m, a); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { note(m, 1); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a, const std::string&) override {
    note(m, a);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                       YAML::EmitterStyle::value) override {
    note(m, a);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    note(m, a);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& m, YAML::anchor_t a) {
    if (a != YAML::NullAnchor && !first) first = m;
  }
};

}  // namespace

FirstDocument loadFirstDocument(const std::string& text) {
  FirstDocument out;
  // Anchors and aliases are refused: every reader of the tree (loader, formatter, review) walks
  // an alias as often as it is used, so 500 bytes of nested aliases made billions of nodes
  // (minutes and gigabytes in `fmt`); and a policy is reviewed as it reads. Only text that
  // holds '&' or '*' needs the extra pass over the parser's events.
  if (text.find_first_of("&*") != std::string::npos) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    AnchorFinder finder;
    parser.HandleNextDocument(finder);
    if (finder.first) {
      throw YAML::ParserException(*finder.first,
                                  "anchors and aliases ('&name', '*name') are not allowed in a policy file; "
                                  "write the value out where it is used");
    }
  }
  out.root = YAML::Load(text);  // parses one document only: always terminates
  if (!mayHoldMore(text, out.root)) return out;
  // Look at up to three documents. yaml-cpp reports text it cannot parse after a document
  // as an endless run of empty documents at the same place.
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentMarks marks;
  for (int i = 0; i < 3 && parser.HandleNextDocument(marks); ++i) {
  }
  if (marks.roots.size() >= 2) {
    out.next = marks.roots[1];
    out.stray = marks.roots[0].pos == marks.roots[1].pos ||
                (marks.roots.size() >= 3 && marks.roots[1].pos == marks.roots[2].pos);
  }
  return out;
}

std::string closestMatch(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t bestDistance = 3;  // suggest only close typos
  std::vector<std::size_t> prev, cur;
  for (auto c : candidates) {
    auto d = editDistanceBelow(word, c, bestDistance, prev, cur);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return std::string(best);
}

std::optional<Fields> YamlReader::mapping(const YAML::Node& n, const Location& where,
                                          std::string_view what,
                                          std::initializer_list<std::string_view> allowed,
                                          std::initializer_list<std::string_view> required) {
  if (!n.IsMap()) {
    diags_.error(n.IsDefined() && !n.IsNull() ? loc(n) : where,
                 std::string(what) + " must be a mapping (key: value), got " + nodeKind(n),
                 "allowed keys: " + joinKeys(allowed));
    return std::nullopt;
  }
  Fields out;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: it->first lives in a temporary
    if (!key.IsScalar()) {
      diags_.error(loc(key), "keys of " + std::string(what) + " must be plain words");
      continue;
    }
    auto k = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      auto guess = closestMatch(k, {allowed.begin(), allowed.size()});
      diags_.error(loc(key), "unknown key '" + k + "' in " + std::string(what),
                   guess.empty() ? "allowed keys: " + joinKeys(allowed)
                                 : "did you mean '" + guess + "'?");
      continue;
    }
    if (const Field* first = out.get(k)) {
      diags_.error(loc(key), "duplicate key '" + k + "' in " + std::string(what),
                   "first given at " + loc(first->keyNode).str());
      continue;
    }
    out.fields_.push_back({k, key, it->second});
  }
  for (auto r : required) {
    if (!out.get(r)) {
      diags_.error(loc(n), std::string(what) + " is missing required key '" + std::string(r) + "'");
    }
  }
  return out;
}

bool YamlReader::isEmpty(const Field& f) {
  if (!f.value.IsDefined() || f.value.IsNull()) {
    diags_.error(loc(f), "'" + f.key + "' has no value");
    return true;
  }
  return false;
}

std::optional<std::string> YamlReader::string(const Field& f) {
  if (isEmpty(f)) {
    return std::nullopt;
  }
  if (!f.value.IsScalar()) {
    diags_.error(loc(f), "'" + f.key + "' must be a single value, got " + nodeKind(f.value));
    return std::nullopt;
  }
  // Free text may span lines and hold tabs; nothing else may hold a control character.
  if (!controlCharsOk(f.value, f.key, f.key == "description")) {
    return std::nullopt;
  }
  return f.value.Scalar();
}

bool YamlReader::controlCharsOk(const YAML::Node& n, std::string_view key, bool freeText) {
  const auto& text = n.Scalar();
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (freeText && (u == '\n' || u == '\t')) {
      continue;
    }
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string code = "U+00";
      code.push_back(kHex[u >> 4]);
      code.push_back(kHex[u & 0xf]);
      // Names and values end up in kernel objects (comments, interface names), charon's
      // configuration and logs, where a NUL cuts them short and a newline forges a line.
      diags_.error(loc(n), "'" + std::string(key) + "' holds the control character " + code + " at byte " +
                               std::to_string(i + 1),
                   "names and values are printable text");
      return false;
    }
  }
  return true;
}

std::optional<std::string> YamlReader::name(const Field& f) {
  auto s = string(f);
  if (!s) {
    return std::nullopt;
  }
  bool ok = !s->empty() && s->size() <= 32 && std::isalpha(static_cast<unsigned char>((*s)[0])) &&
            std::all_of(s->begin(), s->end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
            });
  if (!ok) {
    diags_.error(loc(f), "invalid name '" + *s + "'",
                 "names start with a letter and hold up to 32 letters, digits, '-' or '_'");
    return std::nullopt;
  }
  return s;
}

std::optional<long> YamlReader::integer(const Field& f, long min, long max) {
  auto s = string(f);
  if (!s) {
    return std::nullopt;
  }
  long v = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc{} && end == s->data() + s->size() &&
                                               (v < min || v > max))) {
    diags_.error(loc(f), "'" + f.key + "' " + *s + " is out of range (" + std::to_string(min) + "-" +
                             std::to_string(max) + ")");
    return std::nullopt;
  }
  if (ec != std::errc{} || end != s->data() + s->size()) {
    diags_.error(loc(f), "'" + f.key + "' must be a whole number, got '" + *s + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> YamlReader::boolean(const Field& f) {
  auto s = string(f);
  if (!s) {
    return std::nullopt;
  }
  if (*s == "true") {
    return true;
  }
  if (*s == "false") {
    return false;
  }
  diags_.error(loc(f), "'" + f.key + "' must be true or false, got '" + *s + "'");
  return std::nullopt;
}

std::optional<IpAddress> YamlReader::address(const YAML::Node& n) {
  if (!n.IsScalar()) {
    diags_.error(loc(n), std::string("expected an IP address, got ") + nodeKind(n));
    return std::nullopt;
  }
  if (!controlCharsOk(n, "address", false)) {
    return std::nullopt;
  }
  auto a = IpAddress::parse(n.Scalar());
  if (!a) {
    std::string hint;
    if (n.Scalar().find('/') != std::string::npos) {
      hint = "write the address without a prefix length";
    }
    diags_.error(loc(n), "invalid IP address '" + n.Scalar() + "'", hint);
  }
  return a;
}

std::optional<IpAddress> YamlReader::address(const Field& f) {
  if (isEmpty(f)) {
    return std::nullopt;
  }
  return address(f.value);
}

std::optional<Prefix> YamlReader::prefix(const Field& f) {
  auto s = string(f);
  if (!s) {
    return std::nullopt;
  }
  if (s->find('/') == std::string::npos) {
    diags_.error(loc(f), "'" + f.key + "' must be a prefix like 10.20.0.0/24, got '" + *s + "'");
    return std::nullopt;
  }
  auto p = Prefix::parse(*s);
  if (!p) {
    if (auto loose = Prefix::parse(*s, false)) {
      diags_.error(loc(f), "prefix '" + *s + "' has host bits set",
                   "did you mean " + loose->str() + "?");
    } else {
      diags_.error(loc(f), "invalid prefix '" + *s + "'");
    }
  }
  return p;
}

std::string YamlReader::interfaceName(const Field& f) {
  auto s = string(f);
  if (!s) return {};
  bool ok = !s->empty() && s->size() <= 15 && std::none_of(s->begin(), s->end(), [](char c) {
    return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c));
  });
  if (!ok) {
    diags_.error(loc(f), "invalid interface name '" + *s + "'",
                 "Linux interface names have 1-15 characters, without '/', ':' or spaces");
    return {};
  }
  return *s;
}

std::vector<std::pair<std::string, Location>> YamlReader::scalarList(const Field& f, bool allowScalar) {
  std::vector<std::pair<std::string, Location>> out;
  if (isEmpty(f)) {
    return out;
  }
  if (f.value.IsScalar() && allowScalar) {
    if (controlCharsOk(f.value, f.key, false)) {
      out.emplace_back(f.value.Scalar(), loc(f.value));
    }
    return out;
  }
  if (!f.value.IsSequence()) {
    diags_.error(loc(f), "'" + f.key + "' must be a list, got " + nodeKind(f.value),
                 "write it as [a, b]");
    return out;
  }
  for (const auto& item : f.value) {
    if (!item.IsScalar()) {
      diags_.error(loc(item), "items of '" + f.key + "' must be single values, got " + nodeKind(item));
      continue;
    }
    if (!controlCharsOk(item, f.key, false)) {
      continue;
    }
    out.emplace_back(item.Scalar(), loc(item));
  }
  if (out.empty() && f.value.size() == 0) {
    diags_.error(loc(f), "'" + f.key + "' is an empty list");
  }
  return out;
}

std::vector<YAML::Node> YamlReader::sequence(const Field& f) {
  std::vector<YAML::Node> out;
  if (!f.value.IsDefined() || f.value.IsNull()) {
    return out;  // `hosts:` with nothing under it: an empty section
  }
  if (!f.value.IsSequence()) {
    diags_.error(loc(f), "'" + f.key + "' must be a list of entries, got " + nodeKind(f.value),
                 "start each entry with '- '");
    return out;
  }
  for (const auto& item : f.value) {
    out.push_back(item);
  }
  return out;
}

}  // namespace bulwark::policies::detail
