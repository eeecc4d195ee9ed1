#!/usr/bin/python3
"""bulwarkd's web server under bad input, in namespaces (a gateway, a client on the lan
segment that holds gateway.web's address, a server on another segment).

    web_daemon_netns.py --daemon BULWARKD --ctl BULWARKCTL [--bench] [--dashboards 50]

Checks (each bounded, logged, and the daemon unaffected):
  * it listens on 10.1.0.1:8443 only; every response carries the security headers;
  * a client certificate of the view role gets the page and the API; no certificate, a
    group without a role (403), a foreign CA and TLS 1.2 are refused, and logged;
  * paths outside the page's files (.., encoded .., absolute, the repository's paths) are
    404 and never return a file's contents;
  * a huge request line, huge headers, a body, a malformed request: 4xx, connection closed;
  * 1,000 idle TCP connections: the page still answers at once, and the control socket's
    status keeps answering (p99 measured before and during, printed);
  * an event-stream client that never reads is closed (kMaxUnsent) and logged;
  * the other segment cannot reach the port (the firewall).
With --bench: the daemon's CPU (share of one core) and RSS with 0, 1 and N dashboards (event
streams read by Python clients) over 20 s each, and the status p99 meanwhile.

Exit 0 passed, 1 a check failed, 2 the setup broke, 77 not root.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ADDR, PORT, SERVER_NAME = "10.1.0.1", 8443, "gw.test"
PASSWORD = "web-daemon-test"
POLICY = f"""gateway:
  name: gw-test
  uplink: up0
  control: {{ listen: {ADDR}, port: 9443, change: netops, view: auditors }}
  web: {{ listen: {ADDR}, port: {PORT} }}
segments:
  - {{ name: lan, interface: lan0, ipv4: {{ subnet: 10.1.0.0/24, gateway: 10.1.0.1 }} }}
  - {{ name: srv, interface: srv0, ipv4: {{ subnet: 10.2.0.0/24, gateway: 10.2.0.1 }} }}
hosts:
  - {{ name: client, segment: lan, addresses: [10.1.0.10] }}
  - {{ name: server, segment: srv, addresses: [10.2.0.10] }}
rules:
  - {{ name: lan-to-srv, from: [client], to: server, services: [tcp/7000], action: allow }}
"""
HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "strict-transport-security": "max-age=31536000",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class Failed(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Failed(what)
    print(f"  ok: {what}", flush=True)


def run(argv, timeout=30, check_rc=True, **kw):
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} -> {cp.returncode}: {cp.stderr.strip()[:400]}")
    return cp


class Lab:
    def __init__(self, a, metrics="off"):
        self.a = a
        self.metrics = metrics
        self.prefix = f"bww{os.getpid() % 100000}"
        self.gw, self.c, self.s = (f"{self.prefix}-{x}" for x in ("gw", "c", "s"))
        self.tmp = Path(tempfile.mkdtemp(prefix="bulwarkd-web-test-"))
        (self.tmp / "policy").mkdir()
        (self.tmp / "policy" / "policy.yaml").write_text(POLICY)
        self.pki, self.foreign = self.tmp / "pki", self.tmp / "foreign"
        self.sock = self.tmp / "control.sock"
        self.logpath = self.tmp / "bulwarkd.log"
        self.daemon = None

    def up(self):
        self.down()
        for n in (self.gw, self.c, self.s):
            run(["ip", "netns", "add", n])
            run(["ip", "-n", n, "link", "set", "lo", "up"])
        run(["ip", "-n", self.gw, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", self.c])
        run(["ip", "-n", self.gw, "link", "add", "srv0", "type", "veth", "peer", "name", "eth0", "netns", self.s])
        run(["ip", "-n", self.gw, "link", "add", "up0", "type", "veth", "peer", "name", "up0p"])
        for ifn, addr in (("lan0", "10.1.0.1/24"), ("srv0", "10.2.0.1/24"), ("up0", "192.0.2.1/24")):
            run(["ip", "-n", self.gw, "addr", "add", addr, "dev", ifn])
            run(["ip", "-n", self.gw, "link", "set", ifn, "up"])
        run(["ip", "-n", self.gw, "link", "set", "up0p", "up"])
        for n, addr, gw in ((self.c, "10.1.0.10/24", "10.1.0.1"), (self.s, "10.2.0.10/24", "10.2.0.1")):
            run(["ip", "-n", n, "addr", "add", addr, "dev", "eth0"])
            run(["ip", "-n", n, "link", "set", "eth0", "up"])
            run(["ip", "-n", n, "route", "add", "default", "via", gw])
        pw = self.tmp / "pw"
        pw.write_text(PASSWORD + "\n")
        ctl = self.a.ctl
        for d in (self.pki, self.foreign):
            run([ctl, "pki", "--dir", d, "init", "--ca-name", "Web Test CA"])
            run([ctl, "pki", "--dir", d, "gateway", "--local-id", SERVER_NAME])
        for name, group in (("ann", "auditors"), ("dave", "dba")):
            run([ctl, "pki", "--dir", self.pki, "issue", name, "--group", group, "--password-file", pw])
        run([ctl, "pki", "--dir", self.foreign, "issue", "mallory", "--group", "auditors", "--password-file", pw])
        self.start()

    def start(self):
        argv = ["ip", "netns", "exec", self.gw, self.a.daemon, "--policy", self.tmp / "policy", "--socket", self.sock,
                "--state-dir", self.tmp / "state", "--metrics", self.metrics, "--no-journal", "--pki", self.pki,
                "--drift-interval", "0"]
        self.log = open(self.logpath, "a")
        self.daemon = subprocess.Popen([str(x) for x in argv], stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("bulwarkd exited: " + self.logpath.read_text()[-800:])
            if "web view: https://" in self.logpath.read_text():
                return
            time.sleep(0.05)
        raise RuntimeError("bulwarkd did not come up: " + self.logpath.read_text()[-800:])

    def down(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        for n in (self.gw, self.c, self.s):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)

    def remove(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cert(self, name, pki=None):
        d = (pki or self.pki) / "issued" / name
        return d / f"{name}.crt", d / f"{name}.key"

    def curl(self, path, name="ann", ns=None, extra=(), pki=None):
        argv = ["ip", "netns", "exec", ns or self.c, "curl", "-sS", "--max-time", "10", "--path-as-is",
                "--cacert", self.pki / "ca.crt", "--resolve", f"{SERVER_NAME}:{PORT}:{ADDR}", "-D", "-"]
        if name:
            crt, key = self.cert(name, pki)
            argv += ["--cert", crt, "--key", key]
        return run(argv + list(extra) + [f"https://{SERVER_NAME}:{PORT}{path}"], check_rc=False, timeout=20)


def status_code(cp):
    m = re.match(r"HTTP/1\.1 (\d+)", cp.stdout)
    return int(m.group(1)) if m else None


def headers(cp):
    head = cp.stdout.split("\n\n", 1)[0]
    return {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in head.splitlines()[1:] if ":" in l)}


def in_netns(ns):
    """Enter `ns` for this thread's new sockets (setns affects the calling thread only)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def status_p99(sock, seconds=3.0, interval=0.005):
    """Status round trips on the control socket, one due every `interval`, each timed from
    when it was due: (calls, p99 ms, max ms)."""
    times = []
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock))
        f = s.makefile("rwb")
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            due = start + n * interval
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            f.write(b'{"id":1,"op":"status"}\n')
            f.flush()
            f.readline()
            times.append(time.monotonic() - due)
            n += 1
    times.sort()
    return len(times), times[max(0, int(len(times) * 0.99) - 1)] * 1000, times[-1] * 1000


class Streams:
    """N event-stream clients in the client namespace that read everything (dashboards), or
    one that never reads."""

    def __init__(self, lab, n, read=True, names=("ann",)):
        self.lab, self.n, self.read, self.names = lab, n, read, names
        self.events = [0] * n
        self.socks = []
        self.stop = False
        ready = threading.Event()
        self.thread = threading.Thread(target=self.main, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(30)

    def context(self, name):
        ctx = ssl.create_default_context(cafile=str(self.lab.pki / "ca.crt"))
        ctx.load_cert_chain(*map(str, self.lab.cert(name)))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        return ctx

    def main(self, ready):
        in_netns(self.lab.c)
        ctxs = [self.context(name) for name in self.names]
        for i in range(self.n):
            ctx = ctxs[i % len(ctxs)]
            raw = socket.socket()
            if not self.read:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.settimeout(10)
            raw.connect((ADDR, PORT))
            s = ctx.wrap_socket(raw, server_hostname=SERVER_NAME)
            s.sendall(f"GET /api/stream HTTP/1.1\r\nHost: {SERVER_NAME}\r\n\r\n".encode())
            self.socks.append(s)
        ready.set()
        if not self.read:
            return
        threads = [threading.Thread(target=self.reader, args=(i,), daemon=True) for i in range(self.n)]
        for t in threads:
            t.start()

    def reader(self, i):
        s = self.socks[i]
        buf = b""
        while not self.stop:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            self.events[i] += buf.count(b"event: snapshot")
            buf = buf[-32:]

    def close(self):
        self.stop = True
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def cpu_rss(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) * 1024
    return ticks / os.sysconf("SC_CLK_TCK"), rss


def daemon_pid(lab):
    out = run(["pgrep", "-f", f"^{lab.a.daemon} --policy {lab.tmp}/policy"], check_rc=False).stdout.split()
    return int(out[0]) if out else lab.daemon.pid


def measure(lab, seconds):
    """The daemon's CPU (% of one core) and RSS over `seconds` without other requests, then
    the status p99 over 3 s."""
    pid = daemon_pid(lab)
    c0, _ = cpu_rss(pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    c1, rss = cpu_rss(pid)
    cpu = 100 * (c1 - c0) / (time.monotonic() - t0)
    calls, p99, mx = status_p99(lab.sock, 3)
    return cpu, rss, p99, mx


def tests(lab):
    log = lambda: lab.logpath.read_text()  # noqa: E731
    listen = run(["ip", "netns", "exec", lab.gw, "ss", "-Hltn"]).stdout
    check(f"{ADDR}:{PORT}" in listen and f"*:{PORT}" not in listen and f"0.0.0.0:{PORT}" not in listen,
          f"listens on {ADDR}:{PORT} only")
    _, base_p99, base_max = status_p99(lab.sock)
    print(f"  status p99 alone: {base_p99:.2f} ms (max {base_max:.2f} ms)")

    # A stream client that never reads, started first: it is closed while the rest runs.
    stuck = Streams(lab, 1, read=False)
    stuck_since = time.monotonic()

    page = lab.curl("/")
    check(status_code(page) == 200 and "<title>Bulwark gateway</title>" in page.stdout, "the page with a view certificate")
    h = headers(page)
    for k, v in HEADERS.items():
        check(h.get(k) == v, f"header {k}")
    snap = lab.curl("/api/snapshot")
    check("\n\n" in snap.stdout, f"/api/snapshot answers ({snap.stdout[:80]!r} {snap.stderr[:200]!r})")
    body = json.loads(snap.stdout.split("\n\n", 1)[1])
    check(body["you"] == {"cn": "ann", "group": "auditors", "role": "view"} and body["gateway"] == "gw-test",
          "/api/snapshot names the certificate and the gateway")
    hist = json.loads(lab.curl("/api/history").stdout.split("\n\n", 1)[1])
    check(hist["step"] == 1 and "seg/lan/rx_bps" in hist["series"], "/api/history has the segments' series")

    check(lab.curl("/", name=None).returncode != 0, "no certificate: refused at the handshake")
    check(status_code(lab.curl("/", name="dave")) == 403, "a group without a role: 403")
    check(lab.curl("/", name="mallory", pki=lab.foreign).returncode != 0, "a foreign CA with the same name: refused")
    tls12 = lab.curl("/", extra=["--tls-max", "1.2"])
    check(tls12.returncode != 0, "TLS 1.2: refused")
    check("handshake refused" in log() and "has no role" in log(), "refusals are logged")

    for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/etc/passwd", "//etc/passwd",
                 "/index.html/../../../etc/passwd", "/gateway/web/index.html", "/app.js%00.html", "/vendor/",
                 "/vendor/../../CMakeLists.txt", "/api/history/../../../etc/shadow"):
        cp = lab.curl(path)
        check(status_code(cp) in (400, 404) and "root:" not in cp.stdout, f"{path}: {status_code(cp)}")
    check("<another path" in log(), "unknown paths are logged by length only")

    big = lab.curl("/", extra=["-H", "X-Big: " + "a" * 100000])
    check(status_code(big) in (400, 413, 431) or big.returncode != 0, f"100 kB header: {status_code(big)}")
    longurl = lab.curl("/" + "a" * 20000)
    check(status_code(longurl) in (400, 404, 414) or longurl.returncode != 0, f"20 kB URL: {status_code(longurl)}")
    post = lab.curl("/", extra=["--data", "x=1"])
    check(status_code(post) in (400, 405, 413), f"a POST: {status_code(post)}")
    raw = run(["ip", "netns", "exec", lab.c, "sh", "-c",
               f"printf 'GARBAGE\\r\\n\\r\\n' | timeout 10 openssl s_client -quiet -connect {ADDR}:{PORT} "
               f"-servername {SERVER_NAME} -cert {lab.cert('ann')[0]} -key {lab.cert('ann')[1]} 2>/dev/null"],
              check_rc=False)
    check(raw.stdout.startswith("HTTP/1.1 400"), f"a malformed request: {raw.stdout[:20]!r}")

    # 1,000 idle connections (no TLS): the kernel keeps them (TCP_DEFER_ACCEPT), the page and
    # the control socket answer as before.
    idle = []

    def open_idle():
        in_netns(lab.c)
        for _ in range(1000):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((ADDR, PORT))
            except BlockingIOError:
                pass
            idle.append(s)

    t = threading.Thread(target=open_idle)
    t.start()
    t.join()
    time.sleep(1)
    t0 = time.monotonic()
    during = lab.curl("/api/snapshot")
    page_s = time.monotonic() - t0
    _, idle_p99, idle_max = status_p99(lab.sock)
    established = run(["ip", "netns", "exec", lab.gw, "ss", "-Htn", "state", "established", f"sport = :{PORT}"]).stdout
    print(f"  with 1,000 idle connections: status p99 {idle_p99:.2f} ms (max {idle_max:.2f} ms), "
          f"the snapshot in {page_s:.2f} s, {len(established.splitlines())} connections accepted by the kernel")
    check(status_code(during) == 200 and page_s < 3, "the page answers with 1,000 idle connections open")
    # Not a timing test: on a loaded CI machine the p99 moves by tens of ms either way. What the
    # idle connections must never do is hold the loop (a starved loop answers in seconds, as the
    # page did before TCP_DEFER_ACCEPT); the figures above go to docs/performance.md.
    check(idle_max < 2000, f"status answered throughout (max {idle_max:.2f} ms, p99 {idle_p99:.2f} "
          f"vs {base_p99:.2f} ms alone)")
    for s in idle:
        s.close()

    # The stream that never reads.
    deadline = stuck_since + 90
    while time.monotonic() < deadline and "the client does not read" not in log():
        time.sleep(0.5)
    check("the client does not read" in log(),
          f"a stream client that never reads is closed and logged ({time.monotonic() - stuck_since:.0f} s)")
    stuck.close()

    srv = run(["ip", "netns", "exec", lab.s, "curl", "-sS", "--max-time", "3", "-k", f"https://{ADDR}:{PORT}/"],
              check_rc=False)
    check(srv.returncode != 0, "the other segment cannot reach the port")
    check(lab.daemon.poll() is None, "bulwarkd is still running")
    check(status_code(lab.curl("/")) == 200, "and still serves the page")


def bench(lab, n):
    # One certificate per dashboard (at most kMaxStreamsPerCert streams per certificate).
    pw = lab.tmp / "pw"
    names = [f"dash{i}" for i in range(n)]
    for name in names:
        run([lab.a.ctl, "pki", "--dir", lab.pki, "issue", name, "--group", "auditors", "--password-file", pw])
    rows = []
    for count in (0, 1, n):
        streams = Streams(lab, count, names=names) if count else None
        time.sleep(2)
        cpu, rss, p99, mx = measure(lab, 20)
        got = sum(streams.events) if streams else 0
        rows.append((count, cpu, rss, p99, mx, got))
        if streams:
            streams.close()
        time.sleep(2)
    print(f"{'dashboards':>10} {'CPU % of a core':>16} {'RSS MB':>8} {'status p99 ms':>14} {'max ms':>8} {'events read':>12}")
    for count, cpu, rss, p99, mx, got in rows:
        print(f"{count:>10} {cpu:>16.2f} {rss / 1e6:>8.2f} {p99:>14.2f} {mx:>8.2f} {got:>12}")
    print(f"{n} dashboards vs none: +{rows[2][1] - rows[0][1]:.2f} % of a core, "
          f"+{(rows[2][2] - rows[0][2]) / 1e6:.2f} MB RSS")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--dashboards", type=int, default=50)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    lab = Lab(a)
    try:
        try:
            lab.up()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"setup broke: {e}")
            return 2
        if a.bench:
            bench(lab, a.dashboards)
            return 0
        tests(lab)
        print("PASS")
        return 0
    except Failed as e:
        print(f"FAIL: {e}\n--- bulwarkd log (tail) ---\n{lab.logpath.read_text()[-2000:]}")
        return 1
    finally:
        lab.down()
        lab.remove()


if __name__ == "__main__":
    sys.exit(main())
