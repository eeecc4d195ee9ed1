#pragma once
// The campus example's text, and one edit of it, for the review's tests.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace bulwark::review::testing {

inline std::string campus() {
  std::ifstream in(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `s` with the first `from` replaced by `to` (a test failure when there is none).
inline std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

}  // namespace bulwark::review::testing
