// bulwark-flood: a bounded packet flood for the lab (lab/lab load --flood): TCP SYNs or UDP
// datagrams from spoofed sources, on a raw socket (IPPROTO_RAW, so IP_HDRINCL: we write the
// IPv4 header), sent in sendmmsg batches.
//
//   bulwark-flood --mode syn|udp --dst ADDR --allow CIDR [--allow CIDR ...]
//       (--duration S | --count N) [--rate PPS] [--port N] [--src-net 198.18.0.0/15]
//       [--exclude CIDR ...] [--open-port N ...] [--payload B] [--batch N] [--check]
//
//   syn  TCP SYN to DST:--port, each from a random source address of --src-net (outside every
//        --exclude), a random source port and sequence number.
//   udp  UDP datagrams of --payload bytes to random ports of DST (never an --open-port), from
//        random sources and ports as above.
//
// Bounds, so that it can never be more than the lab's own test: a run needs --duration (at
// most 600 s) or --count (at most 100,000,000) or both, and stops at the first; DST must lie
// in one of the --allow prefixes (the lab passes its own namespaces' addresses); sources come
// only from the benchmark range 198.18.0.0/15 (RFC 2544), which no real host uses. --rate 0
// (the default) sends as fast as the socket takes them. --check validates and prints the plan
// without sending.
//
// Output: one JSON line at the end, {"flood": {"mode", "dst", "sent", "errors", "seconds",
// "pps", ...}}. Exit 0 after a run, 2 on a refused or bad argument or a system error.
// SIGTERM/SIGINT end the run early (still with the summary).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "flood_packet.h"

namespace {

constexpr long kMaxDuration = 600;
constexpr long kMaxCount = 100000000;
constexpr long kMaxBatch = 256;
constexpr const char* kBenchmarkNet = "198.18.0.0/15";

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void refuse(const std::string& why) {
  std::fprintf(stderr, "bulwark-flood: %s\n", why.c_str());
  std::exit(2);
}

lab::flood::Net net_or_refuse(const std::string& s, const char* what) {
  auto n = lab::flood::parseNet(s);
  if (!n) refuse(std::string("bad ") + what + " '" + s + "' (want an IPv4 address or prefix)");
  return *n;
}

std::string addr_text(std::uint32_t a) {
  in_addr x{htonl(a)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &x, buf, sizeof buf);
  return buf;
}

void usage() {
  std::fprintf(stderr, "usage: bulwark-flood --mode syn|udp --dst ADDR --allow CIDR [--allow CIDR ...]\n"
                       "  (--duration S | --count N) [--rate PPS] [--port N] [--src-net CIDR] [--exclude CIDR ...]\n"
                       "  [--open-port N ...] [--payload B] [--batch N] [--check]\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode, dst_text, src_text = kBenchmarkNet;
  std::vector<lab::flood::Net> allow, exclude;
  std::vector<long> open_ports;
  long rate = 0, duration = 0, count = 0, port = 0, payload = 18, batch = 64;
  bool check = false;
  const lab::LongOption numbers[] = {{"--rate", &rate},   {"--duration", &duration}, {"--count", &count},
                                     {"--port", &port},   {"--payload", &payload},   {"--batch", &batch}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (lab::long_option(numbers, argc, argv, i)) continue;
    if (a == "--mode") mode = lab::opt_value(argc, argv, i);
    else if (a == "--dst") dst_text = lab::opt_value(argc, argv, i);
    else if (a == "--src-net") src_text = lab::opt_value(argc, argv, i);
    else if (a == "--allow") allow.push_back(net_or_refuse(lab::opt_value(argc, argv, i), "--allow"));
    else if (a == "--exclude") exclude.push_back(net_or_refuse(lab::opt_value(argc, argv, i), "--exclude"));
    else if (a == "--open-port") open_ports.push_back(lab::to_long(lab::opt_value(argc, argv, i), "--open-port"));
    else if (a == "--check") check = true;
    else {
      usage();
      return 2;
    }
  }
  const bool syn = mode == "syn";
  if (!syn && mode != "udp") refuse("--mode syn or udp");
  // The bounds: a run ends by itself, and goes only where the lab says.
  if (duration <= 0 && count <= 0) refuse("refusing an unbounded run: give --duration S or --count N");
  if (duration < 0 || duration > kMaxDuration) refuse("--duration: 1.." + std::to_string(kMaxDuration) + " s");
  if (count < 0 || count > kMaxCount) refuse("--count: 1.." + std::to_string(kMaxCount));
  if (rate < 0) refuse("--rate: packets per second, 0 for as fast as it goes");
  if (allow.empty()) refuse("refusing a run without --allow: the prefixes it may send to");
  auto dst_net = net_or_refuse(dst_text, "--dst");
  if (dst_net.len != 32) refuse("--dst: one address");
  const std::uint32_t dst = dst_net.base;
  if (!lab::flood::inAny(allow, dst)) refuse("refusing destination " + dst_text + ": not in an --allow prefix");
  const auto src = net_or_refuse(src_text, "--src-net");
  if (!net_or_refuse(kBenchmarkNet, "benchmark net").covers(src))
    refuse("refusing --src-net " + src_text + ": sources are spoofed only from " + kBenchmarkNet);
  if (syn && (port <= 0 || port > 65535)) refuse("--mode syn needs --port 1..65535");
  if (!syn && (payload < 0 || static_cast<std::size_t>(payload) > lab::flood::kMaxUdpPayload))
    refuse("--payload: 0.." + std::to_string(lab::flood::kMaxUdpPayload) + " bytes");
  if (batch <= 0 || batch > kMaxBatch) refuse("--batch: 1.." + std::to_string(kMaxBatch));
  for (long p : open_ports)
    if (p <= 0 || p > 65535) refuse("--open-port: 1..65535");
  if (!syn && open_ports.size() >= 65535) refuse("--open-port: no closed port left");
  lab::flood::Rng rng(static_cast<std::uint64_t>(getpid()) << 32 ^ static_cast<std::uint64_t>(lab::now_s() * 1e6));
  if (!lab::flood::pickSource(rng, src, exclude)) refuse("--exclude covers --src-net: no source address left");
  std::vector<bool> open(65536, false);
  for (long p : open_ports) open[static_cast<std::size_t>(p)] = true;

  char plan[512];
  std::snprintf(plan, sizeof plan,
                "\"mode\":\"%s\",\"dst\":\"%s\",\"port\":%ld,\"src_net\":\"%s\",\"excluded\":%zu,\"rate\":%ld,"
                "\"duration_s\":%ld,\"count\":%ld",
                mode.c_str(), addr_text(dst).c_str(), syn ? port : 0, src_text.c_str(), exclude.size(), rate, duration,
                count);
  if (check) {
    std::printf("{\"check\":{%s}}\n", plan);
    return 0;
  }

  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
  if (fd < 0) lab::die("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)");

  const auto n = static_cast<std::size_t>(batch);
  std::vector<std::array<std::uint8_t, lab::flood::kMaxPacket>> bufs(n);
  std::vector<iovec> iov(n);
  std::vector<mmsghdr> msgs(n);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(dst);
  for (std::size_t k = 0; k < n; ++k) {
    iov[k].iov_base = bufs[k].data();
    msgs[k].msg_hdr.msg_name = &to;
    msgs[k].msg_hdr.msg_namelen = sizeof to;
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  auto build = [&](std::size_t k) {
    auto s = lab::flood::pickSource(rng, src, exclude);  // checked above: the net has room
    auto sport = static_cast<std::uint16_t>(1024 + rng.next() % 64512);
    auto id = static_cast<std::uint16_t>(rng.next());
    if (syn) {
      iov[k].iov_len = lab::flood::buildSyn(bufs[k].data(), s.value_or(src.base | 1), dst, sport,
                                           static_cast<std::uint16_t>(port), rng.next(), id);
      return;
    }
    std::uint16_t dport;
    do dport = static_cast<std::uint16_t>(1 + rng.next() % 65535);
    while (open[dport]);
    iov[k].iov_len = lab::flood::buildUdp(bufs[k].data(), s.value_or(src.base | 1), dst, sport, dport,
                                         static_cast<std::size_t>(payload), id);
  };

  const double t0 = lab::now_s();
  const double end = duration > 0 ? t0 + static_cast<double>(duration) : 1e300;
  const std::uint64_t limit = count > 0 ? static_cast<std::uint64_t>(count) : UINT64_MAX;
  std::uint64_t sent = 0, errors = 0;
  std::string stopped = "signal";
  while (!g_stop) {
    double now = lab::now_s();
    if (now >= end) {
      stopped = "duration";
      break;
    }
    if (sent >= limit) {
      stopped = "count";
      break;
    }
    std::uint64_t want = std::min<std::uint64_t>(n, limit - sent);
    if (rate > 0) {  // paced: what is due by now, else sleep until the next packet is
      auto due = static_cast<std::uint64_t>((now - t0) * static_cast<double>(rate)) + 1;
      if (due <= sent) {
        double wait = t0 + static_cast<double>(sent) / static_cast<double>(rate) - now;
        timespec ts{0, static_cast<long>(std::clamp(wait, 50e-6, 0.01) * 1e9)};
        nanosleep(&ts, nullptr);
        continue;
      }
      want = std::min(want, due - sent);
    }
    for (std::size_t k = 0; k < want; ++k) build(k);
    int r = sendmmsg(fd, msgs.data(), static_cast<unsigned>(want), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != ENOBUFS && errno != EAGAIN) lab::die("sendmmsg");
      ++errors;  // the device queue is full: count it, let it drain, go on
      timespec ts{0, 100000};
      nanosleep(&ts, nullptr);
      continue;
    }
    sent += static_cast<std::uint64_t>(r);
  }
  const double secs = lab::now_s() - t0;
  close(fd);
  std::printf("{\"flood\":{%s,\"sent\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"stopped\":\"%s\"}}\n",
              plan, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(errors), secs,
              secs > 0 ? static_cast<double>(sent) / secs : 0.0, stopped.c_str());
  return 0;
}
