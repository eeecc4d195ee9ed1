#!/usr/bin/python3
"""Issue 14's attacks on bulwarkd's control API, replayed against a real daemon in network
namespaces by real local users of each role and by TLS clients with certificates of each
role, asserting the fixed behaviour.

    attack_netns.py --daemon BULWARKD --ctl BULWARKCTL --runner RUN_BULWARKD_SH
                    [--only NAME] [--full] [--baseline] [--latency-ms 50] [--report FILE]

Everything is created here and removed at the end, also after a failure or a signal:
  * namespaces <prefix>-gw (the daemon, its interfaces lan0/srv0/up0) and <prefix>-c (the
    management side: TLS clients, and 16 extra source addresses for the handshake flood);
  * users and groups (unique names): the daemon's own user <prefix>d, and clients with no role
    (<prefix>n), the view role (<prefix>v, group <prefix>view) and the change role (<prefix>c,
    group <prefix>chg); the daemon runs with --view-group/--change-group naming those groups;
  * a PKI made by `bulwarkctl pki` (certificates for groups netops = change, auditors = view,
    dba = no role), its private/ dir 0710 with the daemon's group (gateway.key 0640);
  * the daemon, started by gateway/systemd/run-bulwarkd.sh as <prefix>d with CAP_NET_ADMIN only.

For every attack a prober (root, the change role, its own connection) sends `status` every
5 ms, timed from when it was due, so a stalled loop shows as latency; p50/p99/max are printed.
With --rt (ctest passes it) the daemon's loop and the prober run SCHED_FIFO: on a shared
2-core machine with a load of 15 the scheduler alone delays a normal process by 100 ms and
more, which says nothing about the daemon; its workers lower themselves to SCHED_OTHER, so the
policy compile still competes with everything else.
After every attack: the daemon is alive, the ruleset is what it was (`nft -j list ruleset`
without handles and with zeroed counters), and the daemon's peak RSS is printed.

--full: the figures of docs/security.md (a 12.5 MB policy, a 20 s newline flood; run it on a
release build). --baseline: measure only, assert nothing, restart a daemon that died (for the
"before" column: main's bulwarkd, started as root; --runner is then not needed).

Exit 0 all passed, 1 a check failed, 2 the setup broke, 77 not root.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

PORT = 9443
ADDR = "10.1.0.1"
SERVER_NAME = "gw.test"
PASSWORD = "security-test-password"
POLICY = f"""gateway:
  uplink: up0
  control: {{ listen: {ADDR}, port: {PORT}, change: netops, view: auditors }}
segments:
  - name: lan
    interface: lan0
    ipv4: {{ subnet: 10.1.0.0/16, gateway: 10.1.0.1 }}
  - name: srv
    interface: srv0
    ipv4: {{ subnet: 10.2.0.0/24, gateway: 10.2.0.1 }}
hosts:
  - {{ name: client, segment: lan, addresses: [10.1.0.10] }}
  - {{ name: server, segment: srv, addresses: [10.2.0.10] }}
rules:
  - name: lan-to-srv
    from: [client]
    to: server
    services: [tcp/7000]
    action: allow
"""
EXTRA_RULE = """  - name: lan-to-srv-https
    from: [lan]
    to: srv
    services: [tcp/443]
    action: allow
"""


class Failed(Exception):
    pass


class Setup(Exception):
    pass


def run(argv, timeout=60, check=True, **kw):
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise Setup(f"{' '.join(map(str, argv))} -> {cp.returncode}: {cp.stderr.strip()[:400]}")
    return cp


def strip(obj):
    """nft -j output without handles and with counters zeroed."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "handle":
                continue
            if k == "counter" and isinstance(v, dict):
                out[k] = {kk: 0 if kk in ("packets", "bytes") else vv for kk, vv in v.items()}
                continue
            out[k] = strip(v)
        return out
    if isinstance(obj, list):
        return [strip(x) for x in obj]
    return obj


def big_policy(target_bytes):
    """A valid policy of about target_bytes: hosts in groups of 100, one rule per group."""
    out = [POLICY.split("hosts:")[0].replace("10.1.0.0/16", "10.1.0.0/16"),
           "  - name: many\n    interface: srv1\n    ipv4: { subnet: 10.64.0.0/10, gateway: 10.64.0.1 }\n", "hosts:\n",
           "  - { name: client, segment: lan, addresses: [10.1.0.10] }\n",
           "  - { name: server, segment: srv, addresses: [10.2.0.10] }\n"]
    rules = ["rules:\n"]
    size, i, g = sum(map(len, out)), 0, 0
    while size < target_bytes:
        names = []
        for _ in range(100):
            a = 10 * 2**24 + 64 * 2**16 + 10 + i
            line = f"  - {{ name: h{i:06d}, segment: many, addresses: [{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}] }}\n"
            out.append(line)
            names.append(f"h{i:06d}")
            size += len(line)
            i += 1
        rule = (f"  - name: g{g:05d}\n    from: [{', '.join(names)}]\n    to: server\n"
                f"    services: [tcp/{1024 + g % 60000}]\n    action: allow\n")
        rules.append(rule)
        size += len(rule)
        g += 1
    return "".join(out) + "".join(rules)


# ---- scripts run as other users / in the client namespace ------------------------------------

PROBE = r"""
import json, socket, sys, time
path, seconds, interval = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
lat, fails = [], 0
def connect():
    s = socket.socket(socket.AF_UNIX); s.settimeout(2.0); s.connect(path); return s, s.makefile("rwb")
s = f = None
start = time.perf_counter(); due = start; i = 0
while due - start < seconds:
    now = time.perf_counter()
    if now < due: time.sleep(due - now)
    try:
        if f is None: s, f = connect()
        i += 1
        f.write(b'{"id":%d,"op":"status"}\n' % i); f.flush()
        r = json.loads(f.readline())
        if not r.get("ok"): raise RuntimeError(r)
        lat.append((time.perf_counter() - due) * 1000.0)
    except Exception:
        fails += 1; f = None; lat.append(2000.0)
    due += interval
    if time.perf_counter() > due + 1.0: due = time.perf_counter()  # never catch up in bursts
print(json.dumps({"lat": lat, "fails": fails}))
"""

# Unix-socket client as some user: sends each line, collects what comes back. argv: path,
# a file holding the JSON list of lines (str), seconds to wait for replies.
SEND = r"""
import json, socket, sys, time
path, lines, wait = sys.argv[1], json.load(open(sys.argv[2])), float(sys.argv[3])
s = socket.socket(socket.AF_UNIX); s.settimeout(wait); s.connect(path)
buf = b""
try:
    for l in lines:
        s.sendall(l.encode("utf-8", "surrogatepass") if isinstance(l, str) else l)
except OSError as e:
    pass
deadline = time.time() + wait
try:
    while time.time() < deadline:
        c = s.recv(1 << 20)
        if not c: break
        buf += c
        if buf.count(b"\n") >= sum(1 for l in lines if l.strip()): break
except OSError:
    pass
print(json.dumps({"replies": buf.decode("utf-8", "replace")}))
"""

# Holds N connections as some user (idle, or one byte a second), for `seconds`; prints how many
# were accepted (no immediate refusal line) and how many the daemon closed.
HOLD = r"""
import json, socket, sys, time, select
path, n, seconds, trickle = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX); s.setblocking(False)
    try: s.connect(path)
    except OSError: continue
    socks.append(s)
time.sleep(0.3)
refused = sum(1 for s in socks if select.select([s], [], [], 0)[0])
end = time.time() + seconds
while time.time() < end:
    if trickle:
        for s in socks:
            try: s.send(b"{")
            except OSError: pass
    time.sleep(1.0)
closed = 0
for s in socks:
    try:
        if select.select([s], [], [], 0)[0] and s.recv(65536) == b"": closed += 1
    except OSError: closed += 1
print(json.dumps({"opened": len(socks), "refused_at_once": refused, "closed": closed}))
"""

# Floods one connection as some user: `kind` newline (empty lines), noline (bytes without a
# newline), bigop (1 MB op names). Prints bytes sent and what came back.
FLOOD = r"""
import json, socket, sys, time
path, kind, seconds, conns = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
chunk = {"newline": b"\n" * 65536, "noline": b"x" * 65536}.get(kind)
socks = []
for _ in range(conns):
    s = socket.socket(socket.AF_UNIX); s.settimeout(0.5)
    try: s.connect(path); socks.append(s)
    except OSError: pass
sent, end = 0, time.time() + seconds
if kind == "bigop":
    line = (json.dumps({"id": 1, "op": "x" * (1 << 20)}) + "\n").encode()
    for i in range(50):
        try:
            s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(path); s.sendall(line)
            sent += len(line); s.recv(4096); s.close()
        except OSError: pass
        if time.time() > end: break
else:
    while time.time() < end and socks:
        for s in list(socks):
            try: sent += s.send(chunk)
            except socket.timeout: pass
            except OSError: socks.remove(s)
print(json.dumps({"sent": sent, "open_at_end": len(socks)}))
"""

# TLS client in the client namespace: address, port, CA, certificate, key, server name, a file
# holding the JSON list of lines to send, seconds to wait.
TLS = r"""
import json, socket, ssl, sys, time
addr, port, ca, crt, key, server, lines, wait = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7], json.load(open(sys.argv[7])), float(sys.argv[8])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(ca); ctx.load_cert_chain(crt, key)
out = {"replies": "", "error": ""}
try:
    s = socket.create_connection((addr, port), timeout=wait); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = ctx.wrap_socket(s, server_hostname=server)
    for l in lines: t.sendall(l.encode())
    buf, deadline = b"", time.time() + wait
    while time.time() < deadline and buf.count(b"\n") < len(lines):
        c = t.recv(1 << 20)
        if not c: break
        buf += c
    out["replies"] = buf.decode("utf-8", "replace")
except Exception as e:
    out["error"] = repr(e)
print(json.dumps(out))
"""

# Stalls TLS handshakes: from each of the given source addresses, n TCP connections that never
# send a ClientHello, held for `seconds`.
STALL = r"""
import json, socket, sys, time
addr, port, n, seconds, sources = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5].split(",")
socks = []
for src in sources:
    for _ in range(n):
        s = socket.socket(); s.settimeout(1)
        try: s.bind((src, 0)); s.connect((addr, port)); socks.append(s)
        except OSError: pass
time.sleep(seconds)
print(json.dumps({"held": len(socks)}))
"""

HTTP = r"""
import json, socket, sys, time
port, mode, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def ask(req, wait=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=wait); s.sendall(req)
    buf = b""
    try:
        while True:
            c = s.recv(65536)
            if not c: break
            buf += c
    except OSError: pass
    return buf.decode("latin-1")
if mode == "malformed":
    out = {k: ask(r)[:40] for k, r in (("bare_lf", b"GET /metrics HTTP/1.1\n\n"), ("http09", b"GET /metrics\r\n\r\n"),
                                       ("garbage", b"\x16\x03\x01hello\r\n\r\n"))}
else:
    slow = []
    for _ in range(32):
        s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"G"); slow.append(s)
    time.sleep(0.3)
    t = time.perf_counter(); r = ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", wait=seconds)
    out = {"scrape_seconds": time.perf_counter() - t, "status": r[:15]}
print(json.dumps(out))
"""


class Lab:
    def __init__(self, a):
        self.a = a
        self.prefix = f"bws{os.getpid() % 100000}"
        self.gw, self.c = f"{self.prefix}-gw", f"{self.prefix}-c"
        self.daemon_user = f"{self.prefix}d"
        self.users = {"none": f"{self.prefix}n", "view": f"{self.prefix}v", "change": f"{self.prefix}c"}
        self.view_group, self.change_group = f"{self.prefix}view", f"{self.prefix}chg"
        self.tmp = Path(tempfile.mkdtemp(prefix="bulwark-security-"))
        os.chmod(self.tmp, 0o755)
        self.pol = self.tmp / "policy"
        self.pki = self.tmp / "pki"
        self.state = self.tmp / "state"
        self.rundir = self.tmp / "run"
        self.sock = self.rundir / "control.sock"
        self.logpath = self.tmp / "bulwarkd.log"
        self.daemon = None
        self.made_users, self.made_groups = [], []
        self.results = []

    # ---- users ----
    def make_users(self):
        for g in (self.view_group, self.change_group):
            run(["groupadd", g])
            self.made_groups.append(g)
        run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
             self.daemon_user])
        self.made_users.append(self.daemon_user)
        for role, name in self.users.items():
            extra = {"view": ["-G", self.view_group], "change": ["-G", self.change_group]}.get(role, [])
            run(["useradd", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", *extra, name])
            self.made_users.append(name)

    def remove_users(self):
        for u in reversed(self.made_users):
            subprocess.run(["userdel", u], capture_output=True)
        for g in reversed(self.made_groups):
            subprocess.run(["groupdel", g], capture_output=True)
        self.made_users, self.made_groups = [], []

    def lines_file(self, lines):
        """The request lines in a file the test users can read (argv holds at most 128 KiB)."""
        self.nfiles = getattr(self, "nfiles", 0) + 1
        p = self.tmp / f"lines-{self.nfiles}.json"
        p.write_text(json.dumps(lines))
        os.chmod(p, 0o644)
        return p

    def send_as(self, role, lines, wait):
        """The replies to `lines`, sent by the role's user over the Unix socket."""
        return self.as_user(role, SEND, self.sock, self.lines_file(lines), wait, timeout=wait + 60)["replies"]

    def send_tls(self, who, lines, wait):
        """{"replies", "error"}: `lines` sent over TLS from the client namespace with who's certificate."""
        return self.in_client(TLS, ADDR, PORT, *self.cert(who), SERVER_NAME, self.lines_file(lines), wait,
                              timeout=wait + 60)

    def as_user(self, role, script, *args, timeout=120):
        """python3 -c SCRIPT as the role's user (its groups from /etc/group)."""
        cmd = ["setpriv", f"--reuid={self.users[role]}", f"--regid={self.users[role]}", "--init-groups",
               sys.executable, "-c", script, *map(str, args)]
        return self._json(run(cmd, timeout=timeout, check=False))

    def in_client(self, script, *args, timeout=120):
        return self._json(run(["ip", "netns", "exec", self.c, sys.executable, "-c", script, *map(str, args)],
                              timeout=timeout, check=False))

    @staticmethod
    def _json(cp):
        try:
            return json.loads(cp.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise Setup(f"helper failed ({cp.returncode}): {cp.stderr.strip()[-600:]}")

    # ---- namespaces ----
    def up(self):
        for n in (self.gw, self.c):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
            run(["ip", "netns", "add", n])
            run(["ip", "-n", n, "link", "set", "lo", "up"])
        run(["ip", "-n", self.gw, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", self.c])
        for ifn in ("srv0", "srv1", "up0"):
            run(["ip", "-n", self.gw, "link", "add", ifn, "type", "veth", "peer", "name", ifn + "p"])
        for ifn, addr in (("lan0", "10.1.0.1/16"), ("srv0", "10.2.0.1/24"), ("up0", "192.0.2.1/24"),
                          ("srv1", "10.64.0.1/10")):
            run(["ip", "-n", self.gw, "addr", "add", addr, "dev", ifn])
            run(["ip", "-n", self.gw, "link", "set", ifn, "up"])
        run(["ip", "-n", self.c, "addr", "add", "10.1.0.10/16", "dev", "eth0"])
        for i in range(16):  # the handshake flood's sources
            run(["ip", "-n", self.c, "addr", "add", f"10.1.1.{100 + i}/16", "dev", "eth0"])
        run(["ip", "-n", self.c, "link", "set", "eth0", "up"])

    def down(self):
        self.stop_daemon(signal.SIGKILL)
        for n in (self.gw, self.c):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)

    # ---- files: policy, PKI, the daemon's own dirs ----
    def make_files(self):
        self.pol.mkdir()
        (self.pol / "policy.yaml").write_text(POLICY)
        os.chmod(self.pol, 0o755)
        os.chmod(self.pol / "policy.yaml", 0o644)
        pw = self.tmp / "pw"
        pw.write_text(PASSWORD + "\n")
        # PKI root's, readable by the daemon through its group only (0710 dirs, gateway.key 0640).
        (self.pki / "private").mkdir(parents=True)
        for d in (self.pki, self.pki / "private"):
            os.chown(d, 0, _gid(self.daemon_user))
            os.chmod(d, 0o710)
        ctl = self.a.ctl
        run([ctl, "pki", "--dir", self.pki, "init", "--ca-name", "Bulwark Security Test CA"])
        run([ctl, "pki", "--dir", self.pki, "gateway", "--local-id", SERVER_NAME])
        for name, group in (("alice", "netops"), ("bob", "auditors"), ("dave", "dba")):
            run([ctl, "pki", "--dir", self.pki, "issue", name, "--group", group, "--password-file", pw])
        for d in (self.state, self.rundir):
            d.mkdir()
            if not self.a.baseline:
                os.chown(d, _uid(self.daemon_user), _gid(self.daemon_user))
            os.chmod(d, 0o755 if d == self.rundir else 0o750)

    def cert(self, name):
        d = self.pki / "issued" / name
        return str(d / "ca.crt"), str(d / f"{name}.crt"), str(d / f"{name}.key")

    # ---- the daemon ----
    def start_daemon(self):
        argv = [self.a.daemon, "--policy", self.pol, "--socket", self.sock, "--state-dir", self.state,
                "--metrics", "127.0.0.1:9469", "--no-journal", "--pki", self.pki, "--drift-interval", "0",
                "--change-group", self.change_group, "--view-group", self.view_group]
        if not self.a.baseline:
            argv = [self.a.runner, "--user", self.daemon_user, "--", *argv]
        if self.a.rt:
            # The loop at SCHED_FIFO (its workers lower themselves to SCHED_OTHER, nice 10): what
            # is measured is the daemon's own loop, not this shared machine's other load.
            argv = ["chrt", "-f", "20", *argv]
        self.log = open(self.logpath, "a")
        since = self.logpath.stat().st_size  # a restart's "ready:", not the last one's
        self.daemon = subprocess.Popen(["ip", "netns", "exec", self.gw, *map(str, argv)], stdout=self.log,
                                       stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise Setup("bulwarkd exited: " + self.logpath.read_text()[-1500:])
            if "ready:" in self.logpath.read_text()[since:]:
                return
            time.sleep(0.05)
        raise Setup("bulwarkd did not come up: " + self.logpath.read_text()[-1500:])

    def stop_daemon(self, sig=signal.SIGTERM):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(sig)
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(timeout=10)
        self.daemon = None

    def alive(self):
        return self.daemon is not None and self.daemon.poll() is None

    def ensure_daemon(self):
        if self.alive() and self.a.baseline:
            try:  # a daemon before the fixes may hang (attack 3): start it afresh then
                self.request("status", timeout=3)
            except (OSError, ValueError):
                self.stop_daemon(signal.SIGKILL)
        if not self.alive():
            self.stop_daemon()
            self.start_daemon()

    def rss(self):
        """(VmRSS, VmHWM) in MB; clear_refs 5 resets the peak first when asked."""
        vals = {}
        try:
            for line in Path(f"/proc/{self.daemon.pid}/status").read_text().splitlines():
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    vals[k] = int(v.split()[0]) / 1024.0
        except (OSError, AttributeError):
            pass
        return vals

    def reset_peak(self):
        try:
            Path(f"/proc/{self.daemon.pid}/clear_refs").write_text("5")
        except (OSError, AttributeError):
            pass

    def ruleset(self):
        cp = run(["ip", "netns", "exec", self.gw, "nft", "-j", "list", "ruleset"])
        return strip(json.loads(cp.stdout))

    def audit_bytes(self):
        p = self.state / "audit.log"
        return p.stat().st_size if p.exists() else 0

    def audit(self):
        p = self.state / "audit.log"
        return [json.loads(l) for l in p.read_text().splitlines()] if p.exists() else []

    def request(self, op, timeout=60, **args):
        """One request as root over the Unix socket."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(str(self.sock))
            f = s.makefile("rwb")
            f.write(json.dumps({"id": 1, "op": op, **args}).encode() + b"\n")
            f.flush()
            return json.loads(f.readline())

    def probe(self, seconds):
        """Starts the prober (root, chrt -f 10 when possible); returns the Popen."""
        argv = [sys.executable, "-c", PROBE, str(self.sock), str(seconds), "0.005"]
        if self.a.rt:
            argv = ["chrt", "-f", "10", *argv]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _uid(name):
    import pwd
    return pwd.getpwnam(name).pw_uid


def _gid(name):
    import pwd
    return pwd.getpwnam(name).pw_gid


def stats(lat):
    if not lat:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    s = sorted(lat)
    return {"n": len(s), "p50": round(s[len(s) // 2], 2), "p99": round(s[min(len(s) - 1, int(len(s) * 0.99))], 2),
            "max": round(s[-1], 2)}


class Attack:
    """One attack: the prober around it, the invariants after it."""

    def __init__(self, lab, name, what, seconds):
        self.lab, self.name, self.what, self.seconds = lab, name, what, seconds
        self.notes, self.failures = [], []

    def check(self, ok, what):
        if not ok:
            self.failures.append(what)

    def __enter__(self):
        lab = self.lab
        lab.ensure_daemon()
        self.before = lab.ruleset()
        self.audit0 = lab.audit_bytes()
        lab.reset_peak()
        self.prober = lab.probe(self.seconds)
        self.t0 = time.time()
        time.sleep(0.2)
        return self

    def __exit__(self, et, ev, tb):
        lab = self.lab
        if et is not None and not issubclass(et, (Failed, AssertionError)):
            if not lab.a.baseline:
                self.prober.kill()
                return False
            # --baseline: a daemon before the fixes dies or hangs half-way through an attack;
            # that is the measurement, not a broken test.
            self.notes.append(f"the attack could not finish: {str(ev)[:160]!r}")
        self.attack_end = time.time()
        try:
            out, err = self.prober.communicate(timeout=self.seconds + 60)
            probe = json.loads(out.strip().splitlines()[-1])
        except Exception:
            self.prober.kill()
            probe = {"lat": [], "fails": -1}
        recovery = None
        alive = lab.alive()
        if alive:
            t = time.time()
            while time.time() - t < 30:
                try:
                    if lab.request("status", timeout=5).get("ok"):
                        recovery = round(time.time() - self.attack_end, 3)
                        break
                except OSError:
                    time.sleep(0.1)
        mem = lab.rss() if alive else {}
        st = stats(probe["lat"])
        after = lab.ruleset() if alive else None
        row = {"attack": self.name, "what": self.what, "status_ms": st, "status_failures": probe["fails"],
               "daemon_alive": alive, "peak_rss_mb": round(mem.get("VmHWM", 0), 1),
               "rss_mb": round(mem.get("VmRSS", 0), 1), "audit_bytes": lab.audit_bytes() - self.audit0,
               "recovered_after_s": recovery, "ruleset_unchanged": after == self.before, "notes": self.notes}
        lab.results.append(row)
        print(f"    {self.name}: status p50 {st['p50']} ms, p99 {st['p99']} ms, max {st['max']} ms "
              f"({st['n']} probes, {probe['fails']} failed); peak RSS {row['peak_rss_mb']} MB; "
              f"audit +{row['audit_bytes']} B; alive {alive}; ruleset unchanged {row['ruleset_unchanged']}"
              + ("".join(f"\n      {n}" for n in self.notes)))
        if lab.a.baseline:
            # What the fixed daemon is held to, said of this one (asserted nothing).
            for what in self.failures + [w for ok, w in (
                    (alive, "the daemon died"), (after == self.before, "the ruleset changed"),
                    (probe["fails"] == 0, f"{probe['fails']} status requests failed"),
                    (st["max"] is not None and st["max"] <= lab.a.latency_max_ms,
                     f"status max {st['max']} ms > {lab.a.latency_max_ms} ms")) if not ok]:
                print(f"      would fail: {what[:300]}")
            row["would_fail"] = self.failures
        else:
            self.check(alive, "the daemon died")
            self.check(after == self.before, "the ruleset changed")
            self.check(probe["fails"] == 0, f"{probe['fails']} status requests failed")
            self.check(st["n"] > 0 and st["p99"] is not None and st["p99"] <= lab.a.latency_ms,
                       f"status p99 {st['p99']} ms > {lab.a.latency_ms} ms")
            self.check(st["max"] is not None and st["max"] <= lab.a.latency_max_ms,
                       f"status max {st['max']} ms > {lab.a.latency_max_ms} ms")
            if self.failures:
                raise Failed("; ".join(self.failures))
        return et is not None and lab.a.baseline


def replies(text):
    out = []
    for l in text.splitlines():
        try:
            out.append(json.loads(l))
        except ValueError:
            out.append({"unparsed": l[:200]})
    return out


# ---- the attacks (issue 14, items 1-8) -------------------------------------------------------

def a1_deep_id(lab):
    """1: an `id` nested 70,000 deep, before and after authentication, Unix and TLS."""
    deep = '{"op":"status","id":' + "[" * 70000 + "]" * 70000 + "}\n"
    with Attack(lab, "1-deep-id", "id nested 70,000 deep: no role, view (Unix); no-role and view certificates", 4) as a:
        r = replies(lab.send_as("none", [deep], 5))
        a.notes.append(f"no role: {[x.get('error', {}).get('message', x)[:90] for x in r]}")
        a.check(len(r) == 1 and r[0]["error"]["code"] == "denied", f"no role: {r}")
        r = replies(lab.send_as("view", [deep, '{"id":2,"op":"status"}\n'], 5))
        a.notes.append(f"view: {[x.get('error', {}).get('message', 'ok') for x in r]}")
        a.check(len(r) == 2 and r[0]["error"]["code"] == "bad_request" and r[1]["ok"], f"view: {r}")
        for who in ("dave", "bob"):
            t = lab.send_tls(who, [deep], 5)
            r = replies(t["replies"])
            a.notes.append(f"TLS {who}: {[x.get('error', {}).get('code') for x in r]} {t['error'][:60]}")
            want = "denied" if who == "dave" else "bad_request"
            a.check(len(r) == 1 and r[0]["error"]["code"] == want, f"TLS {who}: {t}")


def a2_file_read(lab):
    """2: the view role asks the daemon to read /etc/shadow (Unix and TLS); the daemon's own
    user cannot read it, and a symlink in its policy dir is not followed."""
    shadow_line = Path("/etc/shadow").read_text().splitlines()[0].split(":")[0] + ":"
    asks = [json.dumps({"id": 1, "op": "plan", "path": "/etc/shadow"}) + "\n",
            json.dumps({"id": 2, "op": "plan", "sources": [{"name": "/etc/shadow", "text": "x: 1\n"}]}) + "\n"]
    with Attack(lab, "2-file-read", "plan {path: /etc/shadow} and a source named /etc/shadow, view role (Unix, TLS)", 4) as a:
        text = lab.send_as("view", asks, 20)
        t = lab.send_tls("bob", asks[:1], 20)
        for where, txt in (("unix", text), ("tls", t["replies"])):
            a.check(shadow_line not in txt and "root:" not in txt, f"{where}: file content in the reply")
        r = replies(text)
        a.notes.append(f"path ignored (plan of the daemon's own dir): ok={r[0].get('ok')}; "
                       f"source named /etc/shadow: {r[1].get('error', {}).get('diagnostics', [''])[0][:70]}")
        a.check(r[0].get("ok") and r[0].get("in_sync") is True, f"plan with a path: {str(r[0])[:300]}")
        # The daemon's own user, with the daemon's capabilities, cannot read the file at all.
        if not lab.a.baseline:
            cp = run(["setpriv", f"--reuid={lab.daemon_user}", f"--regid={lab.daemon_user}", "--clear-groups",
                      "--inh-caps=-all,+net_admin", "--ambient-caps=-all,+net_admin", "--bounding-set=-all,+net_admin",
                      "cat", "/etc/shadow"], check=False)
            a.check(cp.returncode != 0 and "Permission denied" in cp.stderr, f"the daemon user read /etc/shadow: {cp}")
            st = Path(f"/proc/{lab.daemon.pid}/status").read_text()
            uid = [l for l in st.splitlines() if l.startswith("Uid:")][0].split()[1]
            cap = [l for l in st.splitlines() if l.startswith("CapEff:")][0].split()[1]
            a.notes.append(f"daemon uid {uid} ({lab.daemon_user}), CapEff {cap} (CAP_NET_ADMIN only); "
                           f"cat /etc/shadow as it: {cp.stderr.strip()}")
            a.check(uid == str(_uid(lab.daemon_user)) and int(cap, 16) == 1 << 12, f"daemon uid {uid}, caps {cap}")
        # A link to /etc/shadow in the daemon's own dir: refused, not followed, nothing quoted.
        link = lab.pol / "zz-shadow.yaml"
        link.symlink_to("/etc/shadow")
        try:
            r = lab.request("reload")
            msg = json.dumps(r)
            a.notes.append(f"reload with a symlink in the dir: {r.get('error', {}).get('message', '')[:110]}")
            a.check(not r["ok"] and "symbolic link" in msg and shadow_line not in msg, f"reload: {msg[:300]}")
        finally:
            link.unlink()
        lab.request("reload")


def a3_fifo_zero(lab):
    """3: FIFO and /dev/zero: named by the view role (ignored), and inside the daemon's own dir
    (refused at once: regular files only, O_NONBLOCK)."""
    with Attack(lab, "3-fifo-dev-zero", "plan naming a FIFO and /dev/zero (view); a FIFO in the policy dir, reload", 5) as a:
        fifo = lab.tmp / "fifo"
        os.mkfifo(fifo)
        os.chmod(fifo, 0o666)
        asks = [json.dumps({"id": i, "op": "plan", "path": p}) + "\n" for i, p in ((1, str(fifo)), (2, "/dev/zero"))]
        t = time.time()
        r = replies(lab.send_as("view", asks, 20))
        a.notes.append(f"view plans answered in {time.time() - t:.2f} s: {[x.get('ok') for x in r]}")
        a.check(len(r) == 2, f"view plans: {r}")
        # A FIFO among the dir's *.yaml is not a policy file: passed over, never opened (an open
        # without O_NONBLOCK would wait for a writer forever).
        inside = lab.pol / "zz-fifo.yaml"
        os.mkfifo(inside)
        try:
            t = time.time()
            r = lab.request("reload")
            took = time.time() - t
            a.notes.append(f"reload with a FIFO in the dir: {took:.2f} s, ok={r.get('ok')}")
            a.check(r.get("ok") and took < 10, f"reload: {r}")
        finally:
            inside.unlink()
        lab.request("reload")


def a4_lockout(lab):
    """4: idle and 1-byte-a-second connections by the no-role and view users; TLS: 16 sources x 4
    connections that never send a ClientHello. Root confirms a pending apply meanwhile, an
    administrator's certificate gets through."""
    # An administrator's apply awaits confirmation when the flood starts (the apply itself, a
    # kernel write, happens before the measured window, and the one putting things back after).
    lab.ensure_daemon()
    r = lab.request("apply", sources=[{"name": "policy.yaml", "text": POLICY + EXTRA_RULE}], confirm=120)
    if not lab.a.baseline and not r.get("ok"):
        raise Failed(f"apply with confirm: {r}")
    with Attack(lab, "4-lockout", "200 idle + 50 trickling no-role connections, 100 view ones; 64 stalled TLS handshakes", 10) as a:
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for cmd in (
            ["setpriv", f"--reuid={lab.users['none']}", f"--regid={lab.users['none']}", "--init-groups",
             sys.executable, "-c", HOLD, str(lab.sock), "200", "6", "0"],
            ["setpriv", f"--reuid={lab.users['none']}", f"--regid={lab.users['none']}", "--init-groups",
             sys.executable, "-c", HOLD, str(lab.sock), "50", "6", "1"],
            ["setpriv", f"--reuid={lab.users['view']}", f"--regid={lab.users['view']}", "--init-groups",
             sys.executable, "-c", HOLD, str(lab.sock), "100", "6", "1"],
            ["ip", "netns", "exec", lab.c, sys.executable, "-c", STALL, ADDR, str(PORT), "4", "6",
             ",".join(f"10.1.1.{100 + i}" for i in range(16))])]
        time.sleep(2)
        t = time.time()
        conf = lab.request("confirm")
        a.notes.append(f"root's confirm during the flood: ok={conf.get('ok')} in {time.time() - t:.3f} s")
        a.check(conf.get("ok"), f"confirm: {conf}")
        t = time.time()
        adm = lab.send_tls("alice", ['{"id":1,"op":"status"}\n'], 8)
        r = replies(adm["replies"])
        a.notes.append(f"alice (change certificate) status during the handshake flood: "
                       f"{bool(r and r[0].get('ok'))} in {time.time() - t:.2f} s {adm['error'][:60]}")
        a.check(r and r[0].get("ok"), f"alice: {adm}")
        outs = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
        a.notes.append(f"no-role idle: {outs[0]}, no-role trickling: {outs[1]}, view trickling: {outs[2]}, "
                       f"TLS stalls held: {outs[3]}")
        a.check(outs[0]["refused_at_once"] == outs[0]["opened"], "no-role connections got a slot")
        a.check(outs[2]["refused_at_once"] >= outs[2]["opened"] - 8, "the view user got more than 8 slots")
    if lab.alive():
        lab.request("apply", sources=[{"name": "policy.yaml", "text": POLICY}])


def a5_starvation(lab):
    """5: a newline flood, and 24 connections sending without a newline (view user)."""
    secs = 20 if lab.a.full else 6
    with Attack(lab, "5a-newline-flood", f"empty lines as fast as one view connection can send, {secs} s", secs + 1) as a:
        out = lab.as_user("view", FLOOD, lab.sock, "newline", secs, 1, timeout=secs + 60)
        a.notes.append(f"sent {out['sent'] / 1e6:.1f} MB of newlines")
    with Attack(lab, "5b-no-newline", "24 view connections x 63 MB without a newline", 8) as a:
        out = lab.as_user("view", FLOOD, lab.sock, "noline", 6, 24, timeout=80)
        mem = lab.rss()
        a.notes.append(f"sent {out['sent'] / 1e6:.1f} MB; {out['open_at_end']} connections still open; "
                       f"daemon RSS {mem.get('VmRSS', 0):.1f} MB, peak {mem.get('VmHWM', 0):.1f} MB")
        a.check(mem.get("VmHWM", 1e9) < 400 * lab.a.rss_factor, f"peak RSS {mem}")


def a6_audit_fill(lab):
    """6: 50 requests with a 1 MB op name, by the no-role user (refused at accept) and the view
    user (bad_request, never logged)."""
    with Attack(lab, "6-audit-fill", "50 x 1 MB op names, no-role and view users", 6) as a:
        before = lab.audit_bytes()
        for role in ("none", "view"):
            lab.as_user(role, FLOOD, lab.sock, "bigop", 8, 0, timeout=60)
        grew = lab.audit_bytes() - before
        a.notes.append(f"audit.log grew {grew} bytes")
        a.check(grew < 4096, f"audit.log grew {grew} bytes")


def a7_nul_name(lab):
    """7: an apply whose source name holds a NUL (and a NUL inside a value) changes nothing."""
    with Attack(lab, "7-nul-name", "apply with a NUL in the source name / an interface name (change role)", 4) as a:
        ask = [json.dumps({"id": 1, "op": "apply", "sources": [{"name": "a\u0000.yaml", "text": POLICY + EXTRA_RULE}]}) + "\n",
               json.dumps({"id": 2, "op": "apply", "sources": [
                   {"name": "p.yaml", "text": POLICY.replace("interface: srv0", 'interface: "srv0\\0x"') + EXTRA_RULE}]}) + "\n"]
        r = replies(lab.send_as("change", ask, 30))
        a.notes.append(f"{[(x.get('error', {}).get('code'), (x.get('error', {}).get('diagnostics') or [x.get('error', {}).get('message', '')])[0][:80]) for x in r]}")
        a.check(len(r) == 2 and r[0]["error"]["code"] == "bad_request" and r[1]["error"]["code"] == "invalid_policy"
                and any("p.yaml:" in d and "U+0000" in d for d in r[1]["error"].get("diagnostics", [])), f"{r}")


def a8_smaller(lab):
    """8: rollback 4294967297; the refusal names the configured groups; /metrics answers bare LF
    and HTTP/0.9 and is not blocked by 32 slow connections; a view-role plan of a large policy."""
    with Attack(lab, "8a-small", "rollback 2^32+1; the groups in refusals; /metrics malformed and 32 slow", 5) as a:
        r = replies(lab.send_as("change", ['{"id":1,"op":"rollback","revision":4294967297}\n'], 10))
        a.notes.append(f"rollback 4294967297: {r[0].get('error', {}).get('message', r[0])}")
        a.check(r[0].get("error", {}).get("code") == "bad_request", f"rollback: {r}")
        r = replies(lab.send_as("none", ['{"id":1,"op":"status"}\n'], 5))
        msg = r[0].get("error", {}).get("message", "")
        a.notes.append(f"refusal: {msg}")
        a.check(lab.change_group in msg and lab.view_group in msg, f"refusal does not name the groups: {msg}")
        mal = json.loads(run(["ip", "netns", "exec", lab.gw, sys.executable, "-c", HTTP, "9469", "malformed", "5"]).stdout)
        slow = json.loads(run(["ip", "netns", "exec", lab.gw, sys.executable, "-c", HTTP, "9469", "slow", "20"],
                              timeout=60).stdout)
        a.notes.append(f"/metrics malformed: {mal}; scrape with 32 slow connections: {slow}")
        a.check(all(v.startswith("HTTP/1.1 400") for v in mal.values()), f"malformed: {mal}")
        a.check(slow["status"].startswith("HTTP/1.1 200") and slow["scrape_seconds"] < 5, f"slow: {slow}")
    mb = 12.5 if lab.a.full else lab.a.big_mb
    text = big_policy(int(mb * 1e6))
    with Attack(lab, "8b-big-plan", f"view-role plan of a {len(text) / 1e6:.1f} MB policy", 3) as a:
        t = time.time()
        line = json.dumps({"id": 1, "op": "plan", "sources": [{"name": "big.yaml", "text": text}]}) + "\n"
        r = replies(lab.send_as("view", [line], 600))
        took = time.time() - t
        mem = lab.rss()
        a.notes.append(f"plan answered in {took:.1f} s: ok={r[0].get('ok') if r else None}, "
                       f"{sum(len(k.get('commands', [])) for k in (r[0].get('kinds', []) if r else []))} commands; "
                       f"daemon peak RSS {mem.get('VmHWM', 0):.0f} MB")
        a.check(r and r[0].get("ok"), f"big plan: {str(r)[:300]}")
        a.check(mem.get("VmHWM", 1e9) < 1000 * lab.a.rss_factor, f"peak RSS {mem}")


ATTACKS = [a1_deep_id, a2_file_read, a3_fifo_zero, a4_lockout, a5_starvation, a6_audit_fill, a7_nul_name, a8_smaller]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--runner", help="gateway/systemd/run-bulwarkd.sh (not with --baseline)")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--full", action="store_true", help="the figures of docs/security.md (release build)")
    ap.add_argument("--baseline", action="store_true", help="measure only (a daemon before the fixes, as root)")
    ap.add_argument("--latency-ms", type=float, default=50.0, help="status p99 bound during every attack")
    ap.add_argument("--latency-max-ms", type=float, default=50.0, help="status max bound during every attack")
    ap.add_argument("--rss-factor", type=float, default=1.0,
                    help="scale the peak-RSS bounds (400 MB for attack 5b, 1 GB for 8b): a sanitized daemon "
                         "keeps shadow memory and a quarantine of freed blocks")
    ap.add_argument("--big-mb", type=float, default=1.0, help="size of the policy of attack 8b (without --full)")
    ap.add_argument("--report", help="write the measurements here (JSON)")
    ap.add_argument("--rt", action="store_true",
                    help="run the daemon's loop (chrt -f 20) and the prober (chrt -f 10) real-time, so that the "
                         "latency shows the daemon's own loop rather than the machine's other load")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (namespaces, users)")
        return 77
    if not a.baseline and not a.runner:
        ap.error("--runner is needed (the daemon runs as its own user)")
    lab = Lab(a)

    def cleanup(*_):
        lab.down()
        lab.remove_users()
        subprocess.run(["rm", "-rf", str(lab.tmp)], capture_output=True)

    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(2)))
    try:
        return run_all(a, lab, cleanup)
    except BaseException:
        traceback.print_exc()
        print("daemon log:\n" + (lab.logpath.read_text()[-3000:] if lab.logpath.exists() else ""))
        return 2
    finally:
        cleanup()


def run_all(a, lab, cleanup):
    failed = 0
    try:
        lab.make_users()
        lab.up()
        lab.make_files()
        lab.start_daemon()
        for attack in ATTACKS:
            if a.only and not any(o in attack.__name__ for o in a.only):
                continue
            t = time.time()
            try:
                attack(lab)
                print(f"ok   {attack.__name__} ({time.time() - t:.1f} s)", flush=True)
            except Failed as e:
                failed += 1
                print(f"FAIL {attack.__name__}: {e}", flush=True)
        if lab.alive():
            lab.stop_daemon()
            print("ok   clean exit (SIGTERM)")
    except Setup as e:
        print(f"SETUP FAILED: {e}")
        traceback.print_exc()
        print("daemon log:\n" + (lab.logpath.read_text()[-3000:] if lab.logpath.exists() else ""))
        return 2
    if a.report:
        Path(a.report).write_text(json.dumps(lab.results, indent=1))
    if failed:
        print("daemon log (tail):\n" + lab.logpath.read_text()[-3000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
