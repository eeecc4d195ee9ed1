// Firewall benchmarks, side by side with nft in the same run (docs/performance.md, "Firewall").
//
//   firewall_bench apply [--sizes 1000,10000,50000] [--reps 5] [--incr-reps 7]
//       Needs root. Moves itself into a private network namespace (unshare(CLONE_NEWNET)),
//       so it never sees the host's ruleset; nft runs as a forked child and inherits that
//       namespace. For each size: full apply of the compiled policy with firewall::apply()
//       vs `nft -f` of renderReplaceScript() of the same IR (and `nft -f` of the same flows
//       as a linear rule list, for reference); then one host added the way `bulwarkctl apply`
//       does it (compile, observe, diff, applyElementChanges, read back) vs `nft add element`.
//   firewall_bench readback [--rules 1000,2000,5000] [--reps 3]
//       Needs root; private network namespace as above. The flat rule shape (one host to one
//       host, one service per rule: bench/policy_textgen.h) at each size: compile, apply, then
//       observe() (the read-back of plan, apply and the daemon's startup) and diff() against
//       the compiled IR, next to `nft -j list table inet bulwark` of the same table.
//   firewall_bench load-bulwark N     apply the N-flow policy in the CURRENT namespace
//   firewall_bench linear-script N    print the N flows as a linear nft script
//   firewall_bench last-flow N        print "SRC DST PORT RULE" of the last flow
//
// Medians over the repetitions; every ratio is Bulwark / nft measured in this process.
#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/observe.h"
#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/render.h"
#include "bulwark/policies/validator.h"
#include "bulwark/policies/loader.h"
#include "firewall_policygen.h"
#include "policy_textgen.h"
#include "spawn.h"

namespace fw = bulwark::firewall;
namespace bb = bulwark::bench;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "firewall_bench: " << msg << '\n';
  std::exit(1);
}

// CPU time (user, system) in ms: of this process, or of the last child run() waited for.
struct Cpu {
  double user = 0, sys = 0;
};
Cpu toCpu(const rusage& ru) {
  auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3; };
  return {ms(ru.ru_utime), ms(ru.ru_stime)};
}
Cpu selfCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return toCpu(ru);
}
Cpu operator-(Cpu a, Cpu b) { return {a.user - b.user, a.sys - b.sys}; }
Cpu g_lastChildCpu;

// fork + exec; the child inherits our network namespace. Returns the exit status.
int run(const std::vector<std::string>& argv, bool quiet = false) {
  rusage ru{};
  const int status = bulwark::bench::runChild(argv, quiet, &ru);
  if (status < 0) die("fork failed");
  g_lastChildCpu = toCpu(ru);
  return status;
}

double timed(const std::vector<std::string>& argv, bool quiet = false) {
  auto t0 = Clock::now();
  if (run(argv, quiet) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    die("command failed: " + cmd);
  }
  return msSince(t0);
}

// Untimed; then a pause so the kernel's deferred freeing of the deleted table (a kworker on
// one of the 2 CPUs) does not overlap the next timed load.
void deleteTable(const char* name) {
  run({"nft", "delete", "table", "inet", name}, true);
  usleep(300 * 1000);
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) die("cannot write " + path);
}

bb::GeneratedPolicy validPolicy(std::size_t flows) {
  auto g = bb::generateFlowPolicy(flows);
  bulwark::policies::Diagnostics d;
  bulwark::policies::validatePolicy(g.policy, d);
  if (d.hasErrors()) die("generated policy does not validate: " + d.items().front().message);
  return g;
}

fw::Ruleset compileOrDie(const bulwark::policies::Policy& p) {
  auto c = fw::compile(p);
  if (!c.ok()) die("generated policy does not compile");
  return std::move(c.ruleset);
}

std::size_t elementCount(const fw::Ruleset& rs) {
  std::size_t n = 0;
  for (const auto& s : rs.sets) n += s.elements.size();
  return n;
}
std::size_t ruleCount(const fw::Ruleset& rs) {
  std::size_t n = 0;
  for (const auto& c : rs.chains) n += c.rules.size();
  return n;
}

std::string fmt(double v, int prec = 1) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}
std::string ratio(double a, double b) { return b > 0 ? fmt(a / b, 3) + "x" : "-"; }

std::vector<std::size_t> parseSizes(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream in(s);
  for (std::string tok; std::getline(in, tok, ',');) out.push_back(std::stoul(tok));
  return out;
}

// ---- apply: the side-by-side benchmark ----------------------------------------------------
struct FullRow {
  std::size_t flows = 0, elements = 0, rules = 0, chains = 0, batchMsgs = 0, batchBytes = 0;
  double compileMs = 0, renderMs = 0;
  double applyFresh = 0, nftFresh = 0, applyReplace = 0, nftReplace = 0, nftLinear = 0;
  Cpu applyCpu, nftCpu;  // fresh load, medians of user and system CPU time
  bool nftInSync = false;
};

struct IncrRow {
  std::size_t flows = 0;
  double compileMs = 0, observeMs = 0, diffMs = 0, elemMs = 0, removeMs = 0, readbackMs = 0;
  double nftAddMs = 0;
  double totalMs = 0;
};

int cmdApply(const std::vector<std::size_t>& sizes, int reps, int incrReps, bool incrOnly) {
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET) failed (needs root / CAP_SYS_ADMIN)");
  run({"ip", "link", "set", "lo", "up"}, true);
  if (run({"nft", "list", "ruleset"}, true) != 0) die("nft does not run");
  utsname u{};
  uname(&u);
  std::cout << "# firewall_bench apply: kernel " << u.release << ", " << sysconf(_SC_NPROCESSORS_ONLN)
            << " CPUs, private network namespace, reps " << reps << " (full) / " << incrReps << " (one host)\n";
  std::string tmp = "/tmp/fwbench-" + std::to_string(getpid());
  std::vector<FullRow> full;
  std::vector<IncrRow> incr;

  for (auto n : sizes) {
    FullRow row;
    auto g = validPolicy(n);
    auto flows = bb::flows(g);
    row.flows = flows.size();
    auto t0 = Clock::now();
    auto rs = compileOrDie(g.policy);
    row.compileMs = msSince(t0);
    t0 = Clock::now();
    auto script = fw::renderReplaceScript(rs);
    row.renderMs = msSince(t0);
    row.elements = elementCount(rs);
    row.rules = ruleCount(rs);
    row.chains = rs.chains.size();
    std::string scriptPath = tmp + "-bulwark.nft", linearPath = tmp + "-linear.nft";
    writeFile(scriptPath, script);
    writeFile(linearPath, bb::renderLinearScript(flows));
    std::cerr << "[" << n << " flows] " << row.elements << " set elements, " << row.rules << " rules, "
              << row.chains << " chains; compile " << fmt(row.compileMs) << " ms\n";

    std::vector<double> aF, nF, aR, nR, nL, aU, aS, nU, nS;
    for (int i = 0; i < reps && !incrOnly; ++i) {
      // Fresh: the table does not exist before the load (both sides).
      deleteTable(fw::kTableName);
      auto c0 = selfCpu();
      t0 = Clock::now();
      auto r = fw::apply(rs);
      aF.push_back(msSince(t0));
      auto cpu = selfCpu() - c0;
      aU.push_back(cpu.user);
      aS.push_back(cpu.sys);
      if (!r) die("apply failed: " + r.error().message);
      row.batchMsgs = r->messages;
      row.batchBytes = r->bytes;
      // Replace: the same table is there already (what a re-apply does).
      t0 = Clock::now();
      r = fw::apply(rs);
      aR.push_back(msSince(t0));
      if (!r) die("apply (replace) failed: " + r.error().message);

      deleteTable(fw::kTableName);
      nF.push_back(timed({"nft", "-f", scriptPath}));
      nU.push_back(g_lastChildCpu.user);
      nS.push_back(g_lastChildCpu.sys);
      nR.push_back(timed({"nft", "-f", scriptPath}));
      if (i == 0) {
        // Same IR on both sides: what nft loaded reads back as exactly the compiled ruleset.
        auto obs = fw::observe();
        row.nftInSync = obs && fw::diff(rs, obs.value()).empty();
      }
      deleteTable(fw::kTableName);
      if (i < std::max(1, reps / 2)) {  // the linear list is only a reference: fewer runs
        deleteTable("linear");
        nL.push_back(timed({"nft", "-f", linearPath}));
        deleteTable("linear");
      }
    }
    row.applyFresh = median(aF);
    row.nftFresh = median(nF);
    row.applyReplace = median(aR);
    row.nftReplace = median(nR);
    row.nftLinear = median(nL);
    row.applyCpu = {median(aU), median(aS)};
    row.nftCpu = {median(nU), median(nS)};
    full.push_back(row);

    // ---- one host added (the path `bulwarkctl apply` takes) ------------------------------
    IncrRow ir;
    ir.flows = row.flows;
    if (!fw::apply(rs)) die("apply failed");
    auto g2 = g;
    auto added = bb::addClientHost(g2);
    std::string setName = g2.policy.rules.back().name + "_saddr4";
    std::vector<double> to, td, te, tr, trb, tn, tt;
    // The compile of the grown policy is timed once: at 50k flows it takes seconds (see the
    // doc's hot spots) and is the same work every repetition.
    t0 = Clock::now();
    const auto rs1 = compileOrDie(g2.policy);
    ir.compileMs = msSince(t0);
    usleep(500 * 1000);  // let the kernel's deferred freeing of the replaced tables finish
    for (int i = 0; i < incrReps; ++i) {
      auto start = Clock::now();
      t0 = Clock::now();
      auto obs = fw::observe();
      to.push_back(msSince(t0));
      if (!obs) die("observe failed: " + obs.error().message);
      t0 = Clock::now();
      auto d = fw::diff(rs1, obs.value());
      td.push_back(msSince(t0));
      auto adds = d.elementAdditions();
      auto rems = d.elementRemovals();
      if (!d.elementsOnly() || adds.size() != 1 || !rems.empty()) {
        die("one host added should be one element addition, got " + std::to_string(d.changes.size()) +
            " change(s): " + (d.changes.empty() ? "" : d.changes.front().description));
      }
      fw::ApplyOptions ao;
      ao.expectedGenId = obs.value()->genId;
      t0 = Clock::now();
      auto r = fw::applyElementChanges(rs1, adds, rems, ao);
      te.push_back(msSince(t0));
      if (!r) die("applyElementChanges failed: " + r.error().message);
      t0 = Clock::now();
      auto after = fw::observe();
      bool inSync = after && fw::diff(rs1, after.value()).empty();
      trb.push_back(msSince(t0));
      tt.push_back(msSince(start) + ir.compileMs);
      if (!inSync) die("after applyElementChanges the table differs from the policy");
      // Back to the old policy (the host removed), timed too.
      t0 = Clock::now();
      r = fw::applyElementChanges(rs, {}, adds);
      tr.push_back(msSince(t0));
      if (!r) die("element removal failed: " + r.error().message);
      // nft, same element into the same set, from its own process as an operator would.
      tn.push_back(timed({"nft", "add", "element", "inet", fw::kTableName, setName, "{", added.str(), "}"}));
      if (run({"nft", "delete", "element", "inet", fw::kTableName, setName, "{", added.str(), "}"}) != 0) {
        die("nft delete element failed");
      }
    }
    ir.observeMs = median(to);
    ir.diffMs = median(td);
    ir.elemMs = median(te);
    std::cerr << "[" << n << " flows] applyElementChanges ms:";
    for (auto v : te) std::cerr << ' ' << fmt(v, 3);
    std::cerr << '\n';
    ir.removeMs = median(tr);
    ir.readbackMs = median(trb);
    ir.nftAddMs = median(tn);
    ir.totalMs = median(tt);
    incr.push_back(ir);
    deleteTable(fw::kTableName);
    std::cerr << "[" << n << " flows] done\n";
  }
  std::remove((tmp + "-bulwark.nft").c_str());
  std::remove((tmp + "-linear.nft").c_str());

  std::cout << "\n## Full apply (median ms; ratio = Bulwark apply() / nft -f of the same rendered IR)\n\n"
            << "| flows | set elements | rules | batch | apply() fresh | nft -f fresh | ratio | apply() replace | "
               "nft -f replace | ratio | nft -f linear list | nft read-back in sync |\n"
            << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|\n";
  for (const auto& r : full) {
    std::cout << "| " << r.flows << " | " << r.elements << " | " << r.rules << " | " << r.batchMsgs << " msgs / "
              << r.batchBytes / 1024 << " KiB | " << fmt(r.applyFresh) << " | " << fmt(r.nftFresh) << " | "
              << ratio(r.applyFresh, r.nftFresh) << " | " << fmt(r.applyReplace) << " | " << fmt(r.nftReplace)
              << " | " << ratio(r.applyReplace, r.nftReplace) << " | " << fmt(r.nftLinear) << " | "
              << (r.nftInSync ? "yes" : "NO") << " |\n";
  }
  std::cout << "\nCPU time of the fresh load (median ms, user + system; system = the kernel's netlink/commit work "
               "done in the caller's context):\n\n| flows | apply() user | apply() sys | nft user | nft sys |\n"
               "|---:|---:|---:|---:|---:|\n";
  for (const auto& r : full) {
    std::cout << "| " << r.flows << " | " << fmt(r.applyCpu.user) << " | " << fmt(r.applyCpu.sys) << " | "
              << fmt(r.nftCpu.user) << " | " << fmt(r.nftCpu.sys) << " |\n";
  }
  std::cout << "\nCompile / render (one run): ";
  for (const auto& r : full) {
    std::cout << r.flows << ": " << fmt(r.compileMs) << " / " << fmt(r.renderMs) << " ms; ";
  }
  std::cout << "\n\n## One host added (median ms; the `bulwarkctl apply` path)\n\n"
            << "| flows | compile | observe() | diff() | applyElementChanges() | nft add element | ratio | "
               "read-back observe()+diff() | remove host | whole path |\n"
            << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : incr) {
    std::cout << "| " << r.flows << " | " << fmt(r.compileMs) << " | " << fmt(r.observeMs) << " | "
              << fmt(r.diffMs, 2) << " | " << fmt(r.elemMs, 3) << " | " << fmt(r.nftAddMs) << " | "
              << ratio(r.elemMs, r.nftAddMs) << " | " << fmt(r.readbackMs) << " | " << fmt(r.removeMs, 3) << " | "
              << fmt(r.totalMs) << " |\n";
  }
  std::cout.flush();
  return 0;
}

// ---- readback: observe() + diff() of a table with many rules --------------------------------
int cmdReadback(const std::vector<std::size_t>& sizes, int reps) {
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET) failed (needs root / CAP_SYS_ADMIN)");
  run({"ip", "link", "set", "lo", "up"}, true);
  if (run({"nft", "list", "ruleset"}, true) != 0) die("nft does not run");
  std::cout << "# firewall_bench readback: flat rules (1 host -> 1 host, 1 service), reps " << reps << "\n\n"
            << "| policy rules | kernel rules | sets | compile ms | apply() ms | observe() ms | diff() ms | "
               "observe()+diff() | nft -j list table ms | ratio |\n"
            << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (auto n : sizes) {
    auto text = bb::generatePolicyText({bb::RuleShape::Flat, n});
    auto loaded = bulwark::policies::loadPolicyText(text.text, "flat.yaml");
    bulwark::policies::validatePolicy(loaded.policy, loaded.diagnostics);
    if (loaded.diagnostics.hasErrors()) die("generated policy does not validate");
    auto t0 = Clock::now();
    auto rs = compileOrDie(loaded.policy);
    double compileMs = msSince(t0);
    deleteTable(fw::kTableName);
    t0 = Clock::now();
    auto r = fw::apply(rs);
    double applyMs = msSince(t0);
    if (!r) die("apply failed: " + r.error().message);
    std::vector<double> to, td, tn;
    for (int i = 0; i < reps; ++i) {
      t0 = Clock::now();
      auto obs = fw::observe();
      to.push_back(msSince(t0));
      if (!obs || !obs.value()) die("observe failed");
      t0 = Clock::now();
      auto d = fw::diff(rs, obs.value());
      td.push_back(msSince(t0));
      if (!d.empty()) die("read-back differs from the compiled IR: " + d.changes.front().description);
      tn.push_back(timed({"nft", "-j", "list", "table", "inet", fw::kTableName}, true));
      std::cerr << "[" << n << " rules] observe " << fmt(to.back()) << " ms, diff " << fmt(td.back()) << " ms, nft "
                << fmt(tn.back()) << " ms\n";
    }
    double o = median(to), d = median(td), nft = median(tn);
    std::cout << "| " << text.rules << " | " << ruleCount(rs) << " | " << rs.sets.size() << " | " << fmt(compileMs)
              << " | " << fmt(applyMs) << " | " << fmt(o) << " | " << fmt(d) << " | " << fmt(o + d) << " | "
              << fmt(nft) << " | " << ratio(o + d, nft) << " |\n";
    std::cout.flush();
    deleteTable(fw::kTableName);
  }
  return 0;
}

// ---- helpers for the forwarding benchmark (run-firewall-bench.sh) ------------------------
int cmdLoadBulwark(std::size_t n) {
  auto g = validPolicy(n);
  auto rs = compileOrDie(g.policy);
  auto t0 = Clock::now();
  auto r = fw::apply(rs);
  if (!r) die("apply failed: " + r.error().message);
  std::cerr << "bulwark: " << n << " flows applied in " << fmt(msSince(t0)) << " ms (" << elementCount(rs)
            << " set elements)\n";
  return 0;
}

int cmdLinearScript(std::size_t n) {
  auto g = bb::generateFlowPolicy(n);
  std::cout << bb::renderLinearScript(bb::flows(g));
  return 0;
}

int cmdLastFlow(std::size_t n) {
  auto g = bb::generateFlowPolicy(n);
  auto f = bb::flows(g).back();
  std::cout << f.src.str() << ' ' << f.dst.str() << ' ' << f.port << ' ' << g.policy.rules.back().name << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "usage: firewall_bench apply [--sizes 1000,10000,50000] [--reps N] [--incr-reps N]\n"
                 "       firewall_bench readback [--rules 1000,2000,5000] [--reps N]\n"
                 "       firewall_bench load-bulwark N | linear-script N | last-flow N\n";
    return 2;
  }
  try {
    if (args[0] == "apply") {
      std::vector<std::size_t> sizes{1000, 10000, 50000};
      int reps = 5, incrReps = 7;
      bool incrOnly = false;
      for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == "--sizes") sizes = parseSizes(args[i + 1]);
        else if (args[i] == "--reps") reps = std::stoi(args[i + 1]);
        else if (args[i] == "--incr-reps") incrReps = std::stoi(args[i + 1]);
        else if (args[i] == "--incr-only") incrOnly = args[i + 1] == "1";
        else die("unknown option " + args[i]);
      }
      return cmdApply(sizes, std::max(1, reps), std::max(1, incrReps), incrOnly);
    }
    if (args[0] == "readback") {
      std::vector<std::size_t> sizes{1000, 2000, 5000};
      int reps = 3;
      for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == "--rules") sizes = parseSizes(args[i + 1]);
        else if (args[i] == "--reps") reps = std::stoi(args[i + 1]);
        else die("unknown option " + args[i]);
      }
      return cmdReadback(sizes, std::max(1, reps));
    }
    if (args.size() == 2 && args[0] == "load-bulwark") return cmdLoadBulwark(std::stoul(args[1]));
    if (args.size() == 2 && args[0] == "linear-script") return cmdLinearScript(std::stoul(args[1]));
    if (args.size() == 2 && args[0] == "last-flow") return cmdLastFlow(std::stoul(args[1]));
  } catch (const std::exception& e) {
    die(e.what());
  }
  std::cerr << "firewall_bench: bad arguments\n";
  return 2;
}
