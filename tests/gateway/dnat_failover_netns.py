#!/usr/bin/python3
"""bulwarkd with health-checked DNAT backends, in private network namespaces with real nginx
load balancers: failover, failback, balance, element updates without a table replacement,
drift repair and a restart that keep the health state, events/audit/metrics, bad input.

    dnat_failover_netns.py --daemon BULWARKD --ctl BULWARKCTL [--runs 1]

Topology (namespaces "<prefix>-gw/-c/-lb1/-lb2", removed at the end, also after a failure):
    <prefix>-c  eth0 198.51.100.7/24 ── up0 198.51.100.1  <prefix>-gw  dmz0 (bridge) 10.1.0.1/24
                                                                         ├── eth0 10.1.0.11  <prefix>-lb1 (nginx)
                                                                         └── eth0 10.1.0.12  <prefix>-lb2 (nginx)
VIP 203.0.113.10 tcp/80: failover lb1, then lb2 (check lb-http: GET /healthz every 200 ms,
fall 3, rise 2); VIP 203.0.113.20 tcp/80: balance over lb1 and lb2. nginx answers "lbN".
`nft` only as a witness inside <prefix>-gw.

--runs N repeats the kill/restore of lb1 N times and prints the time from lb1's death to the
first new connection served by lb2 for each run (docs/performance.md).

Exit 0 all passed, 1 a check failed, 2 the setup broke, 77 not root or nginx missing.
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

NGINX = "/usr/sbin/nginx"
FALL_S = 3 * 0.2  # fall x interval of the policy's check

POLICY = """\
gateway: { uplink: up0 }
segments:
  - { name: dmz, interface: dmz0, ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1 } }
hosts:
  - { name: lb1, segment: dmz, addresses: [10.1.0.11] }
  - { name: lb2, segment: dmz, addresses: [10.1.0.12] }
services:
  - { name: http, ports: [tcp/80] }
checks:
  - { name: lb-http, type: http, path: /healthz, interval: 200ms, timeout: 150ms, rise: 2, fall: 3 }
rules:
  - { name: web, from: internet, to: [lb1, lb2], services: [http], action: allow }
nat:
  dnat:
    - { name: vip, vip: 203.0.113.10, service: http, to: [lb1, lb2], check: lb-http }
    - { name: spread, vip: 203.0.113.20, service: http, to: [lb1, lb2], mode: balance, check: lb-http }
"""

# In the client namespace: new connections to VIP:80 every `gap` s for `secs` s; one JSON line
# per attempt {"t": monotonic start, "done": monotonic end, "lb": "lb1"|"lb2"|null, "err": ...}.
# "keep": one keep-alive connection, a request every `gap` s.
CLIENT = r"""
import json, socket, sys, time
vip, secs, gap, mode = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
end = time.monotonic() + secs
def get(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith((b"lb1", b"lb2")):
        chunk = s.recv(4096)
        if not chunk: raise OSError("closed")
        data += chunk
    return data.rstrip()[-3:].decode()
if mode == "keep":
    s = socket.create_connection((vip, 80), timeout=1.0)
while time.monotonic() < end:
    t = time.monotonic()
    try:
        if mode == "keep":
            lb = get(s)
        else:
            with socket.create_connection((vip, 80), timeout=0.5) as c:
                lb = get(c)
        print(json.dumps({"t": t, "done": time.monotonic(), "lb": lb}), flush=True)
    except OSError as e:
        print(json.dumps({"t": t, "done": time.monotonic(), "lb": None, "err": str(e)}), flush=True)
    time.sleep(max(0.0, gap - (time.monotonic() - t)))
"""


class Failed(Exception):
    pass


def run(argv, timeout=30, check=True, **kw):
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} -> {cp.returncode}: {cp.stderr.strip()[:400]}")
    return cp


def strip(obj):
    """nft -j output with counters zeroed (the health probes' replies pass the input chain) and
    the meters' expiry clocks too (the SYN meter holds the client's address while it ticks)."""
    if isinstance(obj, dict):
        return {k: ({kk: 0 for kk in v} if k == "counter" and isinstance(v, dict) else 0 if k == "expires" else strip(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [strip(x) for x in obj]
    return obj


def expect(cond, what):
    if not cond:
        raise Failed(what)
    print(f"ok: {what}", flush=True)


class Lab:
    def __init__(self, a):
        self.a = a
        self.prefix = f"bwh{os.getpid() % 100000}"
        self.gw, self.c, self.lb1, self.lb2 = (f"{self.prefix}-{x}" for x in ("gw", "c", "lb1", "lb2"))
        self.tmp = Path(tempfile.mkdtemp(prefix="bulwark-dnat-"))
        self.pol = self.tmp / "policy"
        self.pol.mkdir()
        (self.pol / "policy.yaml").write_text(POLICY)
        self.sock = self.tmp / "control.sock"
        self.state = self.tmp / "state"
        self.daemon = None
        self.nginx = {}

    def ns(self, n, *argv, **kw):
        return run(["ip", "netns", "exec", n, *map(str, argv)], **kw)

    def setup(self):
        for n in (self.gw, self.c, self.lb1, self.lb2):
            run(["ip", "netns", "add", n])
            self.ns(n, "ip", "link", "set", "lo", "up")
        run(["ip", "link", "add", "up0", "netns", self.gw, "type", "veth", "peer", "name", "eth0", "netns", self.c])
        self.ns(self.gw, "ip", "link", "add", "dmz0", "type", "bridge")
        for lb, addr in ((self.lb1, "10.1.0.11"), (self.lb2, "10.1.0.12")):
            port = "p" + lb[-1]
            run(["ip", "link", "add", port, "netns", self.gw, "type", "veth", "peer", "name", "eth0", "netns", lb])
            self.ns(self.gw, "ip", "link", "set", port, "master", "dmz0", "up")
            self.ns(lb, "ip", "addr", "add", f"{addr}/24", "dev", "eth0")
            self.ns(lb, "ip", "link", "set", "eth0", "up")
            self.ns(lb, "ip", "route", "add", "default", "via", "10.1.0.1")
        self.ns(self.gw, "ip", "addr", "add", "198.51.100.1/24", "dev", "up0")
        self.ns(self.gw, "ip", "addr", "add", "10.1.0.1/24", "dev", "dmz0")
        for l in ("up0", "dmz0"):
            self.ns(self.gw, "ip", "link", "set", l, "up")
        self.ns(self.gw, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.ns(self.c, "ip", "addr", "add", "198.51.100.7/24", "dev", "eth0")
        self.ns(self.c, "ip", "link", "set", "eth0", "up")
        self.ns(self.c, "ip", "route", "add", "default", "via", "198.51.100.1")
        for lb in (self.lb1, self.lb2):
            self.start_nginx(lb)

    def start_nginx(self, lb):
        name = lb.rsplit("-", 1)[1]
        d = self.tmp / name
        (d / "tmp").mkdir(parents=True, exist_ok=True)
        (d / "nginx.conf").write_text(
            f"pid {d}/nginx.pid; error_log {d}/error.log warn; daemon off; master_process off;\n"
            "events { worker_connections 256; }\n"
            f"http {{ access_log off; client_body_temp_path {d}/tmp/b; proxy_temp_path {d}/tmp/p;\n"
            f" fastcgi_temp_path {d}/tmp/f; uwsgi_temp_path {d}/tmp/u; scgi_temp_path {d}/tmp/s;\n"
            f" keepalive_timeout 60s; keepalive_requests 100000;\n"
            f" server {{ listen 80; location = /healthz {{ return 200 \"ok\\n\"; }}\n"
            f"   location / {{ default_type text/plain; return 200 \"{name}\"; }} }} }}\n")
        p = subprocess.Popen(["ip", "netns", "exec", lb, NGINX, "-p", str(d), "-c", str(d / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.nginx[lb] = p
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.ns(lb, "python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 80), 0.2)",
                       check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"nginx in {lb} did not come up")

    def kill_nginx(self, lb):
        p = self.nginx.pop(lb, None)
        if p:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=5)

    def start_daemon(self):
        port = 9400 + os.getpid() % 500
        self.metrics = f"127.0.0.1:{port}"
        argv = ["ip", "netns", "exec", self.gw, self.a.daemon, "--policy", str(self.pol), "--socket", str(self.sock),
                "--state-dir", str(self.state), "--metrics", self.metrics, "--no-journal", "--drift-interval", "0"]
        self.log = open(self.tmp / "bulwarkd.log", "a")
        self.daemon = subprocess.Popen(argv, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("bulwarkd exited: " + (self.tmp / "bulwarkd.log").read_text()[-800:])
            if self.sock.exists() and self.ctl("status", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("bulwarkd did not come up")

    def ctl(self, *argv, check=True):
        return run([self.a.ctl, "--socket", str(self.sock), *map(str, argv)], check=check, timeout=60)

    def cleanup(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
        for lb in list(self.nginx):
            self.kill_nginx(lb)
        for n in (self.gw, self.c, self.lb1, self.lb2):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- witnesses ------------------------------------------------------------------------------
    def table(self):
        return json.loads(self.ns(self.gw, "nft", "-j", "list", "table", "inet", "bulwark").stdout)["nftables"]

    def handles(self):
        """Every chain, rule and set handle of the table: a replacement changes all of them."""
        out = {}
        for o in self.table():
            for kind in ("table", "chain", "rule", "set", "map"):
                if kind in o:
                    x = o[kind]
                    out[(kind, x.get("chain", ""), x.get("name", ""), x.get("handle"))] = x.get("handle")
        return out

    def map_target(self, name="dnat4_vip"):
        for o in self.table():
            if "map" in o and o["map"]["name"] == name:
                return [e[1] for e in o["map"].get("elem", [])]
        return None

    def audit(self):
        f = self.state / "audit.log"
        return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []

    def requests(self, vip, secs, gap=0.05, mode="new"):
        return subprocess.Popen(["ip", "netns", "exec", self.c, sys.executable, "-c", CLIENT, vip, str(secs), str(gap),
                                 mode], stdout=subprocess.PIPE, text=True)

    @staticmethod
    def results(p):
        out, _ = p.communicate(timeout=60)
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def wait_state(self, host, state, limit=10.0):
        deadline = time.time() + limit
        while time.time() < deadline:
            m = self.ns(self.gw, "python3", "-c",
                        f"import urllib.request; print(urllib.request.urlopen('http://{self.metrics}/metrics', timeout=5).read().decode())",
                        check=False).stdout
            want = f'bulwark_health_state{{check="lb-http",host="{host}"}} {state}'
            if want in m:
                return m
            time.sleep(0.1)
        raise Failed(f"{host} did not reach health state {state} within {limit} s")


def failover_once(lab):
    """Kill lb1's nginx during a stream of new connections; seconds until lb2 serves one."""
    lab.wait_state("lb1", 1)
    p = lab.requests("203.0.113.10", 4.0)
    time.sleep(0.5)
    killed = time.monotonic()
    lab.kill_nginx(lab.lb1)
    res = Lab.results(p)
    # An attempt in flight when nginx is killed may fail: it counts neither before nor after.
    before = [r for r in res if r["done"] < killed]
    after = [r for r in res if r["t"] >= killed]
    expect(before and all(r["lb"] == "lb1" for r in before), f"before the kill every new connection went to lb1 ({len(before)})")
    first_lb2 = next((r["t"] - killed for r in after if r["lb"] == "lb2"), None)
    failed = sum(1 for r in after if r["lb"] is None)
    expect(first_lb2 is not None, "after the kill new connections reach lb2")
    expect(all(r["lb"] == "lb2" for r in after if r["t"] >= killed + first_lb2), "and all later ones go to lb2")
    print(f"run: first new connection via lb2 {first_lb2:.3f} s after lb1 died; {failed} attempt(s) failed meanwhile",
          flush=True)
    return first_lb2, failed


def test(lab, runs):
    lab.start_daemon()
    st = json.loads(lab.ctl("--json", "status").stdout)
    kinds = {k["kind"]: k["state"] for k in st["kinds"]}
    expect(kinds.get("firewall") == "ok" and kinds.get("health") == "ok", f"daemon up with firewall and health kinds ({kinds})")
    lab.wait_state("lb1", 1)
    lab.wait_state("lb2", 1)
    expect(lab.map_target() == ["10.1.0.11"], "the failover map names lb1")

    # balance spreads new connections over both
    res = Lab.results(lab.requests("203.0.113.20", 1.0, 0.05))
    seen = {r["lb"] for r in res}
    expect(seen == {"lb1", "lb2"}, f"balance: new connections reach both backends ({len(res)} connections: {sorted(map(str, seen))})")

    handles = lab.handles()
    keep = lab.requests("203.0.113.10", 12.0, 0.2, "keep")  # an established connection on lb1 ...
    times = []
    for i in range(runs):
        t, failed = failover_once(lab)
        times.append(t)
        expect(t <= 3.0, f"new connections succeed via lb2 within 3 s of lb1's death ({t:.3f} s; fall time {FALL_S:.1f} s + interval)")
        lab.wait_state("lb1", 2)
        expect(lab.map_target() == ["10.1.0.12"], "the map names lb2")
        expect(lab.handles() == handles, "no chain, rule, set or table was replaced (every handle unchanged)")
        res = Lab.results(lab.requests("203.0.113.20", 0.6, 0.05))
        expect(res and all(r["lb"] == "lb2" for r in res), "balance: with lb1 down every new connection goes to lb2")
        if i == 0:
            # drift repair must keep the health state: a foreign rule makes the daemon re-apply
            lab.ns(lab.gw, "nft", "add", "rule", "inet", "bulwark", "forward", "counter")
            deadline = time.time() + 10
            while time.time() < deadline and not any(e["event"] == "drift-repaired" for e in lab.audit()):
                time.sleep(0.1)
            expect(any(e["event"] == "drift-repaired" for e in lab.audit()), "a foreign edit was repaired")
            expect(lab.map_target() == ["10.1.0.12"], "drift repair kept the map on lb2 (the health state)")
            handles = lab.handles()  # the repair replaced the table
            down = [e for e in lab.audit() if e["event"] == "health-down"]
            expect(down and "dnat4_vip now lb2" in down[-1]["summary"], f"audited: {down[-1]['summary'] if down else None}")
            m = lab.wait_state("lb1", 2)
            expect('bulwark_health_up{check="lb-http",host="lb1"} 0' in m and
                   'bulwark_dnat_backend_active{map="dnat4_vip",backend="lb2"} 1' in m, "metrics say lb1 down, lb2 active")
        # lb1 comes back: new connections return to it, established ones on lb2 keep going
        lab.start_nginx(lab.lb1)
        lab.wait_state("lb1", 1)
        expect(lab.map_target() == ["10.1.0.11"], "lb1 rose again: the map names lb1")
        res = Lab.results(lab.requests("203.0.113.10", 0.5, 0.05))
        expect(res and all(r["lb"] == "lb1" for r in res), "failback: new connections go to lb1 again")
        expect(lab.handles() == handles, "failback was an element update too")
    kept = Lab.results(keep)
    switched = [r for r in kept if r["lb"] == "lb2"]
    errors = [r for r in kept if r["lb"] is None]
    # The keep-alive connection was on lb1 and died with it; the client's job is to reconnect.
    print(f"keep-alive connection: {len(kept)} requests, {len(errors)} error(s) after lb1 died", flush=True)
    up = [e for e in lab.audit() if e["event"] == "health-up"]
    expect(any("dnat4_vip now lb1" in e["summary"] for e in up), "the failback is audited")
    if runs > 1:
        print("failover times (s): " + ", ".join(f"{t:.3f}" for t in times), flush=True)

    # an established connection through lb2 survives lb1's return (failover mode)
    lab.kill_nginx(lab.lb1)
    lab.wait_state("lb1", 2)
    keep2 = lab.requests("203.0.113.10", 3.0, 0.2, "keep")
    time.sleep(0.6)
    lab.start_nginx(lab.lb1)
    lab.wait_state("lb1", 1)
    res = Lab.results(keep2)
    expect(res and all(r["lb"] == "lb2" for r in res), f"an established connection via lb2 kept going through lb1's return ({len(res)} requests)")

    # a restart keeps the health state: with lb1 down, bulwarkd is killed and started again. The
    # table it adopts has both maps on lb2, and it must not send new connections back to lb1
    # until lb1's check rises again (before, it wrote "every backend up" and lb1's fall time later
    # moved the maps back: new connections failed meanwhile).
    lab.kill_nginx(lab.lb1)
    lab.wait_state("lb1", 2)
    expect(lab.map_target() == ["10.1.0.12"], "lb1 down: the failover map names lb2")
    lab.daemon.send_signal(signal.SIGKILL)
    lab.daemon.wait(timeout=10)
    p = lab.requests("203.0.113.10", 2.5, 0.05)
    lab.start_daemon()
    seen = set()
    deadline = time.time() + 1.5  # lb1's fall time (0.6 s) and more
    while time.time() < deadline:
        seen.add((tuple(lab.map_target() or []), tuple(lab.map_target("dnat4_spread") or [])))
        time.sleep(0.05)
    res = Lab.results(p)
    expect(seen == {(("10.1.0.12",), ("10.1.0.12", "10.1.0.12"))},
           f"the restarted daemon kept both maps on lb2 (seen: {sorted(seen)})")
    missed = [r for r in res if r["lb"] != "lb2"]
    expect(res and not missed, f"every new connection during the restart reached lb2 ({len(res)}, {len(missed)} not)")
    log = (lab.tmp / "bulwarkd.log").read_text()
    expect("taken from the table found in the kernel: dnat4_vip stays on lb2" in log and
           "lb1 counted down until check lb-http rises" in log, "the daemon says it took the maps from the kernel")
    lab.wait_state("lb1", 2)
    lab.start_nginx(lab.lb1)
    lab.wait_state("lb1", 1)
    expect(lab.map_target() == ["10.1.0.11"], "lb1 rose: the restarted daemon fails the map back to lb1")

    # bad input: a check whose timeout is not below its interval; nothing changes
    bad = lab.tmp / "bad.yaml"
    bad.write_text(POLICY.replace("timeout: 150ms", "timeout: 250ms"))
    cp = run([lab.a.ctl, "validate", str(bad)], check=False)
    expect(cp.returncode == 1 and "bad.yaml:10:" in cp.stderr and "not below its interval" in cp.stderr,
           f"validate refuses it with file:line:col: {cp.stderr.strip().splitlines()[0] if cp.stderr else ''}")
    ruleset = lambda: strip(json.loads(lab.ns(lab.gw, "nft", "-j", "list", "ruleset").stdout))  # noqa: E731
    before = ruleset()
    cp = lab.ctl("apply", str(bad), check=False)
    expect(cp.returncode != 0, "the daemon refuses to apply it")
    after = ruleset()
    changed = [json.dumps(x) for x in after if x not in before] + [json.dumps(x) for x in before if x not in after]
    if not changed and after != before:
        changed = [f"{i}: {json.dumps(a)[:300]} | {json.dumps(b)[:300]}" for i, (a, b) in
                   enumerate(zip(after["nftables"], before["nftables"])) if a != b] + [len(after["nftables"]), len(before["nftables"])]
    expect(after == before, f"and the ruleset is unchanged {changed[:6]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return 77
    if not os.access(NGINX, os.X_OK):
        print("SKIP: nginx missing (tools/packages.txt: nginx-light)")
        return 77
    lab = Lab(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        lab.setup()
    except Exception as e:  # noqa: BLE001 - the setup broke: say so, exit 2
        print(f"SETUP FAILED: {e}")
        lab.cleanup()
        return 2
    try:
        test(lab, a.runs)
        print("1 passed, 0 failed")
        return 0
    except (Failed, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"FAILED: {e}")
        print("daemon log:\n" + (lab.tmp / "bulwarkd.log").read_text()[-3000:] if (lab.tmp / "bulwarkd.log").exists() else "")
        return 1
    finally:
        lab.cleanup()


if __name__ == "__main__":
    sys.exit(main())
