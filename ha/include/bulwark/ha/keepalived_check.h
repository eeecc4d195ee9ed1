#pragma once
// `keepalived -t -f CONF`: the real binary checks a rendered configuration before bulwarkd
// puts it in place (unknown interfaces, bad values, options this keepalived lacks). Run in the
// node's network namespace: keepalived resolves the interfaces the file names.
#include <chrono>
#include <filesystem>
#include <string>

#include "bulwark/ha/result.h"

namespace bulwark::ha {

// ok, or every line keepalived printed about the file.
[[nodiscard]] Status checkKeepalivedConfig(const std::string& binary, const std::filesystem::path& conf,
                                           std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

}  // namespace bulwark::ha
