// Small helpers shared by the lab's load programs (stream source and stream clients).
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lab {

inline double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Raise RLIMIT_NOFILE to at least `want` (as root the hard limit may go up to fs.nr_open).
// Returns the soft limit in force afterwards.
inline rlim_t raise_nofile(rlim_t want) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur >= want) return rl.rlim_cur;
  rlimit nl{want, rl.rlim_max > want ? rl.rlim_max : want};
  if (setrlimit(RLIMIT_NOFILE, &nl) != 0) {
    nl = {rl.rlim_max, rl.rlim_max};
    setrlimit(RLIMIT_NOFILE, &nl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

[[noreturn]] inline void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

// "--name value" style option parsing without a dependency: returns argv[i+1] and advances.
inline const char* opt_value(int argc, char** argv, int& i) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "%s needs a value\n", argv[i]);
    std::exit(2);
  }
  return argv[++i];
}

inline long to_long(const char* s, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0') {
    std::fprintf(stderr, "bad number for %s: '%s'\n", what, s);
    std::exit(2);
  }
  return v;
}

// A numeric option ("--bps 64000"): its name and the variable its value goes to.
struct LongOption {
  const char* name;
  long* value;
};

// When argv[i] names one of `options`: reads its value into the option's variable (advancing
// i, exiting on a bad number) and returns true.
template <std::size_t N>
inline bool long_option(const LongOption (&options)[N], int argc, char** argv, int& i) {
  for (const auto& o : options) {
    if (std::strcmp(argv[i], o.name) == 0) {
      *o.value = to_long(opt_value(argc, argv, i), o.name);
      return true;
    }
  }
  return false;
}

}  // namespace lab
