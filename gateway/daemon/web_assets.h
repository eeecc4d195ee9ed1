#pragma once
// The web view's files (gateway/web), compiled into bulwarkd (cmake/embed_files.cmake): the
// server answers only these paths, from memory.
#include <cstddef>
#include <string_view>
#include <vector>

namespace bulwark::daemon {

struct WebAsset {
  const char* path;          // "/index.html", "/vendor/uPlot.iife.min.js", ...
  const char* contentType;
  const unsigned char* data;
  std::size_t size;
  [[nodiscard]] std::string_view body() const { return {reinterpret_cast<const char*>(data), size}; }
};

[[nodiscard]] const std::vector<WebAsset>& webAssets();

}  // namespace bulwark::daemon
