// DNAT failover as bulwarkd does it: a backend's health change is one element update of the
// pool's map (ElementWriter::apply of poolUpdate(): DELSETELEM + NEWSETELEM in one batch on a
// netlink socket kept open, no table reload), next to nft doing the same in the same run (docs/performance.md, "DNAT
// failover").
//
//   dnat_bench [--policy policies/examples/campus.yaml] [--reps 31]
//
// Needs root. Moves itself into a private network namespace (unshare(CLONE_NEWNET)) first,
// applies the compiled policy there, then alternates the first pool between its first and
// second backend. Per update: wall time of ElementWriter::apply() (encode, sendmsg, every
// ack: an upper bound of the kernel's work) and the system CPU time this process spent in it
// (the kernel's work on its behalf), and applyElementChanges() (socket opened and closed per
// call); against `nft add element` of the same element
// (deleted beforehand, untimed: nft cannot change a map element's data in place) and `nft -f`
// of "delete element; add element" (the same transaction as ours). Medians; ratios
// Bulwark / nft.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/dnat_pools.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/render.h"
#include "policy_args.h"
#include "spawn.h"

namespace fw = bulwark::firewall;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "dnat_bench: " << msg << '\n';
  std::exit(1);
}

double sysMs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_stime.tv_sec) * 1e3 + static_cast<double>(ru.ru_stime.tv_usec) / 1e3;
}

int run(const std::vector<std::string>& argv) {
  const int status = bulwark::bench::runChild(argv);
  if (status < 0) die("fork failed");
  return status;
}

double timed(const std::vector<std::string>& argv) {
  auto t0 = Clock::now();
  if (run(argv) != 0) die("command failed: " + argv.front() + " " + argv[1]);
  return msSince(t0);
}

std::string fmt(double v, int prec = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args =
      bulwark::bench::policyArgs(argc, argv, "--reps", 31, "usage: dnat_bench [--policy FILE] [--reps N]", die);
  const int reps = args.count;
  auto c = fw::compile(args.loaded.policy);
  if (!c.ok() || c.pools.empty()) die(args.policy + ": no DNAT pool (a dnat with several backends)");
  const auto& pool = c.pools.front();
  if (pool.backends.size() < 2) die("the first pool has one backend");
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET) failed (needs root)");
  if (run({"nft", "list", "ruleset"}) != 0) die("nft does not run");
  if (auto r = fw::apply(c.ruleset); !r) die("apply failed: " + r.error().message);

  const fw::PoolChoice first = fw::allUpChoice(pool);
  const fw::PoolChoice second = fw::choosePool(pool, {fw::BackendHealth::Down, fw::BackendHealth::Up});
  const fw::SetDef* map = c.ruleset.findSet(pool.map);
  if (map == nullptr) die("map " + pool.map + " missing");
  // The element as nft writes it: "<key> : <backend>".
  auto element = [&](const fw::PoolChoice& ch) {
    return fw::renderSetElement(*map, fw::poolElements(pool, ch).front());
  };
  auto writer = fw::ElementWriter::open();
  if (!writer) die("netlink socket: " + writer.error().message);
  std::vector<double> ours, oursSys, fresh, nftAdd, nftTx;
  const std::string tmp = "/tmp/dnat_bench." + std::to_string(::getpid()) + ".nft";
  for (int i = 0; i < reps; ++i) {
    // Bulwark: first → second (one element update), timed; back, untimed.
    auto u = fw::poolUpdate(pool, first, second);
    const double s0 = sysMs();
    auto t0 = Clock::now();
    auto r = writer->apply(c.ruleset, u.additions, u.removals);
    ours.push_back(msSince(t0));
    oursSys.push_back(sysMs() - s0);
    if (!r) die("ElementWriter::apply failed: " + r.error().message);
    auto back = fw::poolUpdate(pool, second, first);
    if (!writer->apply(c.ruleset, back.additions, back.removals)) die("update back failed");
    // The same with a socket opened and closed around it (applyElementChanges()).
    t0 = Clock::now();
    if (!fw::applyElementChanges(c.ruleset, u.additions, u.removals)) die("applyElementChanges failed");
    fresh.push_back(msSince(t0));
    if (!writer->apply(c.ruleset, back.additions, back.removals)) die("update back failed");

    // nft add element of the same element (the old one deleted first, untimed).
    const std::string key = element(first).substr(0, element(first).find(" : "));
    if (run({"nft", "delete", "element", "inet", fw::kTableName, pool.map, "{", key, "}"}) != 0) die("nft delete");
    nftAdd.push_back(timed({"nft", "add", "element", "inet", fw::kTableName, pool.map, "{", element(second), "}"}));
    // nft -f: the same transaction as ours (delete + add), back to the first backend.
    std::ofstream(tmp) << "delete element inet " << fw::kTableName << " " << pool.map << " { " << key << " }\n"
                       << "add element inet " << fw::kTableName << " " << pool.map << " { " << element(first)
                       << " }\n";
    nftTx.push_back(timed({"nft", "-f", tmp}));
  }
  std::remove(tmp.c_str());
  // Where the time goes: the same element removed alone, then added alone.
  std::vector<double> delOnly, addOnly;
  for (int i = 0; i < reps; ++i) {
    auto u = fw::poolUpdate(pool, first, second);
    auto t0 = Clock::now();
    if (!writer->apply(c.ruleset, {}, u.removals)) die("removal failed");
    delOnly.push_back(msSince(t0));
    t0 = Clock::now();
    if (!writer->apply(c.ruleset, u.removals, {})) die("addition failed");  // the old element back
    addOnly.push_back(msSince(t0));
  }
  const double o = median(ours), os = median(oursSys), a = median(nftAdd), t = median(nftTx);
  std::cout << "# dnat_bench " << args.policy << ": map " << pool.map << ", " << pool.backends[0].name << " -> "
            << pool.backends[1].name << ", " << reps << " reps, medians\n\n"
            << "| element update wall ms (open socket) | its system CPU ms | nft add element ms | ratio | "
               "nft -f delete+add ms | ratio | applyElementChanges() ms (socket per call) |\n"
               "|---:|---:|---:|---:|---:|---:|---:|\n"
            << "| " << fmt(o) << " | " << fmt(os) << " | " << fmt(a, 2) << " | " << fmt(o / a, 4) << " | "
            << fmt(t, 2) << " | " << fmt(o / t, 4) << " | " << fmt(median(fresh), 2) << " |\n"
            << "max element update wall ms (open socket): " << fmt(*std::max_element(ours.begin(), ours.end())) << "\n"
            << "the same element removed alone: " << fmt(median(delOnly)) << " ms, added alone: " << fmt(median(addOnly))
            << " ms (wall, medians, open socket)\n";
  return 0;
}
