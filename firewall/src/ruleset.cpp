#include "bulwark/firewall/ruleset.h"

#include <algorithm>
#include <charconv>

namespace bulwark::firewall {

std::string Rule::comment() const {
  std::string c;
  if (origin.where.file.empty()) {
    c = "bulwark: " + origin.what;
  } else {
    auto file = origin.where.file;
    auto slash = file.find_last_of('/');
    if (slash != std::string::npos) file = file.substr(slash + 1);
    c = file + ":" + std::to_string(origin.where.line) + " " + origin.what;
  }
  if (c.size() > 127) c.resize(127);  // NFTNL_UDATA_COMMENT_MAXLEN is 128 with the NUL
  return c;
}

// The one reader of Rule::comment()'s format: "<file>:<line> <what>" (the first ":<digits> "
// ends the file name, which may itself hold spaces or colons) or "bulwark: <what>".
Origin originOfComment(const std::string& c) {
  Origin o;
  constexpr std::string_view builtin = "bulwark: ";
  if (c.rfind(builtin, 0) == 0) {
    o.what = c.substr(builtin.size());
    return o;
  }
  for (std::size_t colon = c.find(':'); colon != std::string::npos; colon = c.find(':', colon + 1)) {
    const std::size_t digits = colon + 1;
    std::size_t end = digits;
    while (end < c.size() && c[end] >= '0' && c[end] <= '9') ++end;
    if (end == digits || end >= c.size() || c[end] != ' ' || colon == 0) continue;
    int line = 0;
    auto [ptr, ec] = std::from_chars(c.data() + digits, c.data() + end, line);
    if (ec != std::errc() || ptr != c.data() + end) continue;
    o.where.file = c.substr(0, colon);
    o.where.line = line;
    o.what = c.substr(end + 1);
    return o;
  }
  o.what = c;
  return o;
}

Origin pairDropOrigin(const std::string& from, const std::string& to) {
  return {{}, std::string(kPairDrop) + from + ">" + to};
}

namespace {

// "bulwark: <kind>from>to" → {from, to}; zone names hold no '>'.
std::optional<std::pair<std::string, std::string>> pairAfter(const std::string& comment, std::string_view kind) {
  const std::string prefix = "bulwark: " + std::string(kind);
  if (comment.rfind(prefix, 0) != 0) return std::nullopt;
  auto label = comment.substr(prefix.size());
  auto gt = label.find('>');
  if (gt == std::string::npos) return std::nullopt;
  return std::pair{label.substr(0, gt), label.substr(gt + 1)};
}

}  // namespace

std::optional<std::pair<std::string, std::string>> pairOfDropComment(const std::string& comment) {
  return pairAfter(comment, kPairDrop);
}

Origin pairFlowOrigin(const std::string& from, const std::string& to, bool reply) {
  return {{}, std::string(reply ? kPairFlowReply : kPairFlow) + from + ">" + to};
}

std::optional<PairFlow> pairOfFlowComment(const std::string& comment) {
  for (bool reply : {false, true}) {
    if (auto pr = pairAfter(comment, reply ? kPairFlowReply : kPairFlow)) {
      return PairFlow{std::move(pr->first), std::move(pr->second), reply};
    }
  }
  return std::nullopt;
}

const Chain* Ruleset::findChain(std::string_view name) const {
  auto it = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return c.name == name; });
  return it == chains.end() ? nullptr : &*it;
}

const SetDef* Ruleset::findSet(std::string_view name) const {
  auto it = std::find_if(sets.begin(), sets.end(), [&](const SetDef& s) { return s.name == name; });
  return it == sets.end() ? nullptr : &*it;
}

}  // namespace bulwark::firewall
