// The health-check engine's CPU with a policy's checks (docs/performance.md, "Health checks").
//
//   health_bench [--policy policies/examples/campus.yaml] [--seconds 30]
//
// Needs root. Moves into a private network namespace, puts every target address of the
// policy's checks on lo and starts nginx (private prefix) answering on every port they use
// (TLS where the check is https/tls; /healthz and / answer 200), then runs the engine with
// targetsFromPolicy() for --seconds and prints this process's CPU time (user + system: the
// engine's threads, cpp-httplib, OpenSSL) per second of wall time, the probes run and their
// latencies. nginx's own CPU is not counted (it stands for the servers).
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include "bulwark/health/engine.h"
#include "policy_args.h"

namespace {

[[noreturn]] void die(const std::string& m) {
  std::cerr << "health_bench: " << m << '\n';
  std::exit(1);
}

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  namespace h = bulwark::health;
  const auto args = bulwark::bench::policyArgs(argc, argv, "--seconds", 30,
                                               "usage: health_bench [--policy FILE] [--seconds N]", die);
  const int seconds = args.count;
  auto targets = h::targetsFromPolicy(args.loaded.policy);
  if (targets.empty()) die(args.policy + " has no checks");
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET) failed (needs root)");
  if (std::system("ip link set lo up") != 0) die("ip link set lo up failed");
  std::set<std::string> addrs;
  std::set<std::uint16_t> tls, plain;
  for (const auto& t : targets) {
    addrs.insert(t.address.str());
    (t.type == h::CheckType::Https || t.type == h::CheckType::Tls ? tls : plain).insert(t.port);
  }
  for (const auto& a : addrs) {
    if (std::system(("ip addr add " + a + (a.find(':') != std::string::npos ? "/128" : "/32") + " dev lo").c_str()) != 0) {
      die("cannot add " + a);
    }
  }
  const fs::path d = fs::temp_directory_path() / ("bulwark-health-bench-" + std::to_string(::getpid()));
  fs::create_directories(d / "tmp");
  if (std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench "
                   "-keyout " + (d / "key.pem").string() + " -out " + (d / "cert.pem").string() + " 2>/dev/null")
                      .c_str()) != 0) {
    die("openssl req failed");
  }
  std::string listens;
  for (auto p : plain) listens += "    listen " + std::to_string(p) + ";\n";
  for (auto p : tls) listens += "    listen " + std::to_string(p) + " ssl;\n";
  std::ofstream(d / "nginx.conf") << "pid " << d.string() << "/nginx.pid;\nerror_log " << d.string()
      << "/error.log warn;\ndaemon off;\nmaster_process off;\nevents { worker_connections 256; }\nhttp {\n access_log off;\n"
      << " client_body_temp_path " << d.string() << "/tmp/b; proxy_temp_path " << d.string() << "/tmp/p;\n"
      << " fastcgi_temp_path " << d.string() << "/tmp/f; uwsgi_temp_path " << d.string() << "/tmp/u; scgi_temp_path "
      << d.string() << "/tmp/s;\n server {\n" << listens << "    ssl_certificate " << d.string()
      << "/cert.pem; ssl_certificate_key " << d.string() << "/key.pem;\n    location / { return 200 \"ok\\n\"; }\n }\n}\n";
  pid_t nginx = fork();
  if (nginx == 0) {
    execl("/usr/sbin/nginx", "nginx", "-p", d.c_str(), "-c", (d / "nginx.conf").c_str(), nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  h::Engine engine(h::Engine::Options{});
  const double c0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  engine.configure(targets);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpuSeconds() - c0;
  auto snap = engine.snapshot();
  kill(nginx, SIGTERM);
  waitpid(nginx, nullptr, 0);
  std::error_code ec;
  fs::remove_all(d, ec);

  std::uint64_t probes = 0, failures = 0;
  std::cout << "# health_bench " << args.policy << ": " << snap.size() << " targets, " << seconds << " s\n\n"
            << "| check | host | type | interval | state | probes | failures | last latency ms |\n"
            << "|---|---|---|---:|---|---:|---:|---:|\n";
  for (const auto& s : snap) {
    probes += s.probes;
    failures += s.failures;
    std::printf("| %s | %s | %s | %lld ms | %s | %llu | %llu | %.2f |\n", s.target.check.c_str(),
                s.target.host.c_str(), std::string(bulwark::policies::checkTypeName(s.target.type)).c_str(),
                static_cast<long long>(s.target.interval.count()), std::string(h::stateName(s.state)).c_str(),
                static_cast<unsigned long long>(s.probes), static_cast<unsigned long long>(s.failures), s.latencyMs);
  }
  std::printf("\nengine CPU: %.3f s in %.1f s wall = %.2f %% of one core; %llu probes (%.1f/s), %.3f ms CPU per probe\n",
              cpu, wall, 100 * cpu / wall, static_cast<unsigned long long>(probes), static_cast<double>(probes) / wall,
              probes ? 1000 * cpu / static_cast<double>(probes) : 0.0);
  return failures == 0 ? 0 : 1;
}
