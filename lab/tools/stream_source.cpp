// bulwark-stream-source: a constant-bitrate TCP stream source, the lab's stand-in for the
// streaming server (RTMP on tcp/1935 in campus.yaml). Not RTMP: just bytes at a set rate.
//
//   bulwark-stream-source --port 1935 [--port 8086] [--bps 64000] [--chunk-ms 100]
//                         [--max-conns 120000] [--max-seconds 14400] [--stats-every 5]
//
// A client connects and sends one line; "PLAY <bits-per-second> [<chunk-ms>]\n" picks its rate
// and chunk period (10..1000 ms, a divisor of 1000 in 10 ms steps), anything else gets --bps and
// --chunk-ms. It gets one chunk (bps*chunk_ms/8000 bytes) at once, then one every
// chunk_ms, the connections spread evenly over the period (a timing wheel of 10 ms slots), so
// the output is smooth rather than one burst per period. What a connection is owed is computed
// from the time since its last chunk, so a source that is late (a busy CPU) sends bigger
// chunks and keeps the average rate. If a socket cannot take a chunk (the
// client or the path is too slow) the bytes are kept as backlog, up to 5 s worth, and sent
// first next time; beyond that they are dropped and counted as an overrun.
//
// One thread, epoll, non-blocking sockets; bounded by --max-seconds. Listeners use SO_REUSEPORT,
// so several processes can serve one port when one process's file limit is not enough. Prints a JSON stats line
// every --stats-every seconds and at exit (SIGTERM/SIGINT).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common.h"

namespace {

constexpr int kTickMs = 10;
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Conn {
  uint32_t gen = 0;
  bool open = false;
  bool playing = false;
  uint64_t bps = 0;
  double carry = 0;      // fractional bytes owed
  double last_t = 0;     // when it was last given its share
  uint64_t backlog = 0;  // bytes owed but not yet accepted by the socket
  uint64_t sent = 0;
  char line[96];
  size_t line_len = 0;
};

struct SlotEntry {
  int fd;
  uint32_t gen;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> ports;
  long bps_default = 64000, chunk_ms = 100, max_conns = 120000, max_seconds = 14400, stats_every = 5;
  const lab::LongOption numbers[] = {{"--bps", &bps_default},
                                     {"--chunk-ms", &chunk_ms},
                                     {"--max-conns", &max_conns},
                                     {"--max-seconds", &max_seconds},
                                     {"--stats-every", &stats_every}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (lab::long_option(numbers, argc, argv, i)) continue;
    if (a == "--port") ports.push_back(static_cast<int>(lab::to_long(lab::opt_value(argc, argv, i), "--port")));
    else {
      std::fprintf(stderr, "usage: bulwark-stream-source --port N [--port N] [--bps B] [--chunk-ms MS] "
                           "[--max-conns N] [--max-seconds S] [--stats-every S]\n");
      return 2;
    }
  }
  auto chunk_ok = [](long c) { return c >= kTickMs && c <= 1000 && c % kTickMs == 0 && 1000 % c == 0; };
  if (ports.empty() || !chunk_ok(chunk_ms) || bps_default <= 0 || max_conns <= 0) {
    std::fprintf(stderr, "bulwark-stream-source: need --port; --chunk-ms a multiple of %d; positive rates\n", kTickMs);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  lab::raise_nofile(static_cast<rlim_t>(max_conns) + 64);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) lab::die("epoll_create1");
  std::vector<int> listeners;
  for (int p : ports) {
    for (int fam : {AF_INET, AF_INET6}) {
      int s = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s < 0) {
        if (fam == AF_INET6) continue;
        lab::die("socket");
      }
      int one = 1;
      setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      // several sources may share the port (the kernel spreads connections over them): one
      // process holds at most RLIMIT_NOFILE connections, and that limit may not be raisable
      setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      int rc;
      if (fam == AF_INET) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(p));
        rc = bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      } else {
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(static_cast<uint16_t>(p));
        rc = bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      }
      if (rc != 0 || listen(s, 4096) != 0) {
        close(s);
        if (fam == AF_INET6) continue;  // no IPv6 in this namespace: fine
        lab::die("bind/listen");
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = (1ULL << 40) | static_cast<uint64_t>(s);
      epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
      listeners.push_back(s);
    }
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  itimerspec its{};
  its.it_interval.tv_nsec = kTickMs * 1000000L;
  its.it_value.tv_nsec = kTickMs * 1000000L;
  timerfd_settime(tfd, 0, &its, nullptr);
  epoll_event tev{};
  tev.events = EPOLLIN;
  tev.data.u64 = 2ULL << 40;
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  const size_t nslots = 1000 / kTickMs;  // the wheel turns once a second
  std::vector<std::vector<SlotEntry>> slots(nslots);
  std::vector<Conn> conns;
  static char payload[1 << 16];
  for (size_t i = 0; i < sizeof payload; ++i) payload[i] = static_cast<char>('A' + i % 26);
  size_t slot_rr = 0, cur_slot = 0;
  uint64_t accepted = 0, closed = 0, live = 0, total_sent = 0, overruns = 0, refused = 0, partial = 0;
  const double start = lab::now_s();
  double next_stats = start + static_cast<double>(stats_every);
  auto stats = [&](const char* why) {
    std::printf("{\"event\":\"%s\",\"t\":%.1f,\"live\":%llu,\"accepted\":%llu,\"closed\":%llu,\"refused\":%llu,"
                "\"bytes_sent\":%llu,\"partial_writes\":%llu,\"overruns\":%llu}\n",
                why, lab::now_s() - start, static_cast<unsigned long long>(live), static_cast<unsigned long long>(accepted),
                static_cast<unsigned long long>(closed), static_cast<unsigned long long>(refused), static_cast<unsigned long long>(total_sent),
                static_cast<unsigned long long>(partial), static_cast<unsigned long long>(overruns));
    std::fflush(stdout);
  };
  auto close_conn = [&](int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= conns.size() || !conns[static_cast<size_t>(fd)].open) return;
    Conn& c = conns[static_cast<size_t>(fd)];
    c.open = false;
    ++c.gen;
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    ++closed;
    --live;
  };
  auto send_to = [&](int fd, Conn& c, uint64_t owed) {
    c.backlog += owed;
    while (c.backlog > 0) {
      size_t n = c.backlog > sizeof payload ? sizeof payload : static_cast<size_t>(c.backlog);
      ssize_t w = send(fd, payload, n, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w > 0) {
        c.backlog -= static_cast<uint64_t>(w);
        c.sent += static_cast<uint64_t>(w);
        total_sent += static_cast<uint64_t>(w);
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ++partial;
        uint64_t cap = c.bps * 5 / 8;  // 5 seconds worth
        if (c.backlog > cap) {
          overruns += c.backlog - cap;
          c.backlog = cap;
        }
        return;
      }
      close_conn(fd);  // peer gone
      return;
    }
  };

  std::vector<epoll_event> evs(1024);
  while (!g_stop) {
    double now = lab::now_s();
    if (now - start > static_cast<double>(max_seconds)) break;
    if (now >= next_stats) {
      stats("stats");
      next_stats += static_cast<double>(stats_every);
    }
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 200);
    if (n < 0) {
      if (errno == EINTR) continue;
      lab::die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[static_cast<size_t>(i)].data.u64;
      uint64_t kind = tag >> 40;
      int fd = static_cast<int>(tag & 0xffffffffULL);
      if (kind == 1) {  // listener
        for (int k = 0; k < 256; ++k) {
          int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          if (live >= static_cast<uint64_t>(max_conns)) {
            close(c);
            ++refused;
            continue;
          }
          if (conns.size() <= static_cast<size_t>(c)) conns.resize(static_cast<size_t>(c) + 1024);
          Conn& cn = conns[static_cast<size_t>(c)];
          uint32_t gen = cn.gen + 1;
          cn = Conn{};
          cn.gen = gen;
          cn.open = true;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.u64 = static_cast<uint64_t>(c);
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
          ++accepted;
          ++live;
        }
      } else if (kind == 2) {  // tick: serve one slot of the wheel
        uint64_t exp = 0;
        if (read(tfd, &exp, sizeof exp) < 0) continue;
        const double tnow = lab::now_s();
        for (uint64_t t = 0; t < exp && t < nslots; ++t) {
          auto& slot = slots[cur_slot];
          for (size_t j = 0; j < slot.size();) {
            SlotEntry e = slot[j];
            Conn* c = static_cast<size_t>(e.fd) < conns.size() ? &conns[static_cast<size_t>(e.fd)] : nullptr;
            if (!c || !c->open || c->gen != e.gen) {
              slot[j] = slot.back();
              slot.pop_back();
              continue;
            }
            double owed = static_cast<double>(c->bps) / 8.0 * (tnow - c->last_t) + c->carry;
            c->last_t = tnow;
            uint64_t whole = static_cast<uint64_t>(owed);
            c->carry = owed - static_cast<double>(whole);
            send_to(e.fd, *c, whole);
            ++j;
          }
          cur_slot = (cur_slot + 1) % nslots;
        }
      } else {  // a client: its request line, or EOF
        Conn& c = conns[static_cast<size_t>(fd)];
        if (!c.open) continue;
        char buf[512];
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          close_conn(fd);
          continue;
        }
        if (r < 0 || c.playing) continue;  // later input is ignored
        for (ssize_t k = 0; k < r && !c.playing; ++k) {
          if (buf[k] == '\n' || c.line_len + 1 >= sizeof c.line) {
            c.line[c.line_len] = '\0';
            unsigned long long want = 0;
            long cms = 0;
            int got = std::sscanf(c.line, "PLAY %llu %ld", &want, &cms);
            c.bps = (got >= 1 && want > 0 && want <= 100000000ULL) ? want : static_cast<uint64_t>(bps_default);
            if (got < 2 || !chunk_ok(cms)) cms = chunk_ms;
            c.playing = true;
            c.last_t = lab::now_s();
            // visited every cms/10 slots, starting at a slot of its own (spread evenly)
            const size_t step = static_cast<size_t>(cms / kTickMs);
            const size_t first = slot_rr++ % step;
            for (size_t s2 = first; s2 < nslots; s2 += step) slots[(cur_slot + s2) % nslots].push_back({fd, c.gen});
            send_to(fd, c, c.bps * static_cast<uint64_t>(cms) / 8000);  // the first chunk at once
            if (!c.open) break;
          } else {
            c.line[c.line_len++] = buf[k];
          }
        }
      }
    }
  }
  stats("exit");
  return 0;
}
