#!/usr/bin/python3
"""The web view's page against bulwarkd running the 10k-flow policy (bench/gateway_bench.py's:
two segments, 10,000 allowed flows in 40 rules) plus gateway.web, in namespaces; Debian's
headless Chromium on the clients segment with a client certificate. Needs root.

    bench/web/page_bench.py --daemon BULWARKD --ctl BULWARKCTL [--updates 60]
                            [--baseline-daemon OLD_BULWARKD] [--rounds N]

Prints: page load and first contentful paint, time to the first snapshot on screen, then over
`--updates` SSE updates without any interaction: the page's main-thread time per update
(render, median/p95/max), long tasks (> 50 ms) while updating, update-to-screen latency (the
daemon's publish time to the frame that shows it; same clock), the snapshot's size, and
bulwarkd's RSS. The DevTools trace of the updates (chromedriver's performance log) says what
each task over 50 ms was made of (script, style, layout, paint, GC ...) and what the main
thread spent per update in all.

With --baseline-daemon (e.g. main's bulwarkd, whose page is compiled in), each round runs the
baseline and then --daemon under the same conditions, and the end compares them.
"""
import argparse
import bisect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from gateway_bench import flow_policy  # noqa: E402  (the 10k-flow policy's text)

ADDR, PORT, HOST = "10.64.0.1", 8443, "gw.bench"
PASSWORD = "page-bench"


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True, **kw)


def browser_phase(a):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    tmp = Path(a.tmp)
    etc = tmp / "etc-chromium"
    (etc / "policies" / "managed").mkdir(parents=True)
    if Path("/etc/chromium/master_preferences").exists():
        shutil.copy("/etc/chromium/master_preferences", etc)
    pattern = json.dumps({"pattern": f"https://{HOST}:{PORT}", "filter": {}})
    (etc / "policies" / "managed" / "bench.json").write_text(json.dumps({"AutoSelectCertificateForUrls": [pattern]}))
    run(["mount", "--bind", etc, "/etc/chromium"])
    home = tmp / "home"
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"])
    run(["certutil", "-A", "-n", "ca", "-t", "C,,", "-i", tmp / "pki" / "ca.crt", "-d", f"sql:{db}"])
    run(["pk12util", "-i", tmp / "pki" / "issued" / "ann" / "ann.p12", "-d", f"sql:{db}", "-W", PASSWORD])
    o = webdriver.ChromeOptions()
    o.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    o.add_experimental_option("perfLoggingPrefs", {"enableNetwork": False, "enablePage": False,
                                                   "traceCategories": TRACE_CATEGORIES})
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,768",
                f"--user-data-dir={home}/chrome", f"--host-resolver-rules=MAP {HOST} {ADDR}, MAP * ~NOTFOUND",
                "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        o.add_argument(arg)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=dict(os.environ, HOME=str(home))), options=o)
    try:
        t0 = time.time()
        d.get(f"https://{HOST}:{PORT}/")
        load = time.time() - t0
        while not d.execute_script("return window.bulwarkStats && bulwarkStats.updates >= 1"):
            time.sleep(0.05)
        first = time.time() - t0
        fcp = d.execute_script("""const p = performance.getEntriesByType('paint')
            .find(e => e.name === 'first-contentful-paint'); return p ? p.startTime : null;""")
        while d.execute_script("return bulwarkStats.updates") < 3:
            time.sleep(0.2)
        d.get_log("performance")  # the trace from here on: steady updates only
        steady = d.execute_script("return [performance.now(), bulwarkStats.renderMs.length]")
        # No interaction while it updates: poll rarely.
        events = []
        while d.execute_script("return bulwarkStats.updates") < 3 + a.updates:
            time.sleep(2)
            events += trace_events(d.get_log("performance"))
        st = d.execute_script("return window.bulwarkStats")
        events += trace_events(d.get_log("performance"))
        snap_bytes = d.execute_script("return fetch('api/snapshot').then(r => r.text()).then(t => t.length)")
    finally:
        d.quit()
    r = sorted(st["renderMs"][steady[1]:])
    lat = sorted(st["latencyMs"][steady[1]:])
    longs = [t[1] for t in st["longTasks"] if t[0] >= steady[0]]
    first_render = st["renderMs"][0]
    print(f"page load {load:.2f} s, first contentful paint {fcp:.0f} ms, first snapshot on screen {first:.2f} s "
          f"(its render {first_render:.1f} ms)")
    print(f"{len(r)} updates: main-thread render per update median {r[len(r) // 2]:.1f} ms, p95 "
          f"{r[int(len(r) * 0.95)]:.1f} ms, max {r[-1]:.1f} ms; long tasks (> 50 ms) while updating: {len(longs)}"
          + (f" (max {max(longs):.0f} ms)" if longs else ""))
    print(f"update-to-screen latency median {lat[len(lat) // 2]} ms, p95 {lat[int(len(lat) * 0.95)]} ms")
    # The stream's messages as the page counts them, else the size of a whole snapshot.
    sizes = sorted(st.get("messageBytes") or [snap_bytes])
    print(f"event stream message median {sizes[len(sizes) // 2]} bytes")
    tr = trace_summary(events, len(r))
    print(tr["text"])
    print("RESULT " + json.dumps({"render_median": r[len(r) // 2], "render_p95": r[int(len(r) * 0.95)],
                                  "render_max": r[-1], "long_tasks": len(longs), "long_max": max(longs, default=0),
                                  "latency_median": lat[len(lat) // 2], "latency_p95": lat[int(len(lat) * 0.95)],
                                  "main_per_update": tr["per_update"], "trace_long": tr["long"],
                                  "message_bytes": sizes[len(sizes) // 2]}))
    return 0


# Chromium's timeline categories: top-level tasks, what ran in them, GC.
TRACE_CATEGORIES = ("toplevel,devtools.timeline,disabled-by-default-devtools.timeline,v8,v8.execute,"
                    "blink.user_timing")


def trace_events(log):
    out = []
    for entry in log:
        m = json.loads(entry["message"])["message"]
        if m.get("method") == "Tracing.dataCollected":
            out.append(m["params"])
    return out


# What a task's time went to, by the timeline's own names (children that start inside it).
KINDS = {"FunctionCall": "script", "EventDispatch": "script", "TimerFire": "script", "FireAnimationFrame": "script",
         "v8.callFunction": "script", "EvaluateScript": "script", "v8.compile": "script", "ParseHTML": "parse",
         "UpdateLayoutTree": "style", "Layout": "layout", "PrePaint": "paint", "Paint": "paint", "Layerize": "paint",
         "PaintImage": "paint", "RasterTask": "paint", "Commit": "paint", "UpdateLayer": "paint",
         "MinorGC": "gc", "MajorGC": "gc", "V8.GCScavenger": "gc", "V8.GCFinalizeMC": "gc",
         "V8.GCIncrementalMarking": "gc", "BlinkGC.AtomicPhase": "gc", "ParseAuthorStyleSheet": "style",
         "HitTest": "layout", "IntersectionObserverController::computeIntersections": "layout",
         "ResizeObserverController::DeliverObservations": "script"}


def trace_summary(events, updates):
    """Renderer main thread: total task time per update, and each task > 50 ms broken down."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    main = {k for k, v in names.items() if v == "CrRendererMain"}
    xs = [e for e in events if e.get("ph") == "X" and (e["pid"], e["tid"]) in main and "dur" in e]
    tasks = sorted((e for e in xs if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask")),
                   key=lambda e: e["ts"])
    # Nested RunTasks (a task inside a task) would count twice: keep the outermost.
    top, end = [], -1
    for t in tasks:
        if t["ts"] >= end:
            top.append(t)
            end = t["ts"] + t["dur"]
    total_ms = sum(t["dur"] for t in top) / 1000
    per_update = total_ms / max(1, updates)
    longs = [t for t in top if t["dur"] > 50000]
    named = sorted((e for e in xs if e["name"] in KINDS), key=lambda e: e["ts"])
    starts = [e["ts"] for e in named]

    def kinds_of(task):
        """ms per kind inside `task`: the outermost event of each kind only (a FunctionCall inside
        an EventDispatch is the same time)."""
        kinds, ends = {}, {}
        for e in named[bisect.bisect_left(starts, task["ts"]):bisect.bisect_left(starts, task["ts"] + task["dur"])]:
            k = KINDS[e["name"]]
            if e["ts"] >= ends.get(k, -1):
                kinds[k] = kinds.get(k, 0) + e["dur"] / 1000
                ends[k] = e["ts"] + e["dur"]
        return kinds

    every = {}
    for t in top:
        for k, v in kinds_of(t).items():
            every[k] = every.get(k, 0) + v
    lines = [f"trace: renderer main thread busy {total_ms:.0f} ms in {len(top)} tasks over the updates "
             f"({per_update:.1f} ms per update: "
             + ", ".join(f"{k} {v / max(1, updates):.1f}" for k, v in sorted(every.items(), key=lambda kv: -kv[1]))
             + f"); tasks > 50 ms: {len(longs)}"]
    detail = []
    for t in longs:
        kinds = kinds_of(t)
        text = " ".join(f"{k} {v:.0f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
        lines.append(f"  task {t['dur'] / 1000:.0f} ms: {text or 'nothing the timeline names'}")
        detail.append({"ms": round(t["dur"] / 1000, 1), **{k: round(v, 1) for k, v in kinds.items()}})
    return {"text": "\n".join(lines), "per_update": round(per_update, 2), "long": detail}


def session(a, daemon_path):
    """bulwarkd (daemon_path) with the 10k-flow policy in namespaces, the browser phase against
    it; returns the browser phase's RESULT dict (None on failure)."""
    prefix = f"bwpb{os.getpid() % 100000}"
    gw, cl = f"{prefix}-gw", f"{prefix}-c"
    tmp = Path(tempfile.mkdtemp(prefix="page-bench-"))
    daemon = None
    try:
        for n in (gw, cl):
            run(["ip", "netns", "add", n])
            run(["ip", "-n", n, "link", "set", "lo", "up"])
        run(["ip", "-n", gw, "link", "add", "cli0", "type", "veth", "peer", "name", "eth0", "netns", cl])
        run(["ip", "-n", gw, "link", "add", "srv0", "type", "veth", "peer", "name", "srvp"])
        run(["ip", "-n", gw, "link", "add", "wan0", "type", "veth", "peer", "name", "wanp"])
        for ifn, addr in (("cli0", "10.64.0.1/16"), ("srv0", "10.200.0.1/16"), ("wan0", "192.0.2.1/24")):
            run(["ip", "-n", gw, "addr", "add", addr, "dev", ifn])
        for ifn in ("cli0", "srv0", "wan0", "srvp", "wanp"):
            run(["ip", "-n", gw, "link", "set", ifn, "up"])
        run(["ip", "-n", cl, "addr", "add", "10.64.0.10/16", "dev", "eth0"])
        run(["ip", "-n", cl, "link", "set", "eth0", "up"])
        run(["ip", "-n", cl, "route", "add", "default", "via", "10.64.0.1"])
        text, rules = flow_policy(a.flows)
        text = text.replace("gateway:\n  uplink: wan0\n",
                            f"gateway:\n  name: gw-bench\n  uplink: wan0\n"
                            f"  control: {{ listen: {ADDR}, change: netops, view: auditors }}\n"
                            f"  web: {{ listen: {ADDR}, port: {PORT} }}\n")
        (tmp / "pol").mkdir()
        (tmp / "pol" / "policy.yaml").write_text(text)
        pw = tmp / "pw"
        pw.write_text(PASSWORD + "\n")
        run([a.ctl, "pki", "--dir", tmp / "pki", "init", "--ca-name", "Bench CA"])
        run([a.ctl, "pki", "--dir", tmp / "pki", "gateway", "--local-id", HOST])
        run([a.ctl, "pki", "--dir", tmp / "pki", "issue", "ann", "--group", "auditors", "--password-file", pw])
        log = open(tmp / "bulwarkd.log", "w")
        daemon = subprocess.Popen(["ip", "netns", "exec", gw, daemon_path, "--policy", tmp / "pol", "--socket",
                                   tmp / "c.sock", "--state-dir", tmp / "state", "--metrics", "off", "--no-journal",
                                   "--pki", tmp / "pki", "--drift-interval", "0"], stdout=log, stderr=log)
        t0 = time.time()
        while "web view: https://" not in (tmp / "bulwarkd.log").read_text():
            if daemon.poll() is not None or time.time() - t0 > 600:
                print((tmp / "bulwarkd.log").read_text()[-1000:])
                return None
            time.sleep(0.2)
        print(f"bulwarkd {daemon_path} up with {a.flows} flows ({rules} rules) in {time.time() - t0:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        p = subprocess.run(["ip", "netns", "exec", cl, "unshare", "--mount", "--propagation", "private",
                            sys.executable, __file__, "--phase", "browser", "--tmp", str(tmp),
                            "--updates", str(a.updates)], stdout=subprocess.PIPE, text=True)
        result = None
        for line in p.stdout.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[7:])
            else:
                print(line)
        rss = [l for l in Path(f"/proc/{daemon.pid}/status").read_text().splitlines() if l.startswith("VmRSS")]
        print(f"bulwarkd {rss[0].split(':')[1].strip()} after the run; load average {os.getloadavg()[0]:.1f}",
              flush=True)
        return result if p.returncode == 0 else None
    finally:
        if daemon and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        for n in (gw, cl):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon")
    ap.add_argument("--ctl")
    ap.add_argument("--baseline-daemon", help="bulwarkd to compare with (its page compiled in)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--updates", type=int, default=60)
    ap.add_argument("--flows", type=int, default=10000)
    ap.add_argument("--phase", default="all")
    ap.add_argument("--tmp")
    a = ap.parse_args()
    if a.phase == "browser":
        return browser_phase(a)
    if os.geteuid() != 0:
        print("needs root")
        return 77
    runs = {"baseline": [], "this": []}
    for rnd in range(a.rounds):
        for name, path in (("baseline", a.baseline_daemon), ("this", a.daemon)):
            if not path:
                continue
            print(f"== round {rnd + 1}, {name}", flush=True)
            res = session(a, path)
            if res is None:
                return 2
            runs[name].append(res)
    if runs["baseline"]:
        def agg(name, key, f=lambda v: sorted(v)[len(v) // 2]):
            return f([r[key] for r in runs[name]])
        print("== baseline vs this build (median over rounds; long tasks summed)")
        for key, label in (("render_median", "render per update, median ms"), ("render_max", "render max ms"),
                           ("main_per_update", "main thread per update (trace), ms"),
                           ("latency_median", "update-to-screen median ms"), ("message_bytes", "message bytes")):
            b, t = agg("baseline", key), agg("this", key)
            print(f"{label:40s} {b:10.1f} {t:10.1f}   {b / t if t else float('inf'):.2f}x")
        b, t = agg("baseline", "long_tasks", sum), agg("this", "long_tasks", sum)
        print(f"{'long tasks > 50 ms (all rounds)':40s} {b:10d} {t:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
