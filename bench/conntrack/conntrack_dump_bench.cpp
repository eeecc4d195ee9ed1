// The top talkers' conntrack dump at 1k/10k/100k entries, next to `conntrack -L` (the
// baseline: conntrack-tools dumping the same table), in a private network namespace.
//
//   bench/conntrack/run-conntrack-bench.sh [BUILD_DIR]   (root; figures in docs/performance.md)
//
// Per size: median and max of --reps dumps with conntrack::Reader::dump, the TopTalkers
// add()+top() on that dump, and the median wall time of `conntrack -L >/dev/null`.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bulwark/conntrack/reader.h"
#include "bulwark/conntrack/top_talkers.h"
#include "ct_lab.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bulwark::conntrack;
  int reps = argc > 1 ? std::atoi(argv[1]) : 7;
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (needs root)");
    return 77;
  }
  std::string why;
  if (!testing::setUp(why)) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return 77;
  }
  auto reader = Reader::open();
  if (!reader) {
    std::fprintf(stderr, "%s\n", reader.error().message.c_str());
    return 1;
  }
  std::printf("%8s %8s %12s %10s %14s %16s %7s\n", "entries", "dumped", "dump med ms", "max ms", "top10 med ms",
              "conntrack -L ms", "ratio");
  std::size_t made = 0;
  std::vector<Flow> flows;
  for (std::size_t target : {1000u, 10000u, 100000u}) {
    // New flows from a fresh source socket each round: earlier ones (30 s UDP timeout) stay.
    made += testing::makeUdpFlows(target - made, 64);
    std::vector<double> dumps, tops, cli;
    std::size_t seen = 0;
    for (int i = 0; i < reps; ++i) {
      auto t0 = Clock::now();
      auto st = reader->dump(flows, 1000000, seen);
      auto t1 = Clock::now();
      if (!st) {
        std::fprintf(stderr, "dump: %s\n", st.error().message.c_str());
        return 1;
      }
      dumps.push_back(ms(t1 - t0));
      TopTalkers top;
      top.add(t1 - std::chrono::seconds(10), flows);
      auto t2 = Clock::now();
      top.add(t1, flows);
      auto r = top.top(10);
      tops.push_back(ms(Clock::now() - t2));
      auto t3 = Clock::now();
      if (std::system("conntrack -L >/dev/null 2>&1") != 0) return 1;  // NOLINT(cert-env33-c)
      cli.push_back(ms(Clock::now() - t3));
    }
    std::printf("%8zu %8zu %12.1f %10.1f %14.1f %16.1f %6.1fx\n", target, seen, median(dumps),
                *std::max_element(dumps.begin(), dumps.end()), median(tops), median(cli), median(cli) / median(dumps));
  }
  return 0;
}
