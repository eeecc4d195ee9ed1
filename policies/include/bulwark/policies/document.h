#pragma once
// A policy file's YAML as plain data with the place of every node, for tools that compare or
// show documents (the review's changes in policy terms) without yaml-cpp in their interface.
// Read under the loader's rules: one document, no anchors or aliases, nesting bounded.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/loader.h"

namespace bulwark::policies {

struct DocEntry;

struct DocNode {
  enum class Kind : std::uint8_t { Null, Scalar, Sequence, Map };
  Kind kind = Kind::Null;
  std::string scalar;
  std::vector<DocNode> items;     // Sequence
  std::vector<DocEntry> entries;  // Map, in the order written
  std::vector<Location> keyLocations;                    // Map: where each entry's key is
  Location where;

  [[nodiscard]] const DocNode* find(std::string_view key) const;
};

// A map's entry. Not a std::pair: clang's libstdc++ checks pair's members for completeness,
// and DocNode is incomplete inside its own definition (std::vector allows that).
struct DocEntry {
  std::string first;  // the key
  DocNode second;     // the value
};

inline constexpr int kMaxDocumentDepth = 64;

struct ReadDocument {
  std::optional<DocNode> root;  // nullopt when the text does not parse (see diagnostics)
  Diagnostics diagnostics;
};

[[nodiscard]] ReadDocument readDocument(const Source& source);

}  // namespace bulwark::policies
