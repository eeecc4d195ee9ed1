#include "policy_input.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>

#include "bulwark/base/openssl.h"
#include "bulwark/policies/source_files.h"

namespace bulwark::daemon {

std::string sha256Hex(const std::vector<policies::Source>& sources) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return "";
  for (const auto& s : sources) {
    // Only the file name counts (not the directory it was read from), then the text.
    auto name = std::filesystem::path(s.name).filename().string();
    EVP_DigestUpdate(ctx.get(), name.data(), name.size());
    EVP_DigestUpdate(ctx.get(), "\0", 1);
    EVP_DigestUpdate(ctx.get(), s.text.data(), s.text.size());
    EVP_DigestUpdate(ctx.get(), "\0", 1);
  }
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &len) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

std::string gitCommitOf(const std::filesystem::path& dir) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return "";
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return "";
  }
  if (pid == 0) {
    ::dup2(pipefd[1], STDOUT_FILENO);
    int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) ::dup2(devnull, STDERR_FILENO);
    std::string d = dir.string();
    // safe.directory: the policy checkout is usually owned by someone other than root.
    ::execlp("git", "git", "-c", "safe.directory=*", "-C", d.c_str(), "rev-parse", "HEAD",
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipefd[1]);
  std::string out;
  std::array<char, 128> buf{};
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.size() == 40 || out.size() == 64 ? out : "";
}

gateway::Result<PolicyInput> readPolicyDir(const std::filesystem::path& dir) {
  policies::SourceLimits limits;
  limits.followSymlinks = false;
  auto read = policies::readPolicySources(dir, limits);
  if (!read.ok()) return gateway::Error{read.error};
  PolicyInput in;
  in.sources = std::move(read.sources);
  std::error_code ec;
  auto repo = std::filesystem::is_directory(dir, ec) ? dir : dir.parent_path();
  in.origin = dir.string();
  in.gitCommit = gitCommitOf(repo.empty() ? "." : repo);
  in.hash = sha256Hex(in.sources);
  return in;
}

gateway::Result<PolicyInput> policyFromJson(nlohmann::json& sources) {
  if (!sources.is_array() || sources.empty()) return gateway::Error{"'sources' must be a non-empty array"};
  if (sources.size() > policies::kMaxPolicyFiles) {
    return gateway::Error{"more than " + std::to_string(policies::kMaxPolicyFiles) + " sources"};
  }
  PolicyInput in;
  std::size_t total = 0;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    auto& s = sources[i];
    auto where = "source " + std::to_string(i + 1);
    if (!s.is_object() || !s.contains("name") || !s.contains("text") || !s["name"].is_string() ||
        !s["text"].is_string()) {
      return gateway::Error{where + ": each source needs string 'name' and 'text'"};
    }
    auto& name = s["name"].get_ref<std::string&>();
    if (auto bad = policies::sourceNameProblem(name); !bad.empty()) return gateway::Error{where + ": " + bad};
    auto& text = s["text"].get_ref<std::string&>();
    total += text.size();
    if (total > policies::kMaxPolicyBytes) {
      return gateway::Error{"the sources hold more than " + std::to_string(policies::kMaxPolicyBytes >> 20) +
                            " MiB of text"};
    }
    in.sources.push_back({std::move(name), std::move(text)});
  }
  in.origin = "payload";
  return in;
}

nlohmann::json sourcesJson(const std::vector<policies::Source>& sources) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : sources) out.push_back({{"name", s.name}, {"text", s.text}});
  return out;
}

PolicyInput withHash(PolicyInput in) {
  if (in.hash.empty()) in.hash = sha256Hex(in.sources);
  return in;
}

std::vector<std::string> diagnosticLines(const policies::Diagnostics& d) {
  std::vector<std::string> out;
  for (const auto& item : d.items()) out.push_back(item.str());
  return out;
}

}  // namespace bulwark::daemon
