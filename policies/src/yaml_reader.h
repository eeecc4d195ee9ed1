#pragma once
// Typed, located access to yaml-cpp nodes. Every problem becomes a diagnostic at the
// node's file:line:col and reading goes on, so the loader reports all problems at once.
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/model.h"

namespace bulwark::policies::detail {

struct Field {
  std::string key;
  YAML::Node keyNode;
  YAML::Node value;
};

// The entries of one YAML mapping, checked against the keys its schema allows.
class Fields {
 public:
  [[nodiscard]] const Field* get(std::string_view key) const;
  [[nodiscard]] const std::vector<Field>& all() const { return fields_; }
  std::vector<Field> fields_;
};

class YamlReader {
 public:
  YamlReader(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  [[nodiscard]] Location loc(const YAML::Node& n) const;
  [[nodiscard]] Location loc(const Field& f) const;  // the value, or the key when empty
  [[nodiscard]] const std::string& file() const { return file_; }
  Diagnostics& diags() { return diags_; }

  // A mapping with only `allowed` keys; `required` keys must be present. Reports unknown
  // keys (with a did-you-mean hint), duplicate keys and missing keys. nullopt when `n` is
  // not a mapping at all.
  std::optional<Fields> mapping(const YAML::Node& n, const Location& where, std::string_view what,
                                std::initializer_list<std::string_view> allowed,
                                std::initializer_list<std::string_view> required = {});

  // Scalars. Each reports its own type error and returns nullopt.
  std::optional<std::string> string(const Field& f);
  std::optional<std::string> name(const Field& f);  // identifier rules for object names
  std::optional<long> integer(const Field& f, long min, long max);
  std::optional<bool> boolean(const Field& f);
  std::optional<IpAddress> address(const Field& f);
  std::optional<IpAddress> address(const YAML::Node& n);
  std::optional<Prefix> prefix(const Field& f);
  // A Linux interface name (1-15 characters, no '/', ':' or white space); "" when invalid.
  std::string interfaceName(const Field& f);

  // A list of scalars; a single scalar is taken as a one-element list.
  std::vector<std::pair<std::string, Location>> scalarList(const Field& f, bool allowScalar);
  // The items of a sequence of mappings (an error, and no items, when not a sequence).
  std::vector<YAML::Node> sequence(const Field& f);

  void recordField(Located& target, const Field& f) { target.fields[f.key] = loc(f); }

 private:
  bool isEmpty(const Field& f);
  // false (with a diagnostic at the node) when the scalar holds a control character; `freeText`
  // allows newlines and tabs (descriptions).
  bool controlCharsOk(const YAML::Node& n, std::string_view key, bool freeText);
  std::string file_;
  Diagnostics& diags_;
};

// The first YAML document of `text`, and where a second one starts, if any. Throws
// YAML::Exception on a syntax error, like YAML::LoadAll -- which it replaces because
// yaml-cpp 0.7's LoadAll loops forever, allocating, when text it cannot parse follows a
// document, e.g. "[a], b" (jbeder/yaml-cpp#1040).
struct FirstDocument {
  YAML::Node root;
  std::optional<YAML::Mark> next;  // a second document, or the stray text (below), starts here
  bool stray = false;              // `next` is text yaml-cpp cannot parse, not a document
};
[[nodiscard]] FirstDocument loadFirstDocument(const std::string& text);

// The candidate within two edits of `word` (a typo), or "" when none is that close.
[[nodiscard]] std::string closestMatch(std::string_view word,
                                       std::span<const std::string_view> candidates);

}  // namespace bulwark::policies::detail
