#include "bulwark/policies/source_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace bulwark::policies {

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

std::string fail(const std::filesystem::path& p, const std::string& what) {
  return printable(p.string(), kMaxSourceNameBytes) + ": error: " + what;
}

// Reads one file; `budget` is what the policy may still take (decremented).
std::string readOne(const std::filesystem::path& p, const SourceLimits& limits, std::size_t& budget,
                    std::string& out) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores the flag.
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (limits.followSymlinks ? 0 : O_NOFOLLOW);
  Fd fd(::open(p.c_str(), flags));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ELOOP && !limits.followSymlinks) return fail(p, "is a symbolic link (not followed)");
    return fail(p, std::string("cannot open: ") + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(p, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(p, "not a regular file");
  if (static_cast<std::size_t>(st.st_size) > budget) {
    return fail(p, "the policy is larger than " + std::to_string(limits.maxTotalBytes >> 20) + " MiB");
  }
  out.clear();
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(p, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    // The size may have grown since fstat: the budget holds for what is read, not what was stat'ed.
    if (static_cast<std::size_t>(n) > budget - out.size()) {
      return fail(p, "the policy is larger than " + std::to_string(limits.maxTotalBytes >> 20) + " MiB");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  budget -= out.size();
  return {};
}

}  // namespace

ReadSources readPolicySources(const std::filesystem::path& path, const SourceLimits& limits) {
  ReadSources r;
  auto listed = listPolicyFiles(path);
  if (!listed.error.empty()) {
    r.error = listed.error;
    return r;
  }
  if (listed.files.size() > limits.maxFiles) {
    r.error = fail(path, "more than " + std::to_string(limits.maxFiles) + " policy files");
    return r;
  }
  std::size_t budget = limits.maxTotalBytes;
  for (const auto& f : listed.files) {
    Source s{f.string(), {}};
    if (auto bad = sourceNameProblem(s.name); !bad.empty()) {
      r.error = fail(f, bad);
      return r;
    }
    if (auto e = readOne(f, limits, budget, s.text); !e.empty()) {
      r.error = std::move(e);
      return r;
    }
    r.sources.push_back(std::move(s));
  }
  return r;
}

std::string sourceNameProblem(std::string_view name) {
  if (name.empty()) return "empty source name";
  if (name.size() > kMaxSourceNameBytes) {
    return "source name longer than " + std::to_string(kMaxSourceNameBytes) + " bytes";
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "a control character in the source name";
  }
  return {};
}

std::string printable(std::string_view text, std::size_t maxBytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const std::size_t n = text.size() < maxBytes ? text.size() : maxBytes;
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == 0x7f || u == '\\') {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(static_cast<char>(u));
    }
  }
  if (text.size() > maxBytes) out += "...";
  return out;
}

}  // namespace bulwark::policies
