// bulwark-stream-clients: many concurrent streaming clients in one epoll loop, the lab's load.
//
//   bulwark-stream-clients --dst 203.0.113.10 --port 1935 --streams 5000 --duration 60
//       [--bps 64000] [--src-net 198.18.0.0/20] [--src-count 4094] [--connect-rate 1000]
//       [--connect-timeout-ms 5000] [--ramp-timeout 120] [--stall-ms 1000] [--chunk-ms 100]
//       [--gap-events-ms 0] [--reconnect-ms 0]
//
// Each client binds a source address (round-robin over --src-count addresses of --src-net,
// which the caller has made local, e.g. `ip route add local 198.18.0.0/20 dev lo`), connects,
// sends "PLAY <bps> <chunk-ms>\n" (the source sends a chunk every chunk-ms) and reads. A stream counts as established when its first byte arrives
// (so the whole path worked: DNAT, the load balancer's relay, the origin), as failed when the
// connect fails or no byte arrives within --connect-timeout-ms.
//
// Phases: ramp (connects at --connect-rate per second until every stream is established or
// failed, at most --ramp-timeout s), then hold for --duration s, then close everything.
// During the hold it measures, per connection: bytes, the largest gap between two arrivals,
// and stalls (gaps longer than --stall-ms). A stream that was established and then ends
// (EOF, reset, error) before the hold is over is a drop.
//
// Output: one JSON line per second ({"t", "phase", "established", ...}), a line
// {"event":"hold"} when the hold starts, and a final {"summary": {...}}. With
// --gap-events-ms N also a line per hold-time gap longer than N ms, when it ends
// ({"gap":{"stream":i,"start":T,"ms":X}}) and per drop ({"drop":{"stream":i,"at":T}}), T on
// CLOCK_MONOTONIC, so a caller can attribute them to what it did when (a failover).
//
// --reconnect-ms N: a player that reconnects. A stream that drops tries again N ms later,
// the wait doubling per failed attempt up to 2 s (each wait +-25% at random, so that a
// thousand players of one dead server do not come back in lockstep), until the hold ends. It
// counts as dropped (each time it drops); when its first byte arrives again it has reconnected (an event
// {"reconnect":{"stream":i,"at":T,"ms":X,"attempts":k}} with --gap-events-ms, X from the
// drop). Its gap runs from its last byte before the drop to the first after the reconnect.
//
// Exit 0 when every stream was established and none dropped (with --reconnect-ms: every
// dropped one was streaming again at the end), 1 otherwise, 2 on usage/system errors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

enum class St : uint8_t { Idle, Connecting, Waiting, Streaming, Failed, Dropped, Backoff, Done };

struct Client {
  int fd = -1;
  St st = St::Idle;
  double t_start = 0;      // connect() issued
  double t_first = 0;      // first byte
  double last_rx = 0;
  double max_gap = 0;      // during the hold
  uint32_t stalls = 0;     // gaps > stall_ms during the hold
  uint64_t bytes = 0;
  uint64_t bytes_hold = 0;
  bool again = false;      // reconnecting after a drop (not part of the ramp)
  double t_drop = 0;       // when it dropped
  double retry_at = 0;     // Backoff: the next attempt
  uint32_t attempts = 0;   // attempts since the drop
  uint32_t reconnects = 0;
};

std::string errname(int e) {
  switch (e) {
    case ECONNREFUSED: return "refused";
    case ETIMEDOUT: return "timeout";
    case ECONNRESET: return "reset";
    case EHOSTUNREACH: case ENETUNREACH: return "unreachable";
    case EADDRNOTAVAIL: return "addrnotavail";
    case EMFILE: case ENFILE: return "nofile";
    default: return std::string("errno") + std::to_string(e);
  }
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::min<double>(static_cast<double>(v.size() - 1), std::floor(p * static_cast<double>(v.size()))));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dst, src_net = "198.18.0.0/20";
  long port = 0, streams = 1000, duration = 60, bps = 64000, src_count = 0, rate = 1000;
  long conn_timeout_ms = 5000, ramp_timeout = 120, stall_ms = 1000, chunk_ms = 100, gap_events_ms = 0;
  long reconnect_ms = 0;
  const lab::LongOption numbers[] = {
      {"--port", &port},
      {"--streams", &streams},
      {"--duration", &duration},
      {"--bps", &bps},
      {"--src-count", &src_count},
      {"--connect-rate", &rate},
      {"--connect-timeout-ms", &conn_timeout_ms},
      {"--ramp-timeout", &ramp_timeout},
      {"--stall-ms", &stall_ms},
      {"--chunk-ms", &chunk_ms},
      {"--gap-events-ms", &gap_events_ms},
      {"--reconnect-ms", &reconnect_ms},
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (lab::long_option(numbers, argc, argv, i)) continue;
    if (a == "--dst") dst = lab::opt_value(argc, argv, i);
    else if (a == "--src-net") src_net = lab::opt_value(argc, argv, i);
    else {
      std::fprintf(stderr, "usage: bulwark-stream-clients --dst ADDR --port N [--streams N] [--duration S] [--bps B]\n"
                           "  [--src-net CIDR] [--src-count K] [--connect-rate R] [--connect-timeout-ms MS]\n"
                           "  [--ramp-timeout S] [--stall-ms MS] [--chunk-ms MS] [--gap-events-ms MS]\n"
                           "  [--reconnect-ms MS]\n");
      return 2;
    }
  }
  in_addr dst4{};
  if (dst.empty() || inet_pton(AF_INET, dst.c_str(), &dst4) != 1 || port <= 0 || port > 65535 || streams <= 0 ||
      streams > 1000000 || duration < 0 || duration > 86400 || bps <= 0 || rate <= 0 || reconnect_ms < 0 ||
      reconnect_ms > 60000) {
    std::fprintf(stderr, "bulwark-stream-clients: need --dst IPv4, --port, positive --streams/--bps/--connect-rate"
                         " (--reconnect-ms 0..60000)\n");
    return 2;
  }
  // source addresses: host part 1..count of src_net
  auto slash = src_net.find('/');
  in_addr net4{};
  long plen = slash == std::string::npos ? 32 : lab::to_long(src_net.c_str() + slash + 1, "--src-net prefix");
  if (inet_pton(AF_INET, src_net.substr(0, slash).c_str(), &net4) != 1 || plen < 8 || plen > 32) {
    std::fprintf(stderr, "bad --src-net %s\n", src_net.c_str());
    return 2;
  }
  uint32_t base = ntohl(net4.s_addr) & (plen == 32 ? 0xffffffffu : ~((1u << (32 - plen)) - 1));
  long usable = plen >= 31 ? 1 : (1L << (32 - plen)) - 2;
  if (src_count <= 0 || src_count > usable) src_count = usable;
  if (plen >= 31) base -= 1;  // a single address: use it as is

  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  rlim_t have = lab::raise_nofile(static_cast<rlim_t>(streams) + 64);
  if (have < static_cast<rlim_t>(streams) + 16) {
    std::fprintf(stderr, "bulwark-stream-clients: RLIMIT_NOFILE %lu too low for %ld streams\n", static_cast<unsigned long>(have), streams);
    return 2;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) lab::die("epoll_create1");

  std::vector<Client> cl(static_cast<size_t>(streams));
  std::vector<int> fd2idx;
  std::map<std::string, long> fail_reasons;
  long established = 0, failed = 0, dropped = 0, next = 0, pending = 0, retrying = 0;
  std::vector<double> connect_ms, reconnect_ms_all;
  std::mt19937 rng(static_cast<uint32_t>(getpid()));
  char req[64];
  int req_len = std::snprintf(req, sizeof req, "PLAY %ld %ld\n", bps, chunk_ms);
  const double t0 = lab::now_s();
  double hold_start = 0, hold_end = 0;
  bool holding = false;
  uint64_t rx_total = 0, rx_last_report = 0;
  double next_report = t0 + 1.0;
  std::vector<char> buf(1 << 16);

  // the wait before a reconnect attempt: reconnect_ms doubling per attempt up to 2 s, +-25%
  auto backoff = [&](Client& c, double now) {
    double wait = std::min(2.0, static_cast<double>(reconnect_ms) / 1000 * std::pow(2.0, std::min<uint32_t>(c.attempts, 16)));
    c.retry_at = now + wait * std::uniform_real_distribution<double>(0.75, 1.25)(rng);
    c.st = St::Backoff;
  };
  auto fail = [&](Client& c, const std::string& why, bool was_streaming) {
    if (c.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
    if (c.again && (c.st == St::Connecting || c.st == St::Waiting)) {  // a reconnect attempt failed
      ++c.attempts;
      ++fail_reasons["reconnect:" + why];
      backoff(c, lab::now_s());
      return;
    }
    if (c.st == St::Connecting || c.st == St::Waiting) --pending;
    if (was_streaming) {
      c.st = St::Dropped;
      ++dropped;
      ++fail_reasons["drop:" + why];
      if (gap_events_ms > 0) {
        std::printf("{\"drop\":{\"stream\":%ld,\"at\":%.4f,\"reason\":\"%s\"}}\n", static_cast<long>(&c - cl.data()),
                    lab::now_s(), why.c_str());
      }
      if (reconnect_ms > 0) {
        c.again = true;
        c.t_drop = lab::now_s();
        c.attempts = 0;
        ++retrying;
        backoff(c, c.t_drop);
      }
    } else {
      c.st = St::Failed;
      ++failed;
      ++fail_reasons[why];
    }
  };
  auto report = [&](double now) {
    double dt = now - (next_report - 1.0);
    long open = established - dropped;
    std::printf("{\"t\":%.1f,\"phase\":\"%s\",\"started\":%ld,\"established\":%ld,\"failed\":%ld,\"dropped\":%ld,"
                "\"open\":%ld,\"rx_mbit_s\":%.2f}\n",
                now - t0, holding ? "hold" : "ramp", next, established, failed, dropped, open,
                dt > 0 ? static_cast<double>(rx_total - rx_last_report) * 8 / 1e6 / dt : 0.0);
    std::fflush(stdout);
    rx_last_report = rx_total;
  };

  // a connection for stream idx from its own source address; a failure goes through fail()
  auto start_conn = [&](Client& c, long idx, double now) {
    uint32_t src = base + 1 + static_cast<uint32_t>(idx % src_count);
    c.t_start = now;
    c.st = St::Connecting;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      fail(c, errname(errno), false);
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(src);
    c.fd = fd;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      fail(c, "bind-" + errname(errno), false);
      return;
    }
    sockaddr_in da{};
    da.sin_family = AF_INET;
    da.sin_port = htons(static_cast<uint16_t>(port));
    da.sin_addr = dst4;
    if (connect(fd, reinterpret_cast<sockaddr*>(&da), sizeof da) != 0 && errno != EINPROGRESS) {
      fail(c, errname(errno), false);
      return;
    }
    if (fd2idx.size() <= static_cast<size_t>(fd)) fd2idx.resize(static_cast<size_t>(fd) + 4096, -1);
    fd2idx[static_cast<size_t>(fd)] = static_cast<int>(idx);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };

  std::vector<epoll_event> evs(4096);
  double last_tick = t0;
  double credit = 0;
  while (!g_stop) {
    double now = lab::now_s();
    // ramp: issue connects at `rate` per second
    if (next < streams) {
      credit += (now - last_tick) * static_cast<double>(rate);
      if (credit > static_cast<double>(rate) / 10 + 1) credit = static_cast<double>(rate) / 10 + 1;
      while (credit >= 1 && next < streams) {
        credit -= 1;
        ++pending;
        start_conn(cl[static_cast<size_t>(next)], next, now);
        ++next;
      }
    }
    // reconnects whose wait is over (checked ~100 times a second)
    static double next_retry = 0;
    if (retrying > 0 && now >= next_retry) {
      next_retry = now + 0.01;
      for (long i = 0; i < next; ++i) {
        Client& c = cl[static_cast<size_t>(i)];
        if (c.st == St::Backoff && now >= c.retry_at) start_conn(c, i, now);
      }
    }
    last_tick = now;
    // timeouts of connections that never got their first byte (checked ~10 times a second)
    static double next_to = 0;
    if (now >= next_to && (pending > 0 || retrying > 0)) {
      next_to = now + 0.1;
      for (long i = 0; i < next; ++i) {
        Client& c = cl[static_cast<size_t>(i)];
        if ((c.st == St::Connecting || c.st == St::Waiting) && now - c.t_start > static_cast<double>(conn_timeout_ms) / 1000)
          fail(c, c.st == St::Connecting ? "connect-timeout" : "no-data", false);
      }
    }
    if (!holding && ((next >= streams && pending == 0) || now - t0 > static_cast<double>(ramp_timeout))) {
      holding = true;
      hold_start = now;
      hold_end = now + static_cast<double>(duration);
      for (auto& c : cl)
        if (c.st == St::Streaming) c.last_rx = std::max(c.last_rx, now);
      std::printf("{\"event\":\"hold\",\"t\":%.2f,\"established\":%ld,\"failed\":%ld}\n", now - t0, established, failed);
      std::fflush(stdout);
    }
    if (holding && now >= hold_end) break;
    if (now >= next_report) {
      report(now);
      next_report += 1.0;
    }

    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), next < streams ? 5 : 50);
    if (n < 0) {
      if (errno == EINTR) continue;
      lab::die("epoll_wait");
    }
    now = lab::now_s();
    for (int k = 0; k < n; ++k) {
      int fd = evs[static_cast<size_t>(k)].data.fd;
      uint32_t e = evs[static_cast<size_t>(k)].events;
      if (fd < 0 || static_cast<size_t>(fd) >= fd2idx.size() || fd2idx[static_cast<size_t>(fd)] < 0) continue;
      Client& c = cl[static_cast<size_t>(fd2idx[static_cast<size_t>(fd)])];
      if (c.fd != fd) continue;
      if (c.st == St::Connecting && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          fd2idx[static_cast<size_t>(fd)] = -1;
          fail(c, errname(err), false);
          continue;
        }
        if (send(fd, req, static_cast<size_t>(req_len), MSG_NOSIGNAL) != req_len) {
          fd2idx[static_cast<size_t>(fd)] = -1;
          fail(c, "send-" + errname(errno), false);
          continue;
        }
        c.st = St::Waiting;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        continue;
      }
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
        ssize_t r = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (r > 0) {
          if (c.st == St::Waiting && c.again) {  // back after a drop
            c.st = St::Streaming;
            c.again = false;
            --retrying;
            ++c.reconnects;
            reconnect_ms_all.push_back((now - c.t_drop) * 1000);
            if (gap_events_ms > 0) {
              std::printf("{\"reconnect\":{\"stream\":%ld,\"at\":%.4f,\"ms\":%.0f,\"attempts\":%u}}\n",
                          static_cast<long>(&c - cl.data()), now, (now - c.t_drop) * 1000, c.attempts + 1);
            }
          } else if (c.st == St::Waiting) {
            c.st = St::Streaming;
            c.t_first = now;
            c.last_rx = now;
            --pending;
            ++established;
            connect_ms.push_back((now - c.t_start) * 1000);
          }
          if (holding) {
            double gap = now - std::max(c.last_rx, hold_start);
            if (gap > c.max_gap) c.max_gap = gap;
            if (gap * 1000 > static_cast<double>(stall_ms)) ++c.stalls;
            if (gap_events_ms > 0 && gap * 1000 > static_cast<double>(gap_events_ms)) {
              std::printf("{\"gap\":{\"stream\":%ld,\"start\":%.4f,\"ms\":%.0f}}\n", static_cast<long>(&c - cl.data()),
                          now - gap, gap * 1000);
            }
            c.bytes_hold += static_cast<uint64_t>(r);
          }
          c.last_rx = now;
          c.bytes += static_cast<uint64_t>(r);
          rx_total += static_cast<uint64_t>(r);
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        int err = r == 0 ? 0 : errno;
        bool was = c.st == St::Streaming;
        fd2idx[static_cast<size_t>(fd)] = -1;
        fail(c, r == 0 ? "eof" : errname(err), was);
      }
    }
  }
  double end = lab::now_s();
  if (!holding) {  // interrupted during the ramp
    hold_start = hold_end = end;
  }
  double hold_s = std::max(0.0, std::min(end, hold_end) - hold_start);
  // close everything; the gap to the end counts as well
  long stalled = 0, short_conns = 0, alive_end = 0;
  uint64_t stall_events = 0, bytes_hold = 0;
  double max_gap = 0;
  long hist[5] = {0, 0, 0, 0, 0};  // max gap <0.25s, <0.5s, <1s, <2s, >=2s
  std::vector<double> kbps, gaps_ms;
  double expected_hold = static_cast<double>(bps) / 8 * hold_s;
  long down_at_end = 0;
  for (auto& c : cl) {
    if (c.again) ++down_at_end;  // dropped, still reconnecting: its silence counts to the end
    if (c.st == St::Streaming || c.again) {
      if (!c.again) ++alive_end;
      double gap = end - std::max(c.last_rx, hold_start);
      if (gap > c.max_gap) c.max_gap = gap;
      if (gap * 1000 > static_cast<double>(stall_ms)) ++c.stalls;
      if (gap_events_ms > 0 && gap * 1000 > static_cast<double>(gap_events_ms)) {  // still silent at the end
        std::printf("{\"gap\":{\"stream\":%ld,\"start\":%.4f,\"ms\":%.0f,\"open\":true}}\n",
                    static_cast<long>(&c - cl.data()), end - gap, gap * 1000);
      }
    }
    if (c.fd >= 0) close(c.fd);
    if (c.st != St::Streaming && c.st != St::Dropped && !c.again) continue;
    bytes_hold += c.bytes_hold;
    stall_events += c.stalls;
    if (c.stalls) ++stalled;
    max_gap = std::max(max_gap, c.max_gap);
    gaps_ms.push_back(c.max_gap * 1000);
    hist[c.max_gap < 0.25 ? 0 : c.max_gap < 0.5 ? 1 : c.max_gap < 1 ? 2 : c.max_gap < 2 ? 3 : 4]++;
    if (c.st == St::Streaming && hold_s > 0) {
      kbps.push_back(static_cast<double>(c.bytes_hold) * 8 / 1000 / hold_s);
      if (static_cast<double>(c.bytes_hold) < 0.9 * expected_hold) ++short_conns;
    }
  }
  std::string reasons;
  for (auto& [k, v] : fail_reasons) reasons += (reasons.empty() ? "" : ",") + ("\"" + k + "\":" + std::to_string(v));
  std::printf("{\"summary\":{\"streams\":%ld,\"established\":%ld,\"failed\":%ld,\"dropped\":%ld,\"open_at_end\":%ld,"
              "\"reasons\":{%s},\"bps\":%ld,\"ramp_s\":%.2f,\"hold_s\":%.2f,\"bytes_total\":%llu,\"bytes_hold\":%llu,"
              "\"goodput_mbit_s\":%.2f,\"expected_mbit_s\":%.2f,\"kbit_s_per_stream\":{\"min\":%.1f,\"p50\":%.1f,\"max\":%.1f},"
              "\"short_streams\":%ld,\"chunk_ms\":%ld,\"stall_ms\":%ld,\"stalled_streams\":%ld,\"stall_events\":%llu,\"max_gap_ms\":%.0f,"
              "\"stream_max_gap_ms\":{\"p50\":%.0f,\"p99\":%.0f},"
              "\"max_gap_hist\":{\"lt250ms\":%ld,\"lt500ms\":%ld,\"lt1s\":%ld,\"lt2s\":%ld,\"ge2s\":%ld},"
              "\"first_byte_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},\"sources\":%ld,\"interrupted\":%s,"
              "\"reconnect_ms_setting\":%ld,\"reconnected\":%zu,\"reconnecting_at_end\":%ld,"
              "\"reconnect_ms\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f}}}\n",
              streams, established, failed, dropped, alive_end, reasons.c_str(), bps, hold_start - t0, hold_s,
              static_cast<unsigned long long>(rx_total), static_cast<unsigned long long>(bytes_hold),
              hold_s > 0 ? static_cast<double>(bytes_hold) * 8 / 1e6 / hold_s : 0.0,
              static_cast<double>(alive_end) * static_cast<double>(bps) / 1e6,
              kbps.empty() ? 0 : *std::min_element(kbps.begin(), kbps.end()), pct(kbps, 0.5),
              kbps.empty() ? 0 : *std::max_element(kbps.begin(), kbps.end()), short_conns, chunk_ms, stall_ms, stalled,
              static_cast<unsigned long long>(stall_events), max_gap * 1000, pct(gaps_ms, 0.5), pct(gaps_ms, 0.99), hist[0], hist[1], hist[2], hist[3], hist[4],
              pct(connect_ms, 0.5), pct(connect_ms, 0.99), connect_ms.empty() ? 0 : *std::max_element(connect_ms.begin(), connect_ms.end()),
              src_count, g_stop ? "true" : "false", reconnect_ms, reconnect_ms_all.size(), down_at_end,
              pct(reconnect_ms_all, 0.5), pct(reconnect_ms_all, 0.99),
              reconnect_ms_all.empty() ? 0 : *std::max_element(reconnect_ms_all.begin(), reconnect_ms_all.end()));
  bool all_flowing = dropped == 0 || (reconnect_ms > 0 && down_at_end == 0);
  return (established == streams && all_flowing && !g_stop) ? 0 : 1;
}
