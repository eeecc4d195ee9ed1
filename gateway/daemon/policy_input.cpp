#include "policy_input.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>

#include "bulwark/common/openssl.h"
#include "bulwark/policies/validator.h"

namespace bulwark::daemon {

namespace {

gateway::Result<std::string> readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return gateway::sysError("cannot read " + p.string(), errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

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

gateway::Result<PolicyInput> readPolicyPath(const std::filesystem::path& path) {
  auto listed = policies::listPolicyFiles(path);
  if (!listed.error.empty()) return gateway::Error{listed.error};
  PolicyInput in;
  for (const auto& f : listed.files) {
    auto text = readFile(f);
    if (!text) return text.error();
    in.sources.push_back({f.string(), std::move(*text)});
  }
  std::error_code ec;
  auto dir = std::filesystem::is_directory(path, ec) ? path : path.parent_path();
  in.origin = path.string();
  in.gitCommit = gitCommitOf(dir.empty() ? "." : dir);
  in.hash = sha256Hex(in.sources);
  return in;
}

gateway::Result<PolicyInput> policyFromJson(const nlohmann::json& sources) {
  if (!sources.is_array() || sources.empty()) return gateway::Error{"'sources' must be a non-empty array"};
  PolicyInput in;
  for (const auto& s : sources) {
    if (!s.is_object() || !s.contains("name") || !s.contains("text") || !s["name"].is_string() ||
        !s["text"].is_string()) {
      return gateway::Error{"each source needs string 'name' and 'text'"};
    }
    in.sources.push_back({s["name"].get<std::string>(), s["text"].get<std::string>()});
  }
  in.origin = "payload";
  in.hash = sha256Hex(in.sources);
  return in;
}

policies::LoadResult loadAndValidate(const PolicyInput& in) {
  auto r = policies::loadPolicy(in.sources);
  policies::validatePolicy(r.policy, r.diagnostics);
  r.diagnostics.sort();
  return r;
}

std::vector<std::string> diagnosticLines(const policies::Diagnostics& d) {
  std::vector<std::string> out;
  for (const auto& item : d.items()) out.push_back(item.str());
  return out;
}

}  // namespace bulwark::daemon
