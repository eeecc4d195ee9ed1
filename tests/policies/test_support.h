#pragma once
// Helpers shared by the policy library tests: running the loader + validator over a text
// and comparing the diagnostics as the user sees them (Diagnostic::str()), temp dirs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/policies/diagnostics.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"

namespace bulwark::policies::test {

using Lines = std::vector<std::string>;

inline Lines strs(const Diagnostics& d) {
  Lines out;
  for (const auto& x : d.items()) out.push_back(x.str());
  return out;
}

// Loader only: syntax, keys, types, literals.
inline Lines loadDiags(std::string_view yaml, const std::string& name = "t.yaml") {
  auto r = loadPolicyText(yaml, name);
  r.diagnostics.sort();
  return strs(r.diagnostics);
}

// Loader + validator, sorted like `bulwarkctl validate` prints them.
inline Lines diags(std::string_view yaml, const std::string& name = "t.yaml") {
  auto r = loadPolicyText(yaml, name);
  validatePolicy(r.policy, r.diagnostics);
  r.diagnostics.sort();
  return strs(r.diagnostics);
}

inline LoadResult loadValid(std::string_view yaml) {
  auto r = loadPolicyText(yaml, "t.yaml");
  validatePolicy(r.policy, r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << ::testing::PrintToString(strs(r.diagnostics));
  return r;
}

inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << p;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeFile(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << p;
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto candidate = std::filesystem::temp_directory_path() /
                       ("bulwark-policies-test-" + std::to_string(rd()));
      if (std::filesystem::create_directory(candidate)) {
        path_ = candidate;
        return;
      }
    }
    ADD_FAILURE() << "cannot create a temp dir";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, std::string_view text) const {
    auto p = path_ / name;
    writeFile(p, text);
    return p;
  }

 private:
  std::filesystem::path path_;
};

inline std::filesystem::path examplesDir() { return BULWARK_EXAMPLES_DIR; }

inline std::filesystem::path campusPath() { return examplesDir() / "campus.yaml"; }

}  // namespace bulwark::policies::test
