#!/usr/bin/python3
"""Revocation with real traffic: bulwarkd cuts the established connections an apply no longer
allows, and only those.

    revocation_netns.py --daemon BULWARKD --ctl BULWARKCTL

Topology (namespaces "<prefix>-gw/-c/-s", removed at the end, also after a failure):
    <prefix>-c  eth0 198.51.100.7, .8 /24       ── up0  <prefix>-gw  dmz0 10.1.0.1/24 ── eth0 10.1.0.11  <prefix>-s
                     2001:db8:1::7, ::8 /64                          2001:db8:10::1/64      2001:db8:10::11
Source A (198.51.100.7, 2001:db8:1::7) and source B (.8, ::8) each hold 12 long-lived TCP
streams to the server (port 9000; the server sends 256 bytes every 20 ms on each): 4 to
10.1.0.11, 4 through the VIP 203.0.113.10 (DNAT to 10.1.0.11), 4 over IPv6. Steps:

  1. plan of the policy without A's allow: 12 connections to cut, all of them A's;
  2. apply --keep-established of it: A's streams keep flowing; apply of the old policy again
     (it widens: nothing cut);
  3. apply without A's allow: the reply says 12 cut (= the plan's count); A's streams get no
     byte more within 1 s; every one of B's keeps flowing (no reset, no gap over 1 s);
  4. nft as witness after each apply; audit `revoke` entry; bulwark_revoked_connections_total;
  5. the daemon stopped, new streams: `bulwarkctl plan --direct` counts A's 12 and `apply
     --direct` cuts them, B's keep flowing (nft as witness).
  6. --direct, A and B in one rule's address sets: A leaving is element updates that cut A's
     12 (B's keep flowing); A joining again is element updates that only widen: the reply
     says so and the connection table is not read.

Exit 0 all passed, 1 a check failed, 2 the setup broke, 77 not root.
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
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "lab" / "netns"))
import nft_witness  # noqa: E402  (lab/netns/nft_witness.py)

A4, B4, A6, B6 = "198.51.100.7", "198.51.100.8", "2001:db8:1::7", "2001:db8:1::8"
SERVER4, SERVER6, VIP = "10.1.0.11", "2001:db8:10::11", "203.0.113.10"
PER_KIND = 4  # streams per source and kind (v4, VIP, v6)

POLICY = """\
gateway: { uplink: up0 }
segments:
  - name: dmz
    interface: dmz0
    ipv4: { subnet: 10.1.0.0/24, gateway: 10.1.0.1 }
    ipv6: { subnet: 2001:db8:10::/64, gateway: 2001:db8:10::1 }
hosts:
  - { name: srv, segment: dmz, addresses: [10.1.0.11, 2001:db8:10::11] }
services:
  - { name: stream, ports: [tcp/9000] }
rules:
{rules}
nat:
  dnat:
    - { name: vip, vip: 203.0.113.10, service: stream, to: [srv] }
"""
RULE_A = "  - { name: from-a, from: [198.51.100.7, 2001:db8:1::7], to: srv, services: [stream], action: allow }\n"
RULE_B = "  - { name: from-b, from: [198.51.100.8, 2001:db8:1::8], to: srv, services: [stream], action: allow }\n"
# Step 6: A and B in one rule; 198.51.100.9 and 2001:db8:1::9 (no client) keep each set at two
# addresses or more without A, so A's leaving and joining are set element changes.
RULE_SHARED = ("  - {{ name: shared, from: [{a4}198.51.100.8, 198.51.100.9, {a6}2001:db8:1::8, 2001:db8:1::9], "
               "to: srv, services: [stream], action: allow }}\n")

# The server: every accepted connection gets 256 bytes every 20 ms until it breaks.
SERVER = r"""
import socket, threading, time
def feed(c):
    try:
        while True:
            c.sendall(b"x" * 256)
            time.sleep(0.02)
    except OSError:
        pass
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 9000)); s.listen(128)
while True:
    c, _ = s.accept()
    threading.Thread(target=feed, args=(c,), daemon=True).start()
"""

# The client: the streams of both sources; every receive time per stream (monotonic, the
# same clock as the test's), and how each ended. Runs until stdin closes; then one JSON line.
CLIENT = r"""
import json, selectors, socket, sys, time, threading
A4, B4, A6, B6, S4, S6, VIP, n = sys.argv[1:9]
sel = selectors.DefaultSelector()
streams = []
for src, dst in ((A4, S4), (A4, VIP), (A6, S6), (B4, S4), (B4, VIP), (B6, S6)):
    for _ in range(int(n)):
        fam = socket.AF_INET6 if ":" in src else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.settimeout(5)
        s.connect((dst, 9000))
        s.setblocking(False)
        st = {"src": src, "dst": dst, "sport": s.getsockname()[1], "rx": [], "bytes": 0, "end": None}
        streams.append(st)
        sel.register(s, selectors.EVENT_READ, st)
print("ready", flush=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.is_set():
    for key, _ in sel.select(0.1):
        st = key.data
        try:
            data = key.fileobj.recv(65536)
        except ConnectionResetError:
            st["end"] = ["reset", time.monotonic()]; sel.unregister(key.fileobj); continue
        except OSError as e:
            st["end"] = [str(e), time.monotonic()]; sel.unregister(key.fileobj); continue
        if not data:
            st["end"] = ["eof", time.monotonic()]; sel.unregister(key.fileobj); continue
        st["bytes"] += len(data)
        st["rx"].append(round(time.monotonic(), 4))
print(json.dumps(streams), flush=True)
"""


class Failed(Exception):
    pass


def run(argv, timeout=60, check=True, **kw):
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} -> {cp.returncode}: {cp.stderr.strip()[:600]}")
    return cp


def expect(cond, what):
    if not cond:
        raise Failed(what)
    print(f"ok: {what}", flush=True)


class Lab:
    def __init__(self, a):
        self.a = a
        self.prefix = f"bwr{os.getpid() % 100000}"
        self.gw, self.c, self.s = (f"{self.prefix}-{x}" for x in ("gw", "c", "s"))
        self.tmp = Path(tempfile.mkdtemp(prefix="bulwark-revoke-"))
        self.pol = self.tmp / "policy"
        self.pol.mkdir()
        self.sock = self.tmp / "control.sock"
        self.state = self.tmp / "state"
        self.procs = []
        self.daemon = None
        self.client = None

    def ns(self, n, *argv, **kw):
        return run(["ip", "netns", "exec", n, *map(str, argv)], **kw)

    def write_policy(self, path, rules):
        Path(path).write_text(POLICY.replace("{rules}", rules))

    def setup(self):
        for n in (self.gw, self.c, self.s):
            run(["ip", "netns", "add", n])
            self.ns(n, "ip", "link", "set", "lo", "up")
        run(["ip", "link", "add", "up0", "netns", self.gw, "type", "veth", "peer", "name", "eth0", "netns", self.c])
        run(["ip", "link", "add", "dmz0", "netns", self.gw, "type", "veth", "peer", "name", "eth0", "netns", self.s])
        for n in (self.gw, self.c, self.s):
            self.ns(n, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0")
            self.ns(n, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        gw = [("up0", "198.51.100.1/24"), ("up0", "2001:db8:1::1/64"), ("dmz0", "10.1.0.1/24"),
              ("dmz0", "2001:db8:10::1/64")]
        for dev, addr in gw:
            self.ns(self.gw, "ip", "addr", "add", addr, "dev", dev, *(["nodad"] if ":" in addr else []))
        for l in ("up0", "dmz0"):
            self.ns(self.gw, "ip", "link", "set", l, "up")
        self.ns(self.gw, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.ns(self.gw, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        for addr in (f"{A4}/24", f"{B4}/24", f"{A6}/64", f"{B6}/64"):
            self.ns(self.c, "ip", "addr", "add", addr, "dev", "eth0", *(["nodad"] if ":" in addr else []))
        self.ns(self.c, "ip", "link", "set", "eth0", "up")
        self.ns(self.c, "ip", "route", "add", "default", "via", "198.51.100.1")
        self.ns(self.c, "ip", "-6", "route", "add", "default", "via", "2001:db8:1::1")
        self.ns(self.s, "ip", "addr", "add", f"{SERVER4}/24", "dev", "eth0")
        self.ns(self.s, "ip", "addr", "add", f"{SERVER6}/64", "dev", "eth0", "nodad")
        self.ns(self.s, "ip", "link", "set", "eth0", "up")
        self.ns(self.s, "ip", "route", "add", "default", "via", "10.1.0.1")
        self.ns(self.s, "ip", "-6", "route", "add", "default", "via", "2001:db8:10::1")

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def start_daemon(self):
        self.write_policy(self.pol / "policy.yaml", RULE_A + RULE_B)
        self.metrics = f"127.0.0.1:{9000 + os.getpid() % 500}"
        argv = ["ip", "netns", "exec", self.gw, self.a.daemon, "--policy", str(self.pol), "--socket", str(self.sock),
                "--state-dir", str(self.state), "--metrics", self.metrics, "--no-journal", "--drift-interval", "0",
                "--no-links"]
        self.log = open(self.tmp / "bulwarkd.log", "a")
        self.daemon = self.start(argv, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("bulwarkd exited: " + (self.tmp / "bulwarkd.log").read_text()[-800:])
            if self.sock.exists() and self.ctl("status", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("bulwarkd did not come up")

    def start_traffic(self):
        self.start(["ip", "netns", "exec", self.s, sys.executable, "-c", SERVER],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while self.ns(self.s, "python3", "-c", "import socket; socket.create_connection(('::1', 9000), 0.2)",
                      check=False).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError("the stream server did not come up")
            time.sleep(0.05)
        self.start_client()

    def start_client(self):
        self.client = self.start(["ip", "netns", "exec", self.c, sys.executable, "-c", CLIENT, A4, B4, A6, B6,
                                  SERVER4, SERVER6, VIP, str(PER_KIND)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.client.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("the stream client did not connect: " + line + self.client.stderr.read()[-400:])

    def stop_traffic(self):
        self.client.stdin.close()
        out = self.client.stdout.read()
        self.client.wait(timeout=10)
        return json.loads(out.strip().splitlines()[-1])

    def ctl(self, *argv, check=True):
        return run([self.a.ctl, "--socket", str(self.sock), *map(str, argv)], check=check, timeout=60)

    def ctl_json(self, *argv):
        return json.loads(self.ctl("--json", *argv).stdout)

    def witness(self, policy):
        problems = nft_witness.check(self.gw, ctl=self.a.ctl, policy=str(policy))
        expect(not problems, "nft as witness: the kernel holds what render says, and nft reloads its listing" +
               ("" if not problems else ": " + "; ".join(problems[:3])))

    def metric(self, name):
        time.sleep(0.3)  # a scrape may be served a snapshot up to 250 ms old (MetricsEndpoint::kMaxAge)
        text = self.ns(self.gw, "python3", "-c",
                       f"import urllib.request; print(urllib.request.urlopen('http://{self.metrics}/metrics', "
                       "timeout=5).read().decode())").stdout
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def audit(self):
        f = self.state / "audit.log"
        return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []

    def conntrack(self, src):
        out = self.ns(self.gw, "conntrack", "-L", "-s", src, check=False)
        return [l for l in out.stdout.splitlines() if "dport=9000" in l]

    def cleanup(self):
        if self.client and self.client.poll() is None:
            try:
                self.client.stdin.close()
            except OSError:
                pass
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        for n in (self.gw, self.c, self.s):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def max_gap(rx, start, end):
    """The longest time without a receive in [start, end] (the window's edges count)."""
    times = [start] + [t for t in rx if start <= t <= end] + [end]
    return max(b - a for a, b in zip(times, times[1:]))


def a_cut_b_kept(lab, t_apply, t_done, what):
    """Stops the streams: A's got their last byte within 1 s of the command that cut them (done at
    t_done), B's kept flowing from 1 s before it (t_apply) to now."""
    t_end = time.monotonic()
    streams = lab.stop_traffic()
    a_s = [s for s in streams if s["src"] in (A4, A6)]
    b_s = [s for s in streams if s["src"] in (B4, B6)]
    expect(all(s["rx"] and max(s["rx"]) < t_done + 1.0 for s in a_s),
           f"{what}: every stream of A got its last byte within 1 s of the command's exit")
    worst = max(max_gap(s["rx"], t_apply - 1.0, t_end) for s in b_s)
    expect(all(s["end"] is None for s in b_s) and worst < 1.0,
           f"{what}: every stream of B kept flowing (longest gap {worst:.3f} s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("skipped: needs root (network namespaces)")
        return 77
    lab = Lab(a)
    try:
        lab.setup()
        lab.start_daemon()
        lab.start_traffic()
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        print(f"setup failed: {e}", file=sys.stderr)
        lab.cleanup()
        return 2
    try:
        without_a = lab.tmp / "without-a.yaml"
        with_both = lab.tmp / "both.yaml"
        lab.write_policy(without_a, RULE_B)
        lab.write_policy(with_both, RULE_A + RULE_B)
        a_streams, b_streams = 3 * PER_KIND, 3 * PER_KIND
        time.sleep(1.0)
        lab.witness(lab.pol / "policy.yaml")

        # 1. plan: what the change would cut.
        plan = lab.ctl_json("plan", without_a)
        fw = next(k for k in plan["kinds"] if k["kind"] == "firewall")
        rev = fw.get("revocation") or {}
        expect(rev.get("dry_run") and rev.get("to_cut") == a_streams,
               f"plan: the change cuts {a_streams} live connections (says {rev.get('to_cut')})")
        expect(all(f.split()[1].startswith((A4 + ":", f"[{A6}]:")) for f in rev.get("flows", [])),
               "plan: every connection it names is source A's")
        expect(len(lab.conntrack(A4)) == 2 * PER_KIND, "nothing was cut by the plan (conntrack -L)")
        # Run from an SSH session that is one of A's streams: the plan counts it out, as the
        # apply would spare it.
        one = next(l for l in lab.conntrack(A4) if f"dst={SERVER4} " in l).split()
        sport = next(f.split("=")[1] for f in one if f.startswith("sport="))
        env = dict(os.environ, SSH_CONNECTION=f"{A4} {sport} {SERVER4} 9000")
        plan = json.loads(run([lab.a.ctl, "--socket", str(lab.sock), "--json", "plan", str(without_a)], env=env).stdout)
        rev = next(k for k in plan["kinds"] if k["kind"] == "firewall").get("revocation") or {}
        expect(rev.get("to_cut") == a_streams - 1 and rev.get("spared") == 1,
               f"plan from an SSH session of A's: {a_streams - 1} to cut, the session spared (to_cut {rev.get('to_cut')}, "
               f"spared {rev.get('spared')})")

        # 2. --keep-established keeps them; widening again cuts nothing.
        t_keep = time.monotonic()
        kept = lab.ctl_json("apply", "--keep-established", without_a)
        expect(kept.get("revocation") == {"kept": True}, "apply --keep-established: the reply says kept")
        time.sleep(1.5)
        t_keep_end = time.monotonic()
        lab.witness(without_a)
        back = lab.ctl_json("apply", with_both)
        expect(back.get("revocation", {}).get("to_cut", 0) == 0, "apply of the wider policy cuts nothing")
        expect(len(lab.audit()) > 0 and any(e["event"] == "revoke-skipped" for e in lab.audit()),
               "audit: revoke-skipped for --keep-established")

        # 3. The cut.
        plan = lab.ctl_json("plan", without_a)
        planned = next(k for k in plan["kinds"] if k["kind"] == "firewall")["revocation"]["to_cut"]
        t_apply = time.monotonic()
        applied = lab.ctl_json("apply", without_a)
        t_done = time.monotonic()
        rev = applied.get("revocation", {})
        expect(rev.get("cut") == a_streams == planned,
               f"apply cut {rev.get('cut')} connections = the plan's count {planned}")
        print(f"revocation: dump {rev.get('dump_ms')} ms, judge {rev.get('judge_ms')} ms, delete "
              f"{rev.get('delete_ms')} ms; apply request {1000 * (t_done - t_apply):.0f} ms", flush=True)
        lab.witness(without_a)
        expect(len(lab.conntrack(A4)) == 0, "conntrack -L: no entry of source A is left")
        expect(len(lab.conntrack(B4)) == 2 * PER_KIND, "conntrack -L: source B's entries are all there")
        time.sleep(2.5)
        t_end = time.monotonic()
        streams = lab.stop_traffic()

        a_s = [s for s in streams if s["src"] in (A4, A6)]
        b_s = [s for s in streams if s["src"] in (B4, B6)]
        expect(len(a_s) == a_streams and len(b_s) == b_streams, "24 streams, 12 per source")
        expect(all(max_gap(s["rx"], t_keep, t_keep_end) < 1.0 for s in a_s),
               "--keep-established: every stream of A kept flowing (no gap of 1 s)")
        last_a = max(max(s["rx"]) for s in a_s)
        expect(all(s["rx"] and max(s["rx"]) < t_done + 1.0 for s in a_s),
               f"every stream of A got its last byte within 1 s of the apply's reply "
               f"(the last at {last_a - t_done:+.3f} s)")
        # What the client sees: the server's next segments arrive at the gateway without a
        # conntrack entry, are not SYNs, and are dropped (new must be SYN): a stall, no reset.
        ends = sorted({(s["end"] or ["stall"])[0] for s in a_s})
        expect(ends == ["stall"], f"source A's streams stall (the client saw: {', '.join(ends)})")
        expect(all(s["end"] is None for s in b_s), "no stream of B was reset or closed")
        worst = max(max_gap(s["rx"], t_apply - 1.0, t_end) for s in b_s)
        expect(worst < 1.0, f"every stream of B kept flowing through the cut (longest gap {worst:.3f} s)")
        expect(all(max(s["rx"]) > t_end - 0.5 for s in b_s), "B's streams still receive at the end")

        # 4. Audit and metrics.
        entries = [e for e in lab.audit() if e["event"] == "revoke"]
        expect(len(entries) == 1 and entries[0]["detail"]["cut"] == a_streams and
               len(entries[0]["detail"]["flows"]) == 5, "audit: one revoke entry, 12 cut, the first 5 flows named")
        expect(lab.metric("bulwark_revoked_connections_total") == a_streams,
               "metric bulwark_revoked_connections_total counts them")
        bad = lab.ctl("apply", without_a, check=False)  # unchanged: in sync, nothing more to cut
        expect(bad.returncode == 0 and lab.metric("bulwark_revoked_connections_total") == a_streams,
               "an apply in sync cuts nothing more")

        # 5. Without the daemon: `bulwarkctl apply --direct` cuts the same way.
        lab.daemon.send_signal(signal.SIGTERM)
        lab.daemon.wait(timeout=10)
        direct = lambda *argv: lab.ns(lab.gw, lab.a.ctl, *map(str, argv))  # noqa: E731
        direct("apply", "--direct", "--only", "firewall", with_both)
        lab.start_client()
        time.sleep(1.0)
        planned = direct("plan", "--direct", "--only", "firewall", without_a).stdout
        said = lambda out: next((l for l in out.splitlines() if l.startswith("connections:")), "")  # noqa: E731
        expect(f"the change cuts {a_streams} live connection(s)" in planned, f"plan --direct: {said(planned)}")
        t_apply = time.monotonic()
        out = direct("apply", "--direct", "--only", "firewall", without_a).stdout
        t_done = time.monotonic()
        expect(f"cut {a_streams} established connection(s)" in out, f"apply --direct: {said(out)}")
        lab.witness(without_a)
        # The first client's closed streams linger in conntrack (TIME_WAIT): count the live ones.
        live = lambda src: [l for l in lab.conntrack(src) if "ESTABLISHED" in l]  # noqa: E731
        expect(len(live(A4)) == 0 and len(live(B4)) == 2 * PER_KIND,
               f"conntrack -L: none of source A's live entries left ({len(live(A4))}), all of B's there "
               f"({len(live(B4))})")
        time.sleep(2.0)
        a_cut_b_kept(lab, t_apply, t_done, "apply --direct")

        # 6. Set element changes (--direct): A and B in one rule's sets, with a third address so
        # that neither set becomes one inline address. A leaving is element removals: judged,
        # A's streams cut; A joining again is element additions: it only widens, nothing read.
        # One file name for both: a rule's kernel comment holds its file and line.
        shared, shared_no_a = lab.tmp / "shared" / "policy.yaml", lab.tmp / "shared-no-a" / "policy.yaml"
        shared.parent.mkdir()
        shared_no_a.parent.mkdir()
        lab.write_policy(shared, RULE_SHARED.format(a4=A4 + ", ", a6=A6 + ", "))
        lab.write_policy(shared_no_a, RULE_SHARED.format(a4="", a6=""))
        direct("apply", "--direct", "--only", "firewall", shared)
        lab.start_client()
        time.sleep(1.0)
        t_apply = time.monotonic()
        out = direct("apply", "--direct", "--only", "firewall", shared_no_a).stdout
        t_done = time.monotonic()
        expect("set element" in out and f"cut {a_streams} established connection(s)" in out,
               f"A leaving the rule's sets: element updates that cut A's {a_streams} streams ({said(out)})")
        lab.witness(shared_no_a)
        out = direct("apply", "--direct", "--only", "firewall", shared).stdout
        expect("set element" in out and "none cut: it only widens what the policy allows" in out,
               f"A joining the sets again: element updates, the connection table not read ({said(out)})")
        lab.witness(shared)
        time.sleep(1.5)
        a_cut_b_kept(lab, t_apply, t_done, "element changes")
        return 0
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        try:
            print((lab.tmp / "bulwarkd.log").read_text()[-2000:], file=sys.stderr)
        except OSError:
            pass
        return 1
    finally:
        lab.cleanup()


if __name__ == "__main__":
    sys.exit(main())
