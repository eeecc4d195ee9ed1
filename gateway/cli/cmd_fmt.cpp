#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "bulwark/policies/formatter.h"
#include "bulwark/policies/loader.h"
#include "commands.h"
#include "output.h"

namespace bulwark::cli {

namespace {

namespace fs = std::filesystem;

struct Pending {
  fs::path file;
  std::string original;
  std::string formatted;
};

// Write next to the file and rename over it, so a crash never leaves half a policy.
bool replaceFile(const fs::path& file, const std::string& text, std::string& error) {
  auto tmp = file;
  tmp += ".bulwark-fmt." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      error = "cannot write " + tmp.string();
      return false;
    }
  }
  std::error_code ec;
  fs::permissions(tmp, fs::status(file, ec).permissions(), ec);
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    error = "cannot replace " + file.string() + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace

int runFmt(const std::string& path, bool check, const GlobalOptions& opts) {
  if (path == "-") {  // editor integration: stdin → stdout
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto r = policies::formatPolicyText(text, "<stdin>");
    printDiagnostics(r.diagnostics);
    if (!r.ok()) return kExitInvalid;
    std::cout << r.text;
    return check && r.text != text ? kExitInvalid : kExitOk;
  }
  auto listed = policies::listPolicyFiles(path);
  if (!listed.error.empty()) {
    std::cerr << listed.error << '\n';
    return kExitUsage;
  }
  std::vector<Pending> pending;
  policies::Diagnostics diags;
  for (const auto& file : listed.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << file.string() << ": error: cannot open file\n";
      return kExitUsage;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    auto r = policies::formatPolicyText(ss.str(), file.string());
    diags.append(r.diagnostics);
    if (r.ok()) pending.push_back({file, ss.str(), r.text});
  }
  // All or nothing: one unformattable file means no file is rewritten.
  if (diags.hasErrors()) {
    if (opts.json) {
      std::cout << nlohmann::json{{"ok", false}, {"diagnostics", diagnosticsJson(diags)}}.dump(2) << '\n';
    } else {
      printDiagnostics(diags);
    }
    return kExitInvalid;
  }
  auto changed = nlohmann::json::array();
  for (const auto& p : pending) {
    if (p.original == p.formatted) continue;
    changed.push_back(p.file.string());
    if (check) {
      if (!opts.json) std::cerr << p.file.string() << ": not in canonical form (run bulwarkctl fmt)\n";
      continue;
    }
    std::string error;
    if (!replaceFile(p.file, p.formatted, error)) {
      std::cerr << error << '\n';
      return kExitUsage;
    }
    if (!opts.json) std::cout << "formatted " << p.file.string() << '\n';
  }
  if (opts.json) {
    std::cout << nlohmann::json{{"ok", !(check && !changed.empty())},
                                {check ? "unformatted" : "formatted", changed}}
                     .dump(2)
              << '\n';
  }
  return check && !changed.empty() ? kExitInvalid : kExitOk;
}

}  // namespace bulwark::cli
