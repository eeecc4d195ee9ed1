#pragma once
// One child command of a benchmark (nft, ip): fork, exec with PATH searched, wait. Shared by
// the benchmarks that time nft next to Bulwark doing the same.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace bulwark::bench {

// The child's exit status (127: exec failed; 128: it did not exit), or -1 when fork failed.
// The child inherits our network namespace. `quiet`: its stdout and stderr go to /dev/null.
// `usage`, when given: the child's resource usage.
inline int runChild(const std::vector<std::string>& argv, bool quiet = false, rusage* usage = nullptr) {
  std::cout.flush();  // else the child's freopen() writes our buffered output a second time
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (quiet) {
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0) {
  }
  if (usage != nullptr) *usage = ru;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace bulwark::bench
