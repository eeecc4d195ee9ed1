#!/usr/bin/python3
"""The Prometheus/Grafana kit (docs/monitoring) against a real bulwarkd and Debian's real
Prometheus, in namespaces (web_daemon_netns.py's: a gateway, a client and a server segment).

    prometheus_kit_test.py --daemon BULWARKD --ctl BULWARKCTL

1. `promtool check config` (the kit's prometheus.yml with its rule file) and `promtool check
   rules` pass.
2. bulwarkd runs with --metrics 127.0.0.1:9469 in the gateway namespace; traffic crosses it
   (allowed tcp/7000 and denied tcp/22 from the client to the server, conntrack accounting
   on) and a foreign nft edit is repaired; Prometheus, in the same namespace, scrapes it
   every second with the kit's scrape job.
3. Every query of the Grafana dashboard (grafana-dashboard.json, $instance = all) and every
   alert expression's metrics are asked of that Prometheus' HTTP API: each must return data,
   except those that need what this namespace lab does not run — the admin VPN's tunnels
   (bulwarkd --vici with a charon) and health checks (no health-check engine in this build) —
   which are listed as such.

Exit 0 passed, 1 a check failed, 2 the setup broke, 77 not root or no prometheus.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_daemon_netns import Lab, run  # noqa: E402

KIT = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
# Metrics that exist only with the admin VPN (--vici) or with health checks.
NEEDS = {"bulwark_tunnel": "the admin VPN (bulwarkd --vici and a tunnel)",
         "bulwark_health_check_up": "health checks (the health-check engine)"}


def queries():
    dash = json.loads((KIT / "grafana-dashboard.json").read_text())
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"].replace("$instance", ".*")))
    for a in dash["annotations"]["list"]:
        out.append(("annotation " + a["name"], a["expr"].replace("$instance", ".*")))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    if not os.path.exists("/usr/bin/prometheus") or not os.path.exists("/usr/bin/promtool"):
        print("SKIP: prometheus missing (tools/install-deps.sh)")
        return 77
    failed = []
    cp = run(["promtool", "check", "rules", KIT / "bulwark-alerts.yml"], check_rc=False)
    print(cp.stdout.strip())
    if cp.returncode != 0:
        failed.append("promtool check rules: " + cp.stderr.strip())
    lab = Lab(a, metrics="127.0.0.1:9469")
    prom = None
    try:
        try:
            lab.up()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"setup broke: {e}")
            return 2
        cfg = (KIT / "prometheus.yml").read_text()
        cfg = cfg.replace('"10.99.0.1:9469"', '"127.0.0.1:9469"').replace("scrape_interval: 5s", "scrape_interval: 1s")
        cfg = cfg.replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        (lab.tmp / "prometheus.yml").write_text(cfg)
        (lab.tmp / "bulwark-alerts.yml").write_text((KIT / "bulwark-alerts.yml").read_text())
        cp = run(["promtool", "check", "config", lab.tmp / "prometheus.yml"], check_rc=False)
        print(cp.stdout.strip())
        if cp.returncode != 0:
            failed.append("promtool check config: " + cp.stderr.strip())
        run(["ip", "netns", "exec", lab.gw, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1"])
        plog = open(lab.tmp / "prometheus.log", "w")
        prom = subprocess.Popen(["ip", "netns", "exec", lab.gw, "prometheus", f"--config.file={lab.tmp}/prometheus.yml",
                                 f"--storage.tsdb.path={lab.tmp}/tsdb", "--web.listen-address=127.0.0.1:19090"],
                                stdout=plog, stderr=plog)
        # Prometheus has scraped bulwarkd once before anything changes (a counter's first
        # sample must precede the change for increase() to see it).
        deadline = time.time() + 30
        while time.time() < deadline:
            out = run(["ip", "netns", "exec", lab.gw, "curl", "-sS", "--max-time", "2",
                       "http://127.0.0.1:19090/api/v1/query?query=bulwark_revision"], check_rc=False).stdout
            if '"result":[{' in out:
                break
            time.sleep(0.5)
        else:
            print("setup broke: Prometheus did not scrape bulwarkd within 30 s")
            return 2
        # Traffic: an echo sink on the server, the client sends for a while; denied probes too.
        sink = subprocess.Popen(["ip", "netns", "exec", lab.s, sys.executable, "-c",
                                 "import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                                 "s.bind(('0.0.0.0',7000));s.listen(8);s.settimeout(30)\n"
                                 "c,_=s.accept();c.settimeout(30)\nwhile c.recv(65536): pass\n"])
        time.sleep(0.5)
        src = subprocess.Popen(["ip", "netns", "exec", lab.c, sys.executable, "-c",
                                "import socket,time\nc=socket.create_connection(('10.2.0.10',7000),5)\n"
                                "end=time.time()+15\nwhile time.time()<end:\n  c.sendall(b'x'*65536); time.sleep(0.02)\n"])
        for _ in range(5):
            run(["ip", "netns", "exec", lab.c, "timeout", "1", "bash", "-c", "echo > /dev/tcp/10.2.0.10/22"],
                check_rc=False)
        # A foreign edit, repaired by bulwarkd (drift counters).
        run(["ip", "netns", "exec", lab.gw, "nft", "insert", "rule", "inet", "bulwark", "forward", "ip", "saddr",
             "192.0.2.99", "accept"])
        time.sleep(12)
        src.wait(timeout=30)
        sink.kill()
        sink.wait()
        results = []
        for title, expr in queries():
            url = "http://127.0.0.1:19090/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            out = run(["ip", "netns", "exec", lab.gw, "curl", "-sS", "--max-time", "10", url], check_rc=False).stdout
            try:
                data = json.loads(out)
            except ValueError:
                data = {"status": "error", "error": out[:200]}
            n = len(data.get("data", {}).get("result", [])) if data.get("status") == "success" else -1
            need = next((why for k, why in NEEDS.items() if k in expr), None)
            results.append((title, expr, n, need, data.get("error", "")))
        for title, expr, n, need, err in results:
            if n > 0:
                print(f"  data ({n} series): {title}: {expr[:90]}")
            elif need:
                print(f"  NO DATA, needs {need}: {title}: {expr[:90]}")
            else:
                print(f"  NO DATA: {title}: {expr} {err}")
                failed.append(f"no data for {title}: {expr}")
        with_data = sum(1 for r in results if r[2] > 0)
        needing = sum(1 for r in results if r[2] <= 0 and r[3])
        print(f"{with_data} of {len(results)} dashboard queries return data; {needing} need the VPN or health checks")
        # The alert rules loaded and evaluated: the drift repair fires BulwarkDriftRepaired.
        out = run(["ip", "netns", "exec", lab.gw, "curl", "-sS", "http://127.0.0.1:19090/api/v1/alerts"]).stdout
        alerts = [x["labels"]["alertname"] for x in json.loads(out)["data"]["alerts"]]
        print(f"  alerts firing or pending: {sorted(set(alerts))}")
        if "BulwarkDriftRepaired" not in alerts:
            failed.append("BulwarkDriftRepaired did not fire after a repaired foreign edit")
    finally:
        if prom and prom.poll() is None:
            prom.send_signal(signal.SIGTERM)
            try:
                prom.wait(timeout=15)
            except subprocess.TimeoutExpired:
                prom.kill()
        lab.down()
        lab.remove()
    for f in failed:
        print("FAIL: " + f)
    if not failed:
        print("PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
