#pragma once
// The canonical form of a policy file: fixed key order, 2-space indentation, flow style
// for short leaf lists and maps, one blank line between top-level sections. Comments are
// kept: a comment on its own line(s) stays above the key or list item that follows it, a
// comment at the end of a line stays on that line. A comment that cannot be carried over
// (e.g. inside a multi-line flow list) is an error: fmt refuses rather than lose it.
#include <string>
#include <string_view>

#include "bulwark/policies/diagnostics.h"

namespace bulwark::policies {

struct FormatResult {
  std::string text;  // valid when diagnostics has no errors
  Diagnostics diagnostics;
  [[nodiscard]] bool ok() const { return !diagnostics.hasErrors(); }
};

[[nodiscard]] FormatResult formatPolicyText(std::string_view text, const std::string& file);

}  // namespace bulwark::policies
