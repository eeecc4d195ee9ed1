#pragma once
// YAML → Policy. Reports every problem it finds (syntax, unknown keys, wrong types, bad
// literals) as file:line:col diagnostics and keeps going, so one run shows all of them.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/model.h"

namespace bulwark::policies {

struct Source {
  std::string name;  // file name used in diagnostics
  std::string text;
};

struct LoadResult {
  Policy policy;
  Diagnostics diagnostics;
  [[nodiscard]] bool ok() const { return !diagnostics.hasErrors(); }
};

// A policy is one YAML file, or a directory whose *.yaml / *.yml files (sorted by name,
// not recursive) are read as one policy: list sections are concatenated, `gateway` and
// `vpn` may be given in one file only.
[[nodiscard]] LoadResult loadPolicy(const std::filesystem::path& path);
[[nodiscard]] LoadResult loadPolicy(const std::vector<Source>& sources);
[[nodiscard]] LoadResult loadPolicyText(std::string_view text, std::string name = "<input>");

// The files loadPolicy(path) reads, in order (fmt uses the same list).
struct PolicyFiles {
  std::vector<std::filesystem::path> files;
  std::string error;
};
[[nodiscard]] PolicyFiles listPolicyFiles(const std::filesystem::path& path);

// Loads and validates: the usual entry point for tools.
[[nodiscard]] LoadResult loadAndValidate(const std::filesystem::path& path);

}  // namespace bulwark::policies
