#!/usr/bin/python3
"""The web view's page against bulwarkd running the 10k-flow policy (bench/gateway_bench.py's:
two segments, 10,000 allowed flows in 40 rules) plus gateway.web, in namespaces; Debian's
headless Chromium on the clients segment with a client certificate. Needs root.

    bench/web/page_bench.py --daemon BULWARKD --ctl BULWARKCTL [--updates 60]

Prints: page load and first contentful paint, time to the first snapshot on screen, then over
`--updates` SSE updates without any interaction: the page's main-thread time per update
(render, median/p95/max), long tasks (> 50 ms) while updating, update-to-screen latency (the
daemon's publish time to the frame that shows it; same clock), and bulwarkd's RSS.
"""
import argparse
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
        steady = d.execute_script("return [performance.now(), bulwarkStats.renderMs.length]")
        # No interaction while it updates: poll rarely.
        while d.execute_script("return bulwarkStats.updates") < 3 + a.updates:
            time.sleep(2)
        st = d.execute_script("return window.bulwarkStats")
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
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon")
    ap.add_argument("--ctl")
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
        daemon = subprocess.Popen(["ip", "netns", "exec", gw, a.daemon, "--policy", tmp / "pol", "--socket",
                                   tmp / "c.sock", "--state-dir", tmp / "state", "--metrics", "off", "--no-journal",
                                   "--pki", tmp / "pki", "--drift-interval", "0"], stdout=log, stderr=log)
        t0 = time.time()
        while "web view: https://" not in (tmp / "bulwarkd.log").read_text():
            if daemon.poll() is not None or time.time() - t0 > 600:
                print((tmp / "bulwarkd.log").read_text()[-1000:])
                return 2
            time.sleep(0.2)
        print(f"bulwarkd up with {a.flows} flows ({rules} rules) in {time.time() - t0:.1f} s")
        rc = subprocess.run(["ip", "netns", "exec", cl, "unshare", "--mount", "--propagation", "private",
                             sys.executable, __file__, "--phase", "browser", "--tmp", str(tmp),
                             "--updates", str(a.updates)]).returncode
        rss = [l for l in Path(f"/proc/{daemon.pid}/status").read_text().splitlines() if l.startswith("VmRSS")]
        print(f"bulwarkd {rss[0].split(':')[1].strip()} after the run")
        return rc
    finally:
        if daemon and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        for n in (gw, cl):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
