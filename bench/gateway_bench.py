#!/usr/bin/python3
"""bulwarkd benchmarks (figures in docs/performance.md, "Daemon"). Needs root; everything runs in
a network namespace this script creates and deletes.

    gateway_bench.py --daemon BULWARKD [--flows 10000] [--rules 10000] [--status N] [--scrapes N]
                     [--skip-flows] [--preload-nft FILE] [--parallel-scrapers K]
    gateway_bench.py --daemon BULWARKD --startup [--rules 10000] [--runs 3]
    gateway_bench.py --daemon BULWARKD --memory SECONDS [--vs OTHER_BULWARKD] [--flows 10000]
    gateway_bench.py --daemon BULWARKD --one-change [--sizes 1000,50000] [--runs 3] [--ct-entries N]

1. RSS: the daemon started on the 10k-flow policy (the shape of bench/firewall_policygen.h:
   clients/servers segments, 125 client hosts per rule, tcp+udp per host → 40 rules, flows in
   sets), after startup (apply), after 100 status calls and a metrics scrape: VmRSS and VmHWM.
2. status round trip over the control socket (one connection, sequential), median/p99.
3. metrics scrape with a 10k-RULE policy (one policy rule per client host → one counter each)
   vs `nft list ruleset` and `nft -j list ruleset` in the same namespace, same run, and the
   status round trip while the scrapes run (the scrape must not hold the event loop).

--startup (instead of 1-3), on the 10k-RULE policy, --runs times, each in a fresh namespace:
   fresh:  table absent -> the daemon's "ready" line (load, validate, compile, apply, read-back);
   adopt:  kill -9, restart -> "ready" (observe, empty plan: the log must say nothing was applied);
   drift:  a foreign `nft add rule` into table inet bulwark -> the daemon's "drift-repaired" audit
           line, timed from before the nft command starts (and from when it returned: the commit is
           in between); the foreign rule must be gone afterwards.
   Goal (issue 20): each <= 1 s.

--one-change (instead of 1-3): what an administrator waits for when one host joins a rule, on the
   10k-flow policy's shape at each --sizes flow count (125 client hosts per rule): the whole
   `bulwarkctl apply` command through bulwarkd (policy with one host more in rule r00000, then
   back), the same with `apply --direct --only firewall` in a second namespace without a daemon,
   and the baseline `nft add element` / `nft delete element` of the same address into the same
   set of Bulwark's table in that second namespace; interleaved, --runs rounds, medians, ratios
   to the baseline. Each apply must be an element update (checked in its output). --ct-entries N
   loads N UDP flows into both namespaces' conntrack first (`conntrack -R`): a gateway's table.
   Goal (issue 20): each apply <= 1.0x the baseline; at campus size <= 10 ms.

--memory SECONDS (instead of 1-3): VmRSS over time on the 10k-flow policy with 1 Hz scrapes and
   an apply a minute, every 10 s; each --vs daemon at the same time on the same schedule.
   Goal (issue 20): <= 20 MB after an hour, flat after the first 5 minutes.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HOSTS_PER_RULE = 125


def host_addr(i):
    return f"10.64.{(i + 10) >> 8 & 255}.{(i + 10) & 255}"


def server_addr(r):
    return f"10.200.{(r + 10) >> 8 & 255}.{(r + 10) & 255}"


def header():
    return """gateway:
  uplink: wan0
segments:
  - name: clients
    interface: cli0
    ipv4: { subnet: 10.64.0.0/16, gateway: 10.64.0.1 }
  - name: servers
    interface: srv0
    ipv4: { subnet: 10.200.0.0/16, gateway: 10.200.0.1 }
"""


def flow_policy(flows):
    rules = (flows + 2 * HOSTS_PER_RULE - 1) // (2 * HOSTS_PER_RULE)
    out = [header(), "hosts:\n"]
    for i in range(rules * HOSTS_PER_RULE):
        out.append(f"  - {{ name: c{i:05d}, segment: clients, addresses: [{host_addr(i)}] }}\n")
    for r in range(rules):
        out.append(f"  - {{ name: s{r:05d}, segment: servers, addresses: [{server_addr(r)}] }}\n")
    out.append("rules:\n")
    for r in range(rules):
        members = ", ".join(f"c{i:05d}" for i in range(r * HOSTS_PER_RULE, (r + 1) * HOSTS_PER_RULE))
        out.append(f"  - name: r{r:05d}\n    from: [{members}]\n    to: s{r:05d}\n"
                   f"    services: [tcp/{10000 + r}, udp/{10000 + r}]\n    action: allow\n")
    return "".join(out), rules


def hosts_last(text):
    """The flow policy `text` with its hosts after its rules, so that a host appended at the end of the file
    moves no rule's line (a rule's kernel comment holds its line: a moved rule is a changed rule)."""
    at, rules_at = text.index("hosts:\n"), text.index("rules:\n")
    return text[:at] + text[rules_at:] + text[at:rules_at]


def one_more_host(text, rules):
    """hosts_last(`text`) with one client host more, appended, in rule r00000 (its address: the next unused)."""
    extra = rules * HOSTS_PER_RULE
    name = f"c{extra:05d}"
    text = text.replace("  - name: r00000\n    from: [", "  - name: r00000\n    from: [" + name + ", ", 1)
    text += f"  - {{ name: {name}, segment: clients, addresses: [{host_addr(extra)}] }}\n"
    return text, host_addr(extra)


def rule_policy(n):
    servers = max(1, n // 250)
    out = [header(), "hosts:\n"]
    for i in range(n):
        out.append(f"  - {{ name: c{i:05d}, segment: clients, addresses: [{host_addr(i)}] }}\n")
    for r in range(servers):
        out.append(f"  - {{ name: s{r:05d}, segment: servers, addresses: [{server_addr(r)}] }}\n")
    out.append("rules:\n")
    for i in range(n):
        out.append(f"  - {{ name: r{i:05d}, from: [c{i:05d}], to: s{i % servers:05d}, "
                   f"services: [tcp/{10000 + i % 5000}], action: allow }}\n")
    return "".join(out)


def rss(pid):
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            vals[k] = int(v.split()[0]) / 1024.0
    return vals


class Daemon:
    def __init__(self, exe, ns, policy_dir, tmp, port, poll=0.05):
        self.sock = tmp / "control.sock"
        self.logfile = tmp / "bulwarkd.log"
        self.log = open(self.logfile, "a")
        start = self.logfile.stat().st_size
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, exe, "--policy", str(policy_dir), "--socket",
                                   str(self.sock), "--state-dir", str(tmp / "state"), "--metrics",
                                   f"127.0.0.1:{port}", "--no-journal", "--drift-interval", "0"],
                                  stdout=self.log, stderr=self.log)
        self.port = port
        t0 = time.monotonic()
        while time.monotonic() - t0 < 900:
            if self.p.poll() is not None:
                raise RuntimeError(self.logfile.read_text())
            self.output = self.logfile.read_text()[start:]
            if "ready:" in self.output:
                break
            time.sleep(poll)
        else:
            raise RuntimeError("bulwarkd not ready after 900 s")
        self.startup = time.monotonic() - t0
        self.pid = self.p.pid  # ip netns exec setns()es and exec()s: same process

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=30)

    def kill9(self):
        self.p.kill()
        self.p.wait(timeout=30)


def status_rtt(sock_path, n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(sock_path))
    f = s.makefile("rwb")
    times = []
    for i in range(n):
        t = time.perf_counter()
        f.write(json.dumps({"id": i, "op": "status"}).encode() + b"\n")
        f.flush()
        reply = json.loads(f.readline())
        times.append(time.perf_counter() - t)
        assert reply["ok"]
    s.close()
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.99) - 1] * 1e6


def timed(ns, argv, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, check=True)
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def scrape(ns, port, n):
    code = (f"import time,urllib.request,statistics\nts=[]\n"
            f"for _ in range({n}):\n t=time.perf_counter();b=urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read();"
            f"ts.append(time.perf_counter()-t)\nprint(statistics.median(ts)*1000, len(b), b.count(b'bulwark_rule_packets_total{{'))")
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("scrape failed: " + r.stderr.strip()[-500:])
    ms, size, series = r.stdout.split()
    return float(ms), int(size), int(series)


def status_during(sock_path, busy, interval=0.0):
    """Status round trips while `busy()` runs in another thread: (calls, median us, p99 ms, max ms).
    interval > 0: one request every `interval` s, each timed from when it was due (not from when
    it could be sent), so a daemon that holds its loop for 200 ms counts as ~200/interval slow
    calls, not as one (a back-to-back client makes a single call in that time)."""
    import threading
    done = threading.Event()
    result = {}

    def work():
        result["v"] = busy()
        done.set()

    th = threading.Thread(target=work)
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(sock_path))
    f = s.makefile("rwb")
    times = []
    th.start()
    due = time.perf_counter()
    while not done.is_set():
        t = time.perf_counter()
        if interval > 0:
            due += interval
            if due > t:
                time.sleep(due - t)
            t = due
        f.write(b'{"id":1,"op":"status"}\n')
        f.flush()
        json.loads(f.readline())
        times.append(time.perf_counter() - t)
    th.join()
    s.close()
    times.sort()
    p99 = times[max(0, int(len(times) * 0.99) - 1)]
    return result["v"], len(times), statistics.median(times) * 1e6, p99 * 1000, times[-1] * 1000


def daemon_scrape_seconds(ns, port):
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c",
                        f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode())"],
                       capture_output=True, text=True, check=True)
    for line in r.stdout.splitlines():
        if line.startswith("bulwark_scrape_duration_seconds "):
            return float(line.split()[1])
    return float("nan")


def flows_part(a, ns, tmp):
    """1 + 2: the 10k-flow policy: RSS and status round trips."""
    d1 = tmp / "flows"
    (d1 / "pol").mkdir(parents=True)
    text, rules = flow_policy(a.flows)
    (d1 / "pol" / "policy.yaml").write_text(text)
    d = Daemon(a.daemon, ns, d1 / "pol", d1, 19469)
    after_start = rss(d.pid)
    med, p99 = status_rtt(d.sock, a.status)
    scrape(ns, 19469, 3)
    after_use = rss(d.pid)
    print(f"flows={a.flows} rules={rules} startup(apply)={d.startup:.2f}s "
          f"rss_after_start={after_start['VmRSS']:.1f}MB rss_after_use={after_use['VmRSS']:.1f}MB "
          f"peak(VmHWM)={after_use['VmHWM']:.1f}MB")
    print(f"status round trip over {a.status} calls: median {med:.0f} us, p99 {p99:.0f} us")
    d.stop()
    subprocess.run(["ip", "netns", "exec", ns, "nft", "flush", "ruleset"], check=True)


def wait_audit(audit, event, offset, timeout=60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        text = audit.read_text() if audit.exists() else ""
        for line in text[offset:].splitlines():
            if json.loads(line).get("event") == event:
                return time.monotonic(), json.loads(line)
        time.sleep(0.002)
    raise RuntimeError(f"no {event} in the audit log after {timeout} s")


def fresh_lab(ns, prefix, policy_text):
    """A temporary dir holding pol/policy.yaml, and namespace `ns` with lo up."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    (tmp / "pol").mkdir()
    (tmp / "pol" / "policy.yaml").write_text(policy_text)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    return tmp


def startup_part(a):
    """--startup: fresh start, adoption after kill -9, repair of a foreign edit (issue 20)."""
    rows = []
    text = rule_policy(a.rules)
    for run in range(a.runs):
        ns = f"bwdstart{os.getpid()}r{run}"
        tmp = fresh_lab(ns, "bulwarkd-startup-", text)
        d = None
        try:
            d = Daemon(a.daemon, ns, tmp / "pol", tmp, 19471, poll=0.005)
            fresh = d.startup
            if "firewall: 1 change(s)" not in d.output:
                raise RuntimeError("the fresh start did not apply the table: " + d.output.strip()[-300:])
            d.kill9()
            d = Daemon(a.daemon, ns, tmp / "pol", tmp, 19471, poll=0.005)
            adopt = d.startup
            if "startup: in sync, nothing to apply" not in d.output:
                raise RuntimeError("the restart did not adopt the table with an empty plan: " + d.output.strip()[-300:])
            audit = tmp / "state" / "audit.log"
            offset = len(audit.read_text())
            t0 = time.monotonic()
            subprocess.run(["ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "bulwark", "forward",
                            "ip", "saddr", "192.0.2.99", "accept", "comment", '"foreign"'], check=True)
            t1 = time.monotonic()
            t2, rec = wait_audit(audit, "drift-repaired", offset)
            dump = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "chain", "inet", "bulwark", "forward"],
                                  capture_output=True, text=True, check=True).stdout
            if "192.0.2.99" in dump:
                raise RuntimeError("the foreign rule is still in chain forward after the repair")
            rows.append((fresh, adopt, t2 - t0, t2 - t1))
            print(f"run {run + 1}: fresh start {fresh:.3f} s, adopt after kill -9 {adopt:.3f} s, "
                  f"foreign edit -> repaired {t2 - t0:.3f} s (from nft's return {t2 - t1:.3f} s; "
                  f"daemon's write {rec.get('detail', {}).get('millis', float('nan')):.0f} ms, "
                  f"read {rec.get('detail', {}).get('read', 'not said')})", flush=True)
        finally:
            if d and d.p.poll() is None:
                d.stop()
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)
    if rows:
        med = [statistics.median(c) for c in zip(*rows)]
        print(f"rules={a.rules} medians of {len(rows)}: fresh {med[0]:.3f} s, adopt {med[1]:.3f} s, "
              f"drift repair {med[2]:.3f} s (from nft's return {med[3]:.3f} s); goal <= 1 s each")
    return 0


def one_change_part(a):
    """--one-change: bulwarkctl apply of one added host, through bulwarkd and --direct, vs nft add element."""
    ctl = a.ctl or str(Path(a.daemon).with_name("bulwarkctl"))
    for flows in [int(x) for x in a.sizes.split(",")]:
        base, rules = flow_policy(flows)
        base = hosts_last(base)
        more, addr = one_more_host(base, rules)
        ns, ns2 = f"bwdone{os.getpid()}f{flows}", f"bwdone{os.getpid()}f{flows}d"
        tmp = fresh_lab(ns, "bulwarkd-one-change-", base)
        (tmp / "base").mkdir()
        (tmp / "base" / "policy.yaml").write_text(base)
        (tmp / "more").mkdir()
        (tmp / "more" / "policy.yaml").write_text(more)
        d = None

        def run(netns, cmd, expect=None):
            t = time.perf_counter()
            r = subprocess.run(["ip", "netns", "exec", netns] + cmd, capture_output=True, text=True)
            took = (time.perf_counter() - t) * 1000
            if r.returncode != 0 or (expect and expect not in r.stdout):
                raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {(r.stdout + r.stderr).strip()[-400:]}")
            return took

        try:
            subprocess.run(["ip", "netns", "add", ns2], check=True)
            for link in ("cli0", "srv0", "wan0"):  # the daemon applies every kind: the links too (no dummy module)
                subprocess.run(["ip", "-n", ns, "link", "add", link, "type", "veth", "peer", "name", link + "p"],
                               check=True)
            d = Daemon(a.daemon, ns, tmp / "pol", tmp, 19472)
            if a.ct_entries:
                # A gateway's connection table: UDP flows of the policy's client hosts to its
                # servers (the ports of their rules), loaded with `conntrack -R` in both namespaces.
                lines = (f"-I -s {host_addr(i % (rules * HOSTS_PER_RULE))} -d {server_addr(i % rules)} -p udp "
                         f"--sport {1024 + i // (rules * HOSTS_PER_RULE)} --dport {10000 + i % rules} -t 3600\n"
                         for i in range(a.ct_entries))
                (tmp / "ct.txt").write_text("".join(lines))
                for n in (ns, ns2):
                    run(n, ["conntrack", "-R", str(tmp / "ct.txt")])
                    count = subprocess.run(["ip", "netns", "exec", n, "conntrack", "-C"], capture_output=True,
                                           text=True, check=True).stdout.strip()
                    if int(count) < a.ct_entries:
                        raise RuntimeError(f"conntrack -R loaded {count} of {a.ct_entries} entries in {n}")
            sock = ["--socket", str(d.sock)]
            direct = ["apply", "--direct", "--only", "firewall"]
            run(ns2, [ctl] + direct + [str(tmp / "more")])
            sets = json.loads(subprocess.run(["ip", "netns", "exec", ns2, "nft", "-j", "list", "sets", "inet"],
                                             capture_output=True, text=True, check=True).stdout)
            holder = [x["set"]["name"] for x in sets["nftables"] if "set" in x and x["set"]["table"] == "bulwark"
                      and addr in json.dumps(x["set"].get("elem", []))]
            if len(holder) != 1:
                raise RuntimeError(f"{addr} is in {len(holder)} sets of table inet bulwark, expected 1")
            run(ns2, [ctl] + direct + [str(tmp / "base")])
            element = f"{{ {addr} }}"
            cols = {k: [] for k in ("daemon_add", "daemon_remove", "direct_add", "direct_remove", "nft_add", "nft_delete")}
            for _ in range(a.runs):
                cols["daemon_add"].append(run(ns, [ctl] + sock + ["apply", str(tmp / "more")], "set element"))
                cols["daemon_remove"].append(run(ns, [ctl] + sock + ["apply", str(tmp / "base")], "set element"))
                cols["direct_add"].append(run(ns2, [ctl] + direct + [str(tmp / "more")], "set element"))
                cols["direct_remove"].append(run(ns2, [ctl] + direct + [str(tmp / "base")], "set element"))
                cols["nft_add"].append(run(ns2, ["nft", "add", "element", "inet", "bulwark", holder[0], element]))
                cols["nft_delete"].append(run(ns2, ["nft", "delete", "element", "inet", "bulwark", holder[0], element]))
            med = {k: statistics.median(v) for k, v in cols.items()}
            print(f"flows={flows} ({rules} rules, {rules * HOSTS_PER_RULE} client hosts; set {holder[0]}; "
                  f"{a.ct_entries} conntrack entries), "
                  f"medians of {a.runs} interleaved rounds, whole commands in ms:", flush=True)
            for kind, base_key in (("add", "nft_add"), ("remove", "nft_delete")):
                print(f"  {kind:6}: through bulwarkd {med['daemon_' + kind]:.1f} ({med['daemon_' + kind] / med[base_key]:.2f}x), "
                      f"--direct {med['direct_' + kind]:.1f} ({med['direct_' + kind] / med[base_key]:.2f}x), "
                      f"baseline nft {base_key.split('_')[1]} element {med[base_key]:.1f}", flush=True)
            print("  every run (ms): " + "; ".join(f"{k} " + " ".join(f"{x:.1f}" for x in v) for k, v in cols.items()),
                  flush=True)
        finally:
            if d and d.p.poll() is None:
                d.stop()
            for n in (ns, ns2):
                subprocess.run(["ip", "netns", "del", n], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)
    print("goal (issue 20): each apply <= 1.0x its baseline; at campus size <= 10 ms")
    return 0


SCRAPER = """
import sys, time, urllib.request
port, seconds = int(sys.argv[1]), float(sys.argv[2])
ok = bad = 0
end = time.monotonic() + seconds
due = time.monotonic()
while time.monotonic() < end:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        ok += 1
    except Exception:
        bad += 1
    due += 1.0
    time.sleep(max(0.0, due - time.monotonic()))
print(ok, bad)
"""


def control(sock_path, op, **args):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(300)
        s.connect(str(sock_path))
        f = s.makefile("rwb")
        f.write(json.dumps({"id": 1, "op": op, **args}).encode() + b"\n")
        f.flush()
        return json.loads(f.readline())


def memory_part(a):
    """--memory SECONDS (issue 20): bulwarkd on the 10k-flow policy (part 1's) with a metrics scrape
    every second, an apply every minute (one client host added, then removed again: a real change
    each time) and a status call every 10 s, for SECONDS; VmRSS sampled every 10 s. Every daemon of
    --daemon and --vs runs at once, each in its own namespace, on the same schedule, so the
    figures of one run compare. Goal: VmRSS <= 20 MB, flat (within 10 %) after the first 5 min."""
    text, rules = flow_policy(a.flows)
    extra = text.replace("rules:\n", "  - { name: cextra, segment: clients, addresses: [10.64.250.250] }\nrules:\n", 1)
    extra = extra.replace("    from: [c00000,", "    from: [cextra, c00000,", 1)
    if extra.count("cextra") != 2:
        raise RuntimeError("the 10k-flow policy changed shape: the extra host was not placed")
    runs = []
    try:
        for i, exe in enumerate([a.daemon, *a.vs]):
            ns = f"bwdmem{os.getpid()}d{i}"
            run = {"exe": exe, "ns": ns, "tmp": None, "samples": [], "applies": 0, "failed": 0}
            runs.append(run)
            tmp = run["tmp"] = fresh_lab(ns, "bulwarkd-memory-", text)
            run["d"] = Daemon(exe, ns, tmp / "pol", tmp, 19480 + i)
            run["scraper"] = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SCRAPER,
                                               str(19480 + i), str(a.memory)], stdout=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        next_apply, n = t0 + 60, 0
        while time.monotonic() - t0 < a.memory:
            time.sleep(10)
            now = time.monotonic()
            for run in runs:
                control(run["d"].sock, "status")
                run["samples"].append((now - t0, rss(run["d"].pid)["VmRSS"]))
            if now >= next_apply:
                n += 1
                src = [{"name": "policy.yaml", "text": extra if n % 2 else text}]
                for run in runs:
                    # The firewall alone: the namespace has no segment interfaces for the links kind.
                    r = control(run["d"].sock, "apply", sources=src, parts=["firewall"])
                    run["applies"] += 1
                    if not (r.get("ok") and r.get("changed")):
                        run["failed"] += 1
                        run.setdefault("why", json.dumps(r)[:300])
                next_apply += 60
            if int(now - t0) % 300 < 10:
                print(f"{now - t0:6.0f} s: " + ", ".join(f"{Path(r['exe']).name} {r['samples'][-1][1]:.1f} MB"
                                                      for r in runs), flush=True)
        for run in runs:
            ok, bad = run["scraper"].communicate(timeout=60)[0].split()
            after5 = [v for t, v in run["samples"] if t >= 300] or [v for _, v in run["samples"]]
            first, last, peak = after5[0], after5[-1], max(after5)
            flat = peak <= first * 1.10
            print(f"{run['exe']}: {a.memory:.0f} s, {run['applies']} applies ({run['failed']} not applied), "
                  f"{ok} scrapes ({bad} failed); VmRSS at 5 min {first:.1f} MB, at the end {last:.1f} MB, "
                  f"max after 5 min {peak:.1f} MB, VmHWM {rss(run['d'].pid)['VmHWM']:.1f} MB; "
                  f"goal <= 20 MB: {'met' if peak <= 20 else 'NOT met'}; flat within 10 %: {'yes' if flat else 'NO'}")
            if "why" in run:
                print(f"  the first apply not applied: {run['why']}")
    finally:
        for run in runs:
            if "scraper" in run and run["scraper"].poll() is None:
                run["scraper"].kill()
            if "d" in run and run["d"].p.poll() is None:
                run["d"].stop()
            subprocess.run(["ip", "netns", "del", run["ns"]], capture_output=True)
            if run["tmp"]:
                shutil.rmtree(run["tmp"], ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--flows", type=int, default=10000)
    ap.add_argument("--rules", type=int, default=10000)
    ap.add_argument("--status", type=int, default=2000)
    ap.add_argument("--scrapes", type=int, default=10)
    ap.add_argument("--nft-runs", type=int, help="runs of each nft list (default: --scrapes; 0: skip them)")
    ap.add_argument("--skip-flows", action="store_true", help="only the metrics part (3)")
    ap.add_argument("--parallel-scrapers", type=int, default=1, metavar="K",
                    help="part 3 again with K scrape loops at once (they should share dumps)")
    ap.add_argument("--preload-nft", metavar="FILE",
                    help="part 3: load this nft script (bulwarkctl render of the rules policy) with nft -f and "
                         "start the daemon on an unusable policy dir, so it adopts nothing and only serves "
                         "metrics: bulwarkd's startup read-back of a 10k-rule table (firewall::observe, one "
                         "request per set) takes longer than the bench waits")
    ap.add_argument("--startup", action="store_true",
                    help="fresh start, adoption after kill -9 and drift repair on the --rules policy, timed")
    ap.add_argument("--runs", type=int, default=3, help="--startup: runs (each in a fresh namespace); --one-change: rounds")
    ap.add_argument("--memory", type=float, metavar="SECONDS",
                    help="RSS over time on the --flows policy: 1 Hz scrapes, an apply a minute (issue 20)")
    ap.add_argument("--vs", action="append", default=[], metavar="BULWARKD",
                    help="--memory: run this daemon too, at the same time, each in its own namespace")
    ap.add_argument("--one-change", action="store_true",
                    help="bulwarkctl apply of one added host (through bulwarkd and --direct) vs nft add element")
    ap.add_argument("--sizes", default="1000,50000", help="--one-change: flow counts, comma-separated")
    ap.add_argument("--ctl", help="--one-change: bulwarkctl (default: beside --daemon)")
    ap.add_argument("--ct-entries", type=int, default=0,
                    help="--one-change: UDP flows loaded into conntrack first (what an apply's revocation reads)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root")
        return 77
    if a.startup:
        return startup_part(a)
    if a.one_change:
        return one_change_part(a)
    if a.memory:
        return memory_part(a)
    ns = f"bwdbench{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="bulwarkd-bench-"))
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    try:
        if not a.skip_flows:
            flows_part(a, ns, tmp)
        # 3: the 10k-rule policy
        d2 = tmp / "rules"
        (d2 / "pol").mkdir(parents=True)
        if a.preload_nft:
            t = time.perf_counter()
            subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", a.preload_nft], check=True)
            print(f"preloaded {a.preload_nft} with nft -f in {time.perf_counter() - t:.0f} s")
            (d2 / "pol" / "policy.yaml").write_text("segments: [\n")  # unusable: the daemon adopts nothing
        else:
            (d2 / "pol" / "policy.yaml").write_text(rule_policy(a.rules))
        d = Daemon(a.daemon, ns, d2 / "pol", d2, 19470)
        (ms, size, series), calls, st_med, st_p99, st_max = status_during(d.sock, lambda: scrape(ns, 19470, a.scrapes))
        alone, _, _ = scrape(ns, 19470, a.scrapes)
        _, pcalls, p_med, p_p99, p_max = status_during(d.sock, lambda: scrape(ns, 19470, a.scrapes), 0.005)
        inner = daemon_scrape_seconds(ns, 19470)
        runs = a.scrapes if a.nft_runs is None else a.nft_runs
        nft_ms = timed(ns, ["nft", "list", "ruleset"], runs) if runs else float("nan")
        nftj_ms = timed(ns, ["nft", "-j", "list", "ruleset"], runs) if runs else float("nan")
        r = rss(d.pid)
        print(f"rules={a.rules} startup={d.startup:.2f}s rss={r['VmRSS']:.1f}MB peak={r['VmHWM']:.1f}MB")
        print(f"metrics scrape median {ms:.1f} ms ({size} bytes, {series} rule series; median of {a.scrapes}) vs "
              f"nft list ruleset {nft_ms:.1f} ms, nft -j list ruleset {nftj_ms:.1f} ms (median of {runs})")
        print(f"daemon-side scrape (bulwark_scrape_duration_seconds) {inner * 1000:.1f} ms; "
              f"{calls} status calls during the scrapes: median {st_med:.0f} us, p99 {st_p99:.1f} ms, max {st_max:.1f} ms")
        print(f"scrape median without status calls {alone:.1f} ms; status every 5 ms during {a.scrapes} more scrapes "
              f"(latency from the due time): {pcalls} calls, median {p_med:.0f} us, p99 {p_p99:.1f} ms, "
              f"max {p_max:.1f} ms")
        if a.parallel_scrapers > 1:
            import concurrent.futures
            k = a.parallel_scrapers

            def parallel():
                with concurrent.futures.ThreadPoolExecutor(k) as pool:
                    return list(pool.map(lambda _: scrape(ns, 19470, a.scrapes), range(k)))

            res, calls, st_med, st_p99, st_max = status_during(d.sock, parallel, 0.005)
            print(f"{k} scrapers at once, {a.scrapes} scrapes each: scrape medians "
                  f"{', '.join(f'{m:.0f}' for m, _, _ in res)} ms; status every 5 ms meanwhile: {calls} calls, "
                  f"median {st_med:.0f} us, p99 {st_p99:.1f} ms, max {st_max:.1f} ms")
        d.stop()
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
