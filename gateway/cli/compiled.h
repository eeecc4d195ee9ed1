#pragma once
// Load, validate and compile a policy for the commands that need the firewall IR; prints
// the diagnostics and returns nullopt when any step fails.
#include <optional>
#include <string>

#include "bulwark/firewall/compiler.h"
#include "bulwark/policies/loader.h"
#include "commands.h"

namespace bulwark::cli {

struct Compiled {
  policies::LoadResult loaded;
  firewall::CompileResult compiled;
};

// Prints why and returns false when PATH is missing or holds no policy files (exit 2).
[[nodiscard]] bool policyPathExists(const std::string& path);

[[nodiscard]] std::optional<Compiled> loadCompiled(const std::string& path, const GlobalOptions& opts);

}  // namespace bulwark::cli
