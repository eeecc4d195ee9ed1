// The top talkers' conntrack dump at 1k/10k/100k entries in a private network namespace, next
// to two baselines dumping the same table in the same run: the reader's former path
// (libnetfilter_conntrack's nfct_query, an nf_conntrack object built per entry, 64 KiB reads;
// kept here only) and conntrack-tools' `conntrack -L`.
//
//   bench/conntrack/run-conntrack-bench.sh [BUILD_DIR] [REPS]   (root; docs/performance.md)
//
// Per size: median and max wall time of REPS dumps with conntrack::Reader::dump and the CPU
// time of the dumping thread (user + the kernel filling the batches in recvmsg: on a busy
// machine the wall time also holds the waits for a core) and its kernel share, the same for the former path, the
// median of `conntrack -L >/dev/null`, the ratios, and TopTalkers add()+top() on the dump
// (the sliding window's share of the worker's time).
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnfnetlink/libnfnetlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bulwark/conntrack/reader.h"
#include "bulwark/conntrack/top_talkers.h"
#include "ct_lab.h"

namespace {

using Clock = std::chrono::steady_clock;
using bulwark::conntrack::Flow;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double cpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The thread's system time: the kernel walking the table and filling the batches.
double sysMs() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_stime.tv_sec) * 1e3 + static_cast<double>(ru.ru_stime.tv_usec) / 1e3;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The former Reader::dump: nfct_query(NFCT_Q_DUMP) with a callback per parsed nf_conntrack.
int legacyEntry(enum nf_conntrack_msg_type /*type*/, struct nf_conntrack* ct, void* data) {
  auto* out = static_cast<std::vector<Flow>*>(data);
  Flow f;
  f.family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  f.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
  if (nfct_attr_is_set(ct, ATTR_ID) > 0) f.id = nfct_get_attr_u32(ct, ATTR_ID);
  if (f.family == AF_INET) {
    std::uint32_t s = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);
    std::uint32_t d = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);
    std::memcpy(f.src.data(), &s, 4);
    std::memcpy(f.dst.data(), &d, 4);
  } else if (f.family == AF_INET6) {
    std::memcpy(f.src.data(), nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
    std::memcpy(f.dst.data(), nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), 16);
  } else {
    return NFCT_CB_CONTINUE;
  }
  if (nfct_attr_is_set(ct, ATTR_ORIG_PORT_SRC) > 0) f.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
  if (nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) > 0) f.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
  for (auto a : {ATTR_ORIG_COUNTER_BYTES, ATTR_REPL_COUNTER_BYTES}) {
    if (nfct_attr_is_set(ct, a) > 0) f.bytes += nfct_get_attr_u64(ct, a);
  }
  for (auto a : {ATTR_ORIG_COUNTER_PACKETS, ATTR_REPL_COUNTER_PACKETS}) {
    if (nfct_attr_is_set(ct, a) > 0) f.packets += nfct_get_attr_u64(ct, a);
  }
  out->push_back(f);
  return NFCT_CB_CONTINUE;
}

bool legacyDump(nfct_handle* h, std::vector<Flow>& out) {
  out.clear();
  nfct_callback_unregister(h);
  if (nfct_callback_register(h, NFCT_T_ALL, legacyEntry, &out) < 0) return false;
  std::uint32_t family = AF_UNSPEC;
  return nfct_query(h, NFCT_Q_DUMP, &family) >= 0;
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
  nfct_handle* legacy = nfct_open(CONNTRACK, 0);
  if (!reader || legacy == nullptr) {
    std::fprintf(stderr, "ctnetlink: %s\n", reader ? std::strerror(errno) : reader.error().message.c_str());
    return 1;
  }
  nfnl_set_rcv_buffer_size(const_cast<nfnl_handle*>(nfct_nfnlh(legacy)), 65536);
  std::printf("%7s %7s %8s %7s %7s %7s | %10s %7s %6s %6s | %8s %6s | %8s\n", "entries", "dumped", "dump ms", "max ms",
              "cpu ms", "kernel", "nfct_query", "cpu ms", "ratio", "cpu", "ct -L ms", "ratio", "top10 ms");
  std::size_t made = 0;
  std::vector<Flow> flows, old;
  for (std::size_t target : {1000u, 10000u, 100000u}) {
    // New flows from a fresh source socket each round: earlier ones (30 s UDP timeout) stay.
    made += testing::makeUdpFlows(target - made, 64);
    std::vector<double> dumps, olds, tops, cli, dumpCpu, dumpSys, oldCpu;
    std::size_t seen = 0;
    for (int i = 0; i < reps; ++i) {
      const double c0 = cpuMs(), s0 = sysMs();
      auto t0 = Clock::now();
      auto st = reader->dump(flows, 1000000, seen);
      auto t1 = Clock::now();
      dumpCpu.push_back(cpuMs() - c0);
      dumpSys.push_back(sysMs() - s0);
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
      const double c3 = cpuMs();
      auto t3 = Clock::now();
      if (!legacyDump(legacy, old)) {
        std::fprintf(stderr, "nfct_query: %s\n", std::strerror(errno));
        return 1;
      }
      olds.push_back(ms(Clock::now() - t3));
      oldCpu.push_back(cpuMs() - c3);
      if (old.size() != flows.size()) {
        std::fprintf(stderr, "the two paths disagree: %zu vs %zu entries\n", flows.size(), old.size());
      }
      auto t4 = Clock::now();
      if (std::system("conntrack -L >/dev/null 2>&1") != 0) return 1;  // NOLINT(cert-env33-c)
      cli.push_back(ms(Clock::now() - t4));
    }
    const double d = median(dumps), dc = median(dumpCpu), oc = median(oldCpu);
    std::printf("%7zu %7zu %8.1f %7.1f %7.1f %7.1f | %10.1f %7.1f %5.2fx %5.2fx | %8.1f %5.2fx | %8.1f\n", target, seen, d,
                *std::max_element(dumps.begin(), dumps.end()), dc, median(dumpSys), median(olds), oc, median(olds) / d, oc / dc,
                median(cli), median(cli) / d, median(tops));
  }
  nfct_close(legacy);
  return 0;
}
