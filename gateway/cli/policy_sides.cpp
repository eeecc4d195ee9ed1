#include "policy_sides.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "bulwark/policies/source_files.h"

namespace bulwark::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxGitStderr = 4096;

struct GitRun {
  int status = -1;  // exit code; -1 when it could not run or was killed
  std::string out, err;
  bool tooLong = false;  // stdout passed the bound (the rest was not read)
};

// git ARGS in `dir`, stdout bounded by `maxOut` bytes; no shell, no pager, no prompt.
GitRun git(const fs::path& dir, std::vector<std::string> args, std::size_t maxOut) {
  GitRun r;
  int outPipe[2], errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0) return r;
  if (::pipe2(errPipe, O_CLOEXEC) != 0) {
    ::close(outPipe[0]);
    ::close(outPipe[1]);
    return r;
  }
  std::vector<std::string> argv{"git", "--no-pager", "-C", dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(outPipe[1], STDOUT_FILENO);
    ::dup2(errPipe[1], STDERR_FILENO);
    ::setenv("GIT_TERMINAL_PROMPT", "0", 1);
    ::execvp("git", cargv.data());
    ::_exit(127);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  if (pid < 0) {
    ::close(outPipe[0]);
    ::close(errPipe[0]);
    return r;
  }
  std::array<pollfd, 2> fds{pollfd{outPipe[0], POLLIN, 0}, pollfd{errPipe[0], POLLIN, 0}};
  std::array<char, 65536> buf{};
  int open = 2;
  while (open > 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (auto& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(p.fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(p.fd);
        p.fd = -1;
        --open;
        continue;
      }
      auto& into = p.fd == fds[0].fd ? r.out : r.err;
      const std::size_t bound = &into == &r.out ? maxOut : kMaxGitStderr;
      if (into.size() + static_cast<std::size_t>(n) > bound) {
        into.append(buf.data(), bound - into.size());
        if (&into == &r.out) {
          // Enough: stop reading; git gets SIGPIPE.
          r.tooLong = true;
          ::close(p.fd);
          p.fd = -1;
          --open;
        }
      } else {
        into.append(buf.data(), static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

std::string firstLine(std::string s) {
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return policies::printable(s);
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool isPolicyFile(const std::string& name) {
  auto ext = fs::path(name).extension();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace

ReadSide readWorkingTree(const std::string& path) {
  ReadSide side;
  auto read = policies::readPolicySources(path);
  if (!read.ok()) {
    side.error = read.error;
    return side;
  }
  side.input = {"working tree (" + path + ")", std::move(read.sources)};
  return side;
}

ReadSide readRevision(const std::string& path, const std::string& rev) {
  ReadSide side;
  auto fail = [&](std::string message) {
    side.error = path + ": error: " + std::move(message);
    return side;
  };
  if (rev.empty() || rev.front() == '-' || rev.find(':') != std::string::npos ||
      !policies::sourceNameProblem(rev).empty()) {
    return fail("'" + policies::printable(rev) + "' is neither a policy path nor a Git revision");
  }
  std::error_code ec;
  // The repository: the one the policy (or, when it is gone from the working tree, its
  // directory) is in.
  fs::path abs = fs::absolute(path, ec);
  fs::path dir = fs::is_directory(abs, ec) ? abs : abs.parent_path();
  while (!dir.empty() && !fs::is_directory(dir, ec) && dir != dir.root_path()) dir = dir.parent_path();
  auto top = git(dir, {"rev-parse", "--show-toplevel"}, 4096);
  if (top.status != 0) return fail("not in a Git repository (" + firstLine(top.err) + ")");
  fs::path root = trimmed(top.out);
  auto rel = fs::weakly_canonical(abs, ec).lexically_relative(fs::weakly_canonical(root, ec));
  if (rel.empty() || *rel.begin() == "..") return fail("not inside the repository " + root.string());
  auto relText = rel == "." ? std::string() : rel.generic_string();
  auto verified = git(root, {"rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"}, 4096);
  if (verified.status != 0) return fail("'" + policies::printable(rev) + "' is neither a policy path nor a Git revision");
  auto commit = trimmed(verified.out);
  // What the revision has at that path: the file itself, or the directory's files.
  auto listed = git(root, {"ls-tree", "-z", "--full-tree", "--name-only", commit, "--", relText.empty() ? "." : relText},
                    1u << 20);
  if (listed.status != 0) return fail("git ls-tree: " + firstLine(listed.err));
  std::vector<std::string> entries;
  for (std::size_t at = 0; at < listed.out.size();) {
    auto end = listed.out.find('\0', at);
    if (end == std::string::npos) end = listed.out.size();
    entries.push_back(listed.out.substr(at, end - at));
    at = end + 1;
  }
  std::vector<std::string> files;
  if (entries.size() == 1 && entries.front() == relText) {
    // A file, or a directory (then list its entries).
    auto type = git(root, {"cat-file", "-t", commit + ":" + relText}, 64);
    if (trimmed(type.out) == "tree") {
      listed = git(root, {"ls-tree", "-z", "--full-tree", "--name-only", commit, "--", relText + "/"}, 1u << 20);
      entries.clear();
      for (std::size_t at = 0; at < listed.out.size();) {
        auto end = listed.out.find('\0', at);
        if (end == std::string::npos) end = listed.out.size();
        entries.push_back(listed.out.substr(at, end - at));
        at = end + 1;
      }
      for (const auto& e : entries) {
        if (isPolicyFile(e)) files.push_back(e);
      }
    } else {
      files.push_back(relText);
    }
  } else {
    for (const auto& e : entries) {
      if (isPolicyFile(e)) files.push_back(e);
    }
  }
  if (files.empty()) return fail("no policy files there in " + policies::printable(rev));
  if (files.size() > policies::kMaxPolicyFiles) {
    return fail("more than " + std::to_string(policies::kMaxPolicyFiles) + " policy files in " + rev);
  }
  std::sort(files.begin(), files.end());
  std::size_t total = 0;
  fs::path shown = path;
  for (const auto& f : files) {
    auto blob = git(root, {"show", commit + ":" + f}, policies::kMaxPolicyBytes - total + 1);
    if (blob.status != 0 && !blob.tooLong) return fail("git show " + rev + ":" + f + ": " + firstLine(blob.err));
    total += blob.out.size();
    if (blob.tooLong || total > policies::kMaxPolicyBytes) {
      return fail("the policy in " + rev + " holds more than " + std::to_string(policies::kMaxPolicyBytes >> 20) +
                  " MiB");
    }
    // Named as the path the user gave (a file of the directory under it), with the revision.
    auto name = relText == f ? shown.string() : (shown / fs::path(f).filename()).string();
    side.input.sources.push_back({rev + ":" + name, std::move(blob.out)});
  }
  side.input.label = rev;
  return side;
}

std::string commitClaim(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  const bool isDir = fs::is_directory(abs, ec);
  fs::path dir = isDir ? abs : abs.parent_path();
  auto head = git(dir, {"rev-parse", "--verify", "--quiet", "HEAD"}, 4096);
  auto commit = trimmed(head.out);
  if (head.status != 0 || (commit.size() != 40 && commit.size() != 64)) return "";
  // The pathspec is relative to `dir` (git -C): the directory itself, or the file in it.
  const std::string spec = isDir ? "." : abs.filename().string();
  auto changed = git(dir, {"status", "--porcelain", "--untracked-files=all", "--", spec}, 4096);
  if (changed.tooLong) return commit + "-dirty";  // more changes than the bound: changed all the same
  if (changed.status != 0) return "";  // cannot tell (e.g. another user's repository): claim nothing
  return changed.out.empty() ? commit : commit + "-dirty";
}

ReadSide readSide(const std::string& policyPath, const std::string& spec) {
  std::error_code ec;
  if (fs::exists(spec, ec)) return readWorkingTree(spec);
  return readRevision(policyPath, spec);
}

}  // namespace bulwark::cli
