#include "bulwark/policies/formatter.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "comments.h"
#include "yaml_reader.h"

namespace bulwark::policies {

namespace {

using detail::Comment;
using detail::CommentMap;

constexpr std::size_t kWidth = 100;
constexpr std::size_t kMaxKey = 1000;  // YAML: an implicit key has at most 1024 characters

// Canonical key order per place in the document ("segments[]" = an item of segments).
const std::map<std::string, std::vector<std::string>, std::less<>>& keyOrders() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> orders = {
      {"",
       {"gateway", "segments", "hosts", "services", "checks", "zones", "rules", "nat", "vpn",
        "ha", "invariants", "expect"}},
      {"gateway", {"name", "uplink", "trunk", "control", "web", "syn_limit"}},
      {"gateway.syn_limit", {"rate", "burst"}},
      {"invariants[]", {"name", "description", "never", "only"}},
      {"invariants[].never", {"from", "to", "services"}},
      {"invariants[].only", {"to", "from", "services"}},
      {"gateway.control", {"listen", "port", "change", "view"}},
      {"gateway.web", {"listen", "port"}},
      {"segments[]", {"name", "description", "vlan", "interface", "ipv4", "ipv6", "mtu"}},
      {"segments[].ipv4", {"subnet", "gateway"}},
      {"segments[].ipv6", {"subnet", "gateway"}},
      {"hosts[]", {"name", "description", "segment", "addresses", "checks"}},
      {"services[]", {"name", "description", "ports"}},
      {"checks[]",
       {"name", "description", "type", "service", "path", "host", "expect", "interval", "timeout", "rise", "fall"}},
      {"zones[]", {"name", "description", "segments", "vpn_groups"}},
      {"rules[]", {"name", "description", "from", "to", "services", "action", "limit", "log"}},
      {"rules[].limit", {"rate", "burst", "connections"}},
      {"nat", {"dnat", "snat"}},
      {"nat.dnat[]", {"name", "vip", "service", "to", "mode", "check", "port", "syn_limit"}},
      {"nat.dnat[].syn_limit", {"rate", "burst"}},
      {"nat.snat[]", {"name", "from", "to"}},
      {"vpn", {"ca", "local_id", "listen", "ike_proposals", "esp_proposals", "groups"}},
      {"vpn.groups[]", {"name", "description", "pool", "access"}},
      {"vpn.groups[].access[]", {"to", "services"}},
      {"ha", {"nodes", "uplink", "sync", "vrrp", "failback", "preempt_delay", "floating"}},
      {"ha.nodes[]", {"name", "uplink", "sync", "control", "segments"}},
      {"ha.sync", {"interface", "segment"}},
      {"ha.vrrp", {"id", "advert"}},
      {"ha.floating[]", {"address", "segment", "uplink"}},
      {"expect[]", {"from", "to", "service", "verdict"}},
  };
  return orders;
}

struct Entry {
  std::string key;
  YAML::Node keyNode;
  YAML::Node value;
};

int lineOf(const YAML::Node& n) { return n.Mark().is_null() ? -1 : n.Mark().line; }

// Note: yaml-cpp's Node::operator= overwrites the node's content rather than rebinding,
// so entries are only ever copy-constructed, never assigned or sorted in place.
std::vector<Entry> orderedEntries(const YAML::Node& map, const std::string& ctx) {
  std::vector<std::string> keys;
  for (auto it = map.begin(); it != map.end(); ++it) keys.push_back(it->first.Scalar());
  std::vector<std::size_t> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto found = keyOrders().find(ctx);
  if (found != keyOrders().end()) {
    const auto& canonical = found->second;
    auto rank = [&](std::size_t i) {  // unknown keys last, in source order
      return static_cast<std::size_t>(std::find(canonical.begin(), canonical.end(), keys[i]) -
                                      canonical.begin());
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return rank(a) < rank(b); });
  }
  std::vector<YAML::const_iterator> its;
  for (auto it = map.begin(); it != map.end(); ++it) its.push_back(it);
  std::vector<Entry> entries;
  entries.reserve(order.size());
  for (auto i : order) entries.push_back(Entry{keys[i], its[i]->first, its[i]->second});
  return entries;
}

std::string childContext(const std::string& ctx, const std::string& key) {
  return ctx.empty() ? key : ctx + "." + key;
}

// Entities reviewed field by field stay in block style; small records may take one line.
bool mayFlowItem(const std::string& ctx) {
  static const std::vector<std::string> flowItems = {
      "hosts[]", "services[]", "checks[]", "zones[]", "expect[]", "nat.dnat[]", "nat.snat[]",
      "vpn.groups[].access[]", "ha.floating[]"};
  return std::find(flowItems.begin(), flowItems.end(), ctx) != flowItems.end();
}

bool needsQuotes(const std::string& s, bool inFlow) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return true;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) {
    // "-" is fine as the start of a plain scalar only when followed by a non-space
    if (!(s.front() == '-' && s.size() > 1 && s[1] != ' ')) return true;
  }
  if (s.find_first_of(inFlow ? ",[]{}#\n\t" : "#\n\t") != std::string::npos) return true;
  if (s.find(": ") != std::string::npos || s.back() == ':') return true;
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[(c >> 4) & 0xf];
          out += hex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// A quoted scalar stays quoted: its type (string vs number/bool) must not change.
std::string scalar(const YAML::Node& n, bool inFlow) {
  const auto& s = n.Scalar();
  if (n.Tag() == "!" || needsQuotes(s, inFlow)) return quoted(s);
  return s;
}

// Keys are plain words in a valid policy; anything else is quoted so it stays one key.
std::string key(const std::string& k, bool inFlow) { return needsQuotes(k, inFlow) ? quoted(k) : k; }

class Emitter {
 public:
  Emitter(CommentMap& comments, const std::string& file, Diagnostics& diags)
      : comments_(comments), file_(file), diags_(diags) {}

  std::string document(const YAML::Node& root) {
    std::vector<int> anchors;
    collectAnchors(root, anchors);
    comments_.setAnchors(anchors);
    if (root.IsMap()) {
      bool first = true;
      for (const auto& e : orderedEntries(root, "")) {
        if (!first) out_ += '\n';
        leading(lineOf(e.keyNode), 0, false);
        keyValue(e, 0, "", "");
        first = false;
      }
    } else if (root.IsDefined() && !root.IsNull()) {
      value(root, 0, "");
    }
    auto tail = comments_.remainingAtEnd();
    if (!tail.empty() && !out_.empty()) out_ += '\n';
    for (auto* c : tail) out_ += c->text + '\n';
    for (const auto* c : comments_.unused()) {
      diags_.error({file_, c->line + 1, c->col + 1},
                   "fmt cannot keep this comment in place; nothing was rewritten",
                   "put the comment on its own line above the key or list item it describes");
    }
    return out_;
  }

 private:
  void collectAnchors(const YAML::Node& n, std::vector<int>& out) {
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        out.push_back(lineOf(it->first));
        if (key(it->first.Scalar(), false).size() > kMaxKey) {  // YAML limit on implicit keys
          diags_.error({file_, lineOf(it->first) + 1, 1}, "fmt cannot write a key this long");
        }
        collectAnchors(it->second, out);
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        out.push_back(lineOf(item));
        collectAnchors(item, out);
      }
    } else if (n.IsScalar()) {
      out.push_back(lineOf(n));
    }
  }

  void leading(int anchorLine, std::size_t indent, bool blankBefore) {
    auto cs = comments_.leading(anchorLine);
    if (cs.empty()) return;
    if (blankBefore) out_ += '\n';
    for (auto* c : cs) {
      out_ += std::string(indent, ' ') + c->text + '\n';
      if (c->blankAfter) out_ += '\n';
    }
  }

  void noteTrailing(int line) {
    if (auto* c = comments_.trailing(line)) pending_.push_back(c->text);
  }

  void endLine() {
    for (std::size_t i = 0; i < pending_.size(); ++i) out_ += (i == 0 ? "  " : " ") + pending_[i];
    pending_.clear();
    out_ += '\n';
  }

  // Would this node read well on one line? Leaves only, and no comment inside would lose
  // its place.
  bool flowable(const YAML::Node& n, int startLine) {
    auto leafOk = [&](const YAML::Node& x) {
      return x.IsScalar() && (lineOf(x) == startLine || !comments_.hasLeading(lineOf(x)));
    };
    if (n.IsSequence()) {
      return std::all_of(n.begin(), n.end(), leafOk);
    }
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (lineOf(it->first) != startLine && comments_.hasLeading(lineOf(it->first))) return false;
        const YAML::Node v = it->second;  // a copy: it->second lives in a temporary
        if (v.IsScalar()) continue;
        if (v.IsSequence() && std::all_of(v.begin(), v.end(), leafOk)) continue;
        return false;
      }
      return true;
    }
    return false;
  }

  std::string flow(const YAML::Node& n, const std::string& ctx, std::vector<int>& lines) {
    if (n.IsScalar()) {
      lines.push_back(lineOf(n));
      return scalar(n, true);
    }
    if (n.IsSequence()) {
      if (n.size() == 0) return "[]";
      std::string s = "[";
      for (std::size_t i = 0; i < n.size(); ++i) s += (i ? ", " : "") + flow(n[i], ctx + "[]", lines);
      return s + "]";
    }
    if (n.size() == 0) return "{}";
    std::string s = "{ ";
    bool first = true;
    for (const auto& e : orderedEntries(n, ctx)) {
      lines.push_back(lineOf(e.keyNode));
      s += (first ? "" : ", ") + key(e.key, true) + ": " + flow(e.value, childContext(ctx, e.key), lines);
      first = false;
    }
    return s + " }";
  }

  // `startLine` is the line the flow text goes on: the key's line for a value, the item's
  // line for a list item (a block list or mapping starts on the line below its key).
  bool tryFlow(const YAML::Node& n, std::size_t column, const std::string& ctx, int startLine) {
    if (!flowable(n, startLine)) return false;
    std::vector<int> lines;
    auto text = flow(n, ctx, lines);
    if (column + text.size() > kWidth) return false;
    // A comment on any other line the node spans would lose its place on one line.
    for (int l : lines) {
      if (l != startLine && (comments_.hasLeading(l) || comments_.hasTrailing(l))) return false;
    }
    out_ += text;
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    for (int l : lines) noteTrailing(l);
    endLine();
    return true;
  }

  // `prefix` is what the line already holds before the key ("- " for a list item's first
  // key); otherwise the key is indented.
  void keyValue(const Entry& e, std::size_t indent, const std::string& ctx, const std::string& prefix) {
    std::string head = prefix.empty() ? std::string(indent, ' ') : std::string();
    head += key(e.key, false) + ":";
    out_ += head;
    noteTrailing(lineOf(e.keyNode));
    auto cctx = childContext(ctx, e.key);
    const auto& v = e.value;
    std::size_t column = indent + key(e.key, false).size() + 2;
    if (!v.IsDefined() || v.IsNull()) {
      endLine();
    } else if (v.IsScalar()) {
      out_ += ' ' + scalar(v, false);
      noteTrailing(lineOf(v));
      endLine();
    } else {
      // Top-level sections stay in block style; everything below may fit on one line.
      if (v.size() == 0 || !ctx.empty()) {
        out_ += ' ';
        if (tryFlow(v, column, cctx, lineOf(e.keyNode))) return;
        out_.pop_back();
      }
      endLine();
      value(v, indent + 2, cctx);
    }
  }

  void value(const YAML::Node& v, std::size_t indent, const std::string& ctx) {
    if (v.IsMap()) {
      for (const auto& e : orderedEntries(v, ctx)) {
        leading(lineOf(e.keyNode), indent, false);
        keyValue(e, indent, ctx, "");
      }
    } else if (v.IsSequence()) {
      bool first = true;
      for (const auto& item : v) {
        // A blank line before a commented list item keeps long lists readable.
        bool blank = !first && comments_.hasLeading(lineOf(item));
        leading(lineOf(item), indent, blank);
        listItem(item, indent, ctx + "[]");
        first = false;
      }
    } else if (v.IsScalar()) {
      out_ += std::string(indent, ' ') + scalar(v, false);
      noteTrailing(lineOf(v));
      endLine();
    }
  }

  void listItem(const YAML::Node& item, std::size_t indent, const std::string& ctx) {
    out_ += std::string(indent, ' ') + "- ";
    if (item.IsScalar()) {
      out_ += scalar(item, false);
      noteTrailing(lineOf(item));
      endLine();
      return;
    }
    if (item.IsNull() || item.size() == 0) {
      out_ += item.IsSequence() ? "[]" : (item.IsMap() ? "{}" : "null");
      endLine();
      return;
    }
    if (mayFlowItem(ctx) && tryFlow(item, indent + 2, ctx, lineOf(item))) return;
    if (item.IsSequence()) {
      endLine();
      value(item, indent + 2, ctx);
      return;
    }
    bool first = true;
    for (const auto& e : orderedEntries(item, ctx)) {
      if (!first) leading(lineOf(e.keyNode), indent + 2, false);
      keyValue(e, indent + 2, ctx, first ? "- " : "");
      first = false;
    }
  }

  CommentMap& comments_;
  const std::string& file_;
  Diagnostics& diags_;
  std::string out_;
  std::vector<std::string> pending_;
};

}  // namespace

FormatResult formatPolicyText(std::string_view text, const std::string& file) {
  FormatResult result;
  detail::FirstDocument doc;
  try {
    doc = detail::loadFirstDocument(std::string(text));
  } catch (const YAML::Exception& e) {
    result.diagnostics.error({file, e.mark.is_null() ? 0 : e.mark.line + 1,
                              e.mark.is_null() ? 0 : e.mark.column + 1},
                             "YAML syntax: " + e.msg);
    return result;
  }
  if (doc.next) {
    result.diagnostics.error({file, doc.next->line + 1, doc.stray ? doc.next->column + 1 : 1},
                             doc.stray ? "YAML syntax: unexpected text after the end of the document"
                                       : "a policy file holds one YAML document, this is the second");
    return result;
  }
  CommentMap comments(text);
  Emitter emitter(comments, file, result.diagnostics);
  result.text = emitter.document(doc.root);
  if (!result.ok()) result.text.clear();
  return result;
}

}  // namespace bulwark::policies
