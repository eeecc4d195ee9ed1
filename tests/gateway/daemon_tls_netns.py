#!/usr/bin/python3
"""bulwarkd's remote control API (TLS 1.3, client certificates from Bulwark's CA) in private
network namespaces, with certificates made by the project's own `bulwarkctl pki`.

    daemon_tls_netns.py --daemon BULWARKD --ctl BULWARKCTL [--bench N] [--keep]

Topology (namespaces "<prefix>-gw/-c/-s", removed at the end, also after a failure):
    <prefix>-c  eth0 10.1.0.10 ── lan0 10.1.0.1  <prefix>-gw  srv0 10.2.0.1 ── eth0 10.2.0.10  <prefix>-s
The policy names 10.1.0.1:9443 (the lan segment's gateway address) in gateway.control, with
group netops → change and auditors → view. Clients run in <prefix>-c (the management side);
<prefix>-s is another segment, which the firewall keeps away from the port.

Checks: the daemon listens on 10.1.0.1:9443 and on no other TCP address (`ss -ltn`); a
netops certificate can apply (and history/audit name its CN); an auditors certificate gets
`denied` on apply (and on `bulwarkctl tunnels terminate`) but can read status; `bulwarkctl
tunnels` over --connect reaches the daemon's op; a certificate whose group the policy does not map is
refused; a certificate revoked after the daemon started is refused at the handshake (the CRL
is re-read without a restart); a revocation also closes the connections its certificate
already has open (a status connection and an events subscriber, within 5 s, with a last
error line; audited and logged with CN and serial) while another admin's open connection
keeps working; a certificate from a foreign CA with the same CA name is
refused; a client without a certificate is refused; a TLS 1.2-only client is refused
(`openssl s_client -tls1_2` as the witness, `-tls1_3` with the same certificate as the
control); the other segment cannot reach the port; stalled handshakes are bounded (a 5th
from one address is refused, the others closed at the 10 s handshake timeout). With --bench N it also measures the
handshake time and the status round trip over an established connection (N of each, Python's
ssl module as the client) and prints them.

Exit 0 all passed, 1 a check failed, 2 the setup broke, 77 not root.
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
import time
from pathlib import Path

PORT = 9443
ADDR = "10.1.0.1"
SERVER_NAME = "gw.test"
CA_NAME = "Bulwark Test CA"
PASSWORD = "tls-test-password"

POLICY = f"""gateway:
  uplink: up0
  control: {{ listen: {ADDR}, port: {PORT}, change: netops, view: auditors }}
segments:
  - name: lan
    interface: lan0
    ipv4: {{ subnet: 10.1.0.0/24, gateway: 10.1.0.1 }}
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


def check(ok, what):
    if not ok:
        raise Failed(what)


def run(argv, timeout=30, check=True, **kw):
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} -> {cp.returncode}: {cp.stderr.strip()[:400]}")
    return cp


class Lab:
    def __init__(self, a):
        self.a = a
        self.prefix = f"bwt{os.getpid() % 100000}"
        self.gw, self.c, self.s = (f"{self.prefix}-{x}" for x in ("gw", "c", "s"))
        self.tmp = Path(tempfile.mkdtemp(prefix="bulwarkd-tls-test-"))
        self.pol = self.tmp / "policy"
        self.pol.mkdir()
        (self.pol / "policy.yaml").write_text(POLICY)
        self.pki = self.tmp / "pki"
        self.foreign = self.tmp / "foreign-pki"
        self.pwfile = self.tmp / "p12-password"
        self.pwfile.write_text(PASSWORD + "\n")
        self.state = self.tmp / "state"
        self.sock = self.tmp / "run" / "control.sock"
        self.daemon = None
        self.logpath = self.tmp / "bulwarkd.log"

    def ns(self, ns, *argv, **kw):
        return run(["ip", "netns", "exec", ns, *argv], **kw)

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

    def down(self):
        self.stop_daemon(signal.SIGKILL)
        for n in (self.gw, self.c, self.s):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)

    # ---- the PKI, with the project's own tool ----
    def make_pki(self):
        ctl = self.a.ctl
        for d in (self.pki, self.foreign):
            run([ctl, "pki", "--dir", d, "init", "--ca-name", CA_NAME])  # the same CA name: a forgery attempt
            run([ctl, "pki", "--dir", d, "gateway", "--local-id", SERVER_NAME])
        for name, group in (("alice", "netops"), ("bob", "auditors"), ("carol", "netops"), ("dave", "dba"),
                            ("erin", "netops")):
            run([ctl, "pki", "--dir", self.pki, "issue", name, "--group", group, "--password-file", self.pwfile])
        run([ctl, "pki", "--dir", self.foreign, "issue", "mallory", "--group", "netops", "--password-file", self.pwfile])

    def bundle(self, name, pki=None):
        return (pki or self.pki) / "issued" / name

    # ---- the daemon ----
    def start_daemon(self):
        argv = ["ip", "netns", "exec", self.gw, self.a.daemon, "--policy", self.pol, "--socket", self.sock,
                "--state-dir", self.state, "--metrics", "off", "--no-journal", "--pki", self.pki,
                "--drift-interval", "0"]
        self.log = open(self.logpath, "a")
        self.daemon = subprocess.Popen([str(x) for x in argv], stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("bulwarkd exited: " + self.logpath.read_text()[-800:])
            if "ready:" in self.logpath.read_text() and f"{ADDR}:{PORT}" in self.listeners():
                return
            time.sleep(0.05)
        raise RuntimeError("bulwarkd did not come up: " + self.logpath.read_text()[-800:])

    def stop_daemon(self, sig=signal.SIGTERM):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(sig)
            self.daemon.wait(timeout=10)
        self.daemon = None

    def listeners(self):
        out = self.ns(self.gw, "ss", "-Hltn").stdout
        return [line.split()[3] for line in out.splitlines() if line.strip()]

    def remote(self, name, *argv, pki=None, ns=None, check=False):
        b = self.bundle(name, pki)
        cmd = [self.a.ctl, "--connect", f"{ADDR}:{PORT}", "--cert", b / f"{name}.p12", "--cert-password-file",
               self.pwfile, "--ca", self.pki / "ca.crt", "--server-name", SERVER_NAME, *argv]
        return self.ns(ns or self.c, *cmd, check=check, timeout=60)

    def audit(self):
        p = self.state / "audit.log"
        return [json.loads(l) for l in p.read_text().splitlines()] if p.exists() else []

    def log_text(self):
        return self.logpath.read_text()


def table(lab):
    """Bulwark's table without counter values (the clients' own packets move them)."""
    text = lab.ns(lab.gw, "nft", "list", "table", "inet", "bulwark").stdout
    return re.sub(r"counter packets \d+ bytes \d+", "counter", text)


def wait_log(lab, text, timeout=3.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in lab.log_text():
            return True
        time.sleep(0.05)
    return False


# ---- the checks ----
def t_listens_only_on_the_policy_address(lab):
    got = lab.listeners()
    check(got == [f"{ADDR}:{PORT}"], f"TCP listeners in the gateway namespace: {got}")


def t_change_group_can_apply(lab):
    r = lab.remote("alice", "--json", "status")
    check(r.returncode == 0, f"alice status: {r.stderr}")
    you = json.loads(r.stdout)["you"]
    check(you["role"] == "change" and you["certificate"]["cn"] == "alice" and you["certificate"]["group"] == "netops",
          f"alice is {you}")
    changed = lab.tmp / "changed.yaml"
    changed.write_text(POLICY + EXTRA_RULE)
    r = lab.remote("alice", "apply", changed)
    check(r.returncode == 0, f"alice could not apply: {r.returncode} {r.stderr}")
    r = lab.ns(lab.gw, "nft", "list", "table", "inet", "bulwark")
    check("lan-to-srv-https" in r.stdout, "the applied rule is not in the kernel")
    r = lab.remote("alice", "--json", "history", "--limit", "1")
    who = json.loads(r.stdout)["revisions"][0]["who"]
    check(who.startswith("CN=alice, OU=netops (certificate "), f"history who: {who}")
    applies = [e for e in lab.audit() if e["event"] == "apply"]
    check(applies and applies[-1]["who"].startswith("CN=alice, OU=netops") and applies[-1]["uid"] == -1,
          f"audit: {applies[-1:]}")


def t_view_group_cannot_apply_but_reads(lab):
    before = table(lab)
    r = lab.remote("bob", "apply", lab.pol)
    check(r.returncode != 0 and "permission denied" in r.stderr and "read-only role" in r.stderr,
          f"bob could apply: {r.returncode} {r.stderr}")
    check(table(lab) == before, "the ruleset changed")
    denied = [e for e in lab.audit() if e["event"] == "denied"]
    check(denied and denied[-1]["who"].startswith("CN=bob, OU=auditors"), f"refusal not audited: {denied[-1:]}")
    r = lab.remote("bob", "--json", "status")
    check(r.returncode == 0 and json.loads(r.stdout)["you"]["role"] == "view", f"bob cannot read: {r.stderr}")


def t_tunnels_over_tls(lab):
    # bulwarkctl tunnels / terminate over --connect reach the daemon's ops (this daemon runs
    # without --vici: the daemon's answer, not a VICI connection error, proves the route);
    # terminate needs the change role (tests/gateway/daemon_vpn_test.py has real tunnels).
    r = lab.remote("bob", "tunnels", "terminate", "alice")
    check(r.returncode == 1 and "read-only role" in r.stderr, f"bob could terminate: {r.returncode} {r.stderr}")
    denied = [e for e in lab.audit() if e["event"] == "denied"]
    check(denied and denied[-1]["who"].startswith("CN=bob, OU=auditors") and "'terminate'" in denied[-1]["summary"],
          f"refused terminate not audited: {denied[-1:]}")
    for who in ("alice", "bob"):
        r = lab.remote(who, "tunnels")
        check(r.returncode == 1 and "bulwarkd: no VPN: bulwarkd runs without --vici" in r.stderr,
              f"{who}: tunnels over TLS: {r.returncode} {r.stderr}")
    r = lab.remote("alice", "tunnels", "terminate", "alice")
    check(r.returncode == 1 and "bulwarkd: no VPN" in r.stderr, f"alice terminate over TLS: {r.returncode} {r.stderr}")


def t_unmapped_group_refused(lab):
    r = lab.remote("dave", "status")
    check(r.returncode != 0 and "certificate group 'dba'" in r.stderr, f"dave: {r.returncode} {r.stderr}")


def t_revoked_after_start_refused(lab):
    r = lab.remote("carol", "status")
    check(r.returncode == 0, f"carol before the revocation: {r.stderr}")
    run([lab.a.ctl, "pki", "--dir", lab.pki, "revoke", "carol"])
    r = lab.remote("carol", "status")
    check(r.returncode != 0, "carol still gets in after the revocation")
    check(wait_log(lab, "refused at the handshake: client certificate: certificate revoked"),
          "the daemon did not refuse carol for revocation")
    r = lab.remote("alice", "status")  # the new CRL does not lock out everyone else
    check(r.returncode == 0, f"alice after carol's revocation: {r.stderr}")


# Open connections in the client namespace: erin (a status connection and an events
# subscriber) and alice; after "go" on stdin, how long until each of erin's is closed, what
# it received last, and whether alice's still answers.
OPEN_CONNECTIONS = r"""
import json, socket, ssl, sys, time
ca, addr, port, server_name, certs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
certs = json.loads(certs)
def connect(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(*certs[name])
    t = ctx.wrap_socket(socket.create_connection((addr, port), timeout=10), server_hostname=server_name)
    return t, t.makefile("rwb")
def request(f, op, i):
    f.write((json.dumps({"id": i, "op": op}) + "\n").encode())
    f.flush()
    return json.loads(f.readline())
erin, ef = connect("erin")
alice, af = connect("alice")
sub, sf = connect("erin")
st = request(ef, "status", 1)
ready = {"erin": st["ok"], "serial": st["you"]["certificate"]["serial"], "alice": request(af, "status", 1)["ok"],
         "subscribed": request(sf, "events", 1)["ok"]}
print(json.dumps(ready), flush=True)
sys.stdin.readline()  # erin's certificate is revoked now
t0 = time.monotonic()
def until_closed(t, f):
    lines = []
    t.settimeout(10)
    try:
        while True:
            line = f.readline()
            if not line:
                break
            lines.append(line.decode().strip())
    except (ssl.SSLError, OSError) as e:  # a timeout included: then it was not closed
        lines.append("error: " + type(e).__name__)
    return {"lines": lines, "seconds": round(time.monotonic() - t0, 2)}
out = {"status_conn": until_closed(erin, ef), "subscriber": until_closed(sub, sf)}
out["alice_after"] = request(af, "status", 2)["ok"]
print(json.dumps(out), flush=True)
"""


def t_revocation_closes_open_connections(lab):
    certs = {n: [str(lab.bundle(n) / f"{n}.crt"), str(lab.bundle(n) / f"{n}.key")] for n in ("alice", "erin")}
    p = subprocess.Popen(["ip", "netns", "exec", lab.c, "python3", "-c", OPEN_CONNECTIONS, str(lab.pki / "ca.crt"),
                          ADDR, str(PORT), SERVER_NAME, json.dumps(certs)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(p.stdout.readline() or "{}")
        check(ready.get("erin") and ready.get("alice") and ready.get("subscribed"),
              f"the connections did not open: {ready}")
        serial = ready["serial"]
        run([lab.a.ctl, "pki", "--dir", lab.pki, "revoke", "erin"])  # writes the new crl.pem
        p.stdin.write("go\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=40)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    res = json.loads(out.splitlines()[-1]) if out.strip() else {}
    check(res, f"no result from the client: {err[-500:]}")
    for conn in ("status_conn", "subscriber"):
        r = res[conn]
        check(r["seconds"] < 5.0 and not any(l.startswith("error: timeout") or l == "error: TimeoutError"
                                             for l in r["lines"]),
              f"erin's open {conn} was not closed within 5 s after the revocation: {r}")
        check(any("certificate revoked" in l and "connection closed" in l for l in r["lines"]),
              f"erin's {conn} got no closing notice: {r}")
        print(f"     erin's {conn} closed {r['seconds']} s after the revocation")
    check(res["alice_after"], "alice's open connection stopped working after erin's revocation")
    check(wait_log(lab, f"closed the connection of CN=erin, OU=netops (certificate {serial}, "),
          "the daemon log does not name the closed connection")
    closed = [e for e in lab.audit() if e["event"] == "denied" and e["who"].startswith(
        f"CN=erin, OU=netops (certificate {serial}, ") and "certificate revoked" in e["summary"]]
    check(len(closed) == 2, f"audit: {len(closed)} entries for erin's closed connections, want 2")
    r = lab.remote("erin", "status")
    check(r.returncode != 0, "erin gets in with a new connection after the revocation")


def t_foreign_ca_refused(lab):
    r = lab.remote("mallory", "status", pki=lab.foreign)
    check(r.returncode != 0, "a certificate from a foreign CA got in")
    check(wait_log(lab, "client certificate: unable to get local issuer certificate") or
          wait_log(lab, "client certificate: certificate signature failure"),
          "the daemon did not refuse the foreign certificate at the handshake")


def s_client(lab, version, with_cert=True):
    b = lab.bundle("alice")
    argv = f"openssl s_client -connect {ADDR}:{PORT} {version} -CAfile {lab.pki / 'ca.crt'} -verify_return_error"
    argv += " -quiet -no_ign_eof"  # hang up at the end of stdin (-quiet alone would wait)
    if with_cert:
        argv += f" -cert {b / 'alice.crt'} -key {b / 'alice.key'}"
    # stdin stays open for a second so the reply arrives before s_client hangs up
    script = f"(echo '{{\"id\": 1, \"op\": \"status\"}}'; sleep 1) | {argv}"
    return lab.ns(lab.c, "timeout", "10", "bash", "-c", script, check=False)


def t_tls12_refused_tls13_works(lab):
    r = s_client(lab, "-tls1_2")
    check('"ok":true' not in r.stdout and ("protocol version" in r.stderr or "alert" in r.stderr),
          f"TLS 1.2 client: rc {r.returncode}, {r.stderr[-300:]}")
    check(wait_log(lab, "unsupported protocol"), "the daemon log does not show the TLS 1.2 refusal")
    r = s_client(lab, "-tls1_3")
    check('"ok":true' in r.stdout and '"cn":"alice"' in r.stdout, f"TLS 1.3 with the same cert: {r.stdout[-300:]}")


def t_no_client_certificate_refused(lab):
    r = s_client(lab, "-tls1_3", with_cert=False)
    check('"ok":true' not in r.stdout, "a client without a certificate got a reply")
    check(wait_log(lab, "peer did not return a certificate"), "the daemon did not refuse the certificate-less client")


def t_other_segment_cannot_reach(lab):
    r = lab.ns(lab.s, "timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{ADDR}/{PORT}", check=False)
    check(r.returncode != 0, "the srv segment reached the control port")


STALL = r"""
import socket, sys, time
addr, port = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(5):
    s = socket.create_connection((addr, port), timeout=20)
    socks.append(s)
    time.sleep(0.1)
t0 = time.monotonic()
socks[4].settimeout(2)
fifth = socks[4].recv(1)              # b'': hung up at once (4 handshakes pending from us)
first = socks[0].recv(1)              # b'': hung up at the handshake timeout
print(repr(fifth), repr(first), round(time.monotonic() - t0, 1))
"""


def t_stalled_handshakes_bounded(lab):
    r = lab.ns(lab.c, "python3", "-c", STALL, ADDR, str(PORT), timeout=40)
    fifth, first, secs = r.stdout.split()
    check(fifth == "b''", f"a 5th pending handshake from one address was not refused: {r.stdout}")
    check(first == "b''" and 8.0 <= float(secs) <= 14.0, f"a stalled handshake was not closed after ~10 s: {r.stdout}")
    check(wait_log(lab, "handshakes from it already pending") and wait_log(lab, "did not finish the handshake"),
          "the daemon log does not show the limits")
    r = lab.remote("alice", "status")
    check(r.returncode == 0, f"alice after the stalled handshakes: {r.stderr}")


def t_crl_running_out_is_audited(lab):
    """A CRL within a day of its nextUpdate: the log warns and the audit trail says crl-expiring,
    once. The short CRL is signed by the lab's CA with openssl's own `ca -gencrl` (bulwarkctl's
    CRLs last 7 days); the lab's CRL is put back afterwards."""
    work = lab.tmp / "short-crl"
    work.mkdir(exist_ok=True)
    (work / "index.txt").write_text("")
    (work / "crlnumber").write_text("1000\n")
    (work / "ca.cnf").write_text(f"[ca]\ndefault_ca = d\n[d]\ndatabase = {work}/index.txt\n"
                                 f"crlnumber = {work}/crlnumber\ndefault_md = sha256\n")
    crl = lab.pki / "crl.pem"
    saved = crl.read_bytes()
    run(["openssl", "ca", "-batch", "-gencrl", "-config", work / "ca.cnf", "-cert", lab.pki / "ca.crt",
         "-keyfile", lab.pki / "private" / "ca.key", "-crlhours", "2", "-out", work / "crl.pem"])
    try:
        crl.write_bytes((work / "crl.pem").read_bytes())
        before = len([e for e in lab.audit() if e.get("event") == "crl-expiring"])
        lab.stop_daemon()
        lab.start_daemon()  # the listener looks at the CRL when it starts, then every minute
        check(wait_log(lab, "tls: the CRL expires at", 5.0), "no log warning about the CRL's end")
        deadline = time.time() + 5
        got = []
        while time.time() < deadline and not got:
            got = [e for e in lab.audit() if e.get("event") == "crl-expiring"][before:]
            time.sleep(0.05)
        check(len(got) == 1, f"audit crl-expiring entries: {got}")
        e = got[0]
        left = e["detail"]["next_update"] - time.time()
        check(6600 < left <= 7200, f"next_update {left:.0f} s from now, want ~2 h: {e}")
        check(not e["ok"] and "renew it (bulwarkctl pki crl" in e["summary"], f"audit entry: {e}")
        r = lab.remote("alice", "status")
        check(r.returncode == 0, f"a client is still served before the end: {r.stderr}")
    finally:
        crl.write_bytes(saved)
        lab.stop_daemon()
        lab.start_daemon()


TESTS = [t_listens_only_on_the_policy_address, t_change_group_can_apply, t_view_group_cannot_apply_but_reads,
         t_tunnels_over_tls, t_unmapped_group_refused, t_revoked_after_start_refused, t_revocation_closes_open_connections,
         t_foreign_ca_refused, t_tls12_refused_tls13_works,
         t_no_client_certificate_refused, t_other_segment_cannot_reach, t_stalled_handshakes_bounded,
         t_crl_running_out_is_audited]


BENCH = r"""
import json, socket, ssl, statistics, sys, time
ca, crt, key, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(ca)
ctx.load_cert_chain(crt, key)
def request(t, i):
    t.sendall((json.dumps({"id": i, "op": "status"}) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        buf += t.recv(65536)
    assert json.loads(buf)["ok"], buf
hs, rtt = [], []
def connect():
    s = socket.create_connection(("%s", %d))
    # Nagle off, as a console should: the request follows the handshake's last flight
    # before its ACK, and the server's delayed ACK would hold it ~40 ms.
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
for i in range(n):
    s = connect()
    t0 = time.perf_counter()
    t = ctx.wrap_socket(s, server_hostname="%s")
    request(t, 0)   # in TLS 1.3 the server's verdict on our certificate comes with its first reply
    hs.append(time.perf_counter() - t0)
    t.close()
t = ctx.wrap_socket(connect(), server_hostname="%s")
request(t, 0)
for i in range(n):
    t0 = time.perf_counter()
    request(t, i + 1)
    rtt.append(time.perf_counter() - t0)
t.close()
q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))] * 1000
print(json.dumps({"n": n, "connect_handshake_first_status_ms": {"median": statistics.median(hs) * 1000, "p99": q(hs, 0.99)},
                  "status_rtt_ms": {"median": statistics.median(rtt) * 1000, "p99": q(rtt, 0.99)}}))
""" % (ADDR, PORT, SERVER_NAME, SERVER_NAME)


def bench(lab, n):
    b = lab.bundle("alice")
    r = lab.ns(lab.c, "python3", "-c", BENCH, lab.pki / "ca.crt", b / "alice.crt", b / "alice.key", str(n),
               timeout=300)
    out = json.loads(r.stdout)
    # The whole `bulwarkctl --connect ... status` (process, PKCS#12 decryption, connect,
    # handshake, request), run inside the client namespace by a shell loop.
    runs = 10
    script = (f"s=$(date +%s%N); for i in $(seq {runs}); do {lab.a.ctl} --connect {ADDR}:{PORT} --cert "
              f"{b / 'alice.p12'} --cert-password-file {lab.pwfile} --ca {lab.pki / 'ca.crt'} --server-name "
              f"{SERVER_NAME} status >/dev/null || exit 1; done; echo $(( ($(date +%s%N) - s) / {runs} ))")
    r = lab.ns(lab.c, "bash", "-c", script, timeout=300)
    out["bulwarkctl_connect_status_ms_mean_of_10"] = int(r.stdout.strip()) / 1e6
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--bench", type=int, default=0, help="also measure handshake and status RTT, N of each")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs) after the run")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)")
        return 77
    lab = Lab(a)
    failed = 0
    try:
        try:
            lab.up()
            lab.make_pki()
            lab.start_daemon()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"setup failed: {e}")
            return 2
        for t in TESTS:
            start = time.monotonic()
            try:
                t(lab)
                print(f"ok   {t.__name__} ({time.monotonic() - start:.1f} s)")
            except (Failed, RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError, IndexError) as e:
                failed += 1
                print(f"FAIL {t.__name__}: {e}")
        if a.bench and not failed:
            print("bench " + json.dumps(bench(lab, a.bench)))
        # A clean exit on SIGTERM, and nothing from the sanitizers (asan preset) in the log.
        rc = lab.daemon.poll()
        if rc is None:
            lab.daemon.send_signal(signal.SIGTERM)
            rc = lab.daemon.wait(timeout=30)
            lab.daemon = None
        bad = [l for l in lab.log_text().splitlines() if "Sanitizer" in l or "runtime error" in l]
        if rc != 0 or bad:
            failed += 1
            print(f"FAIL clean exit: rc {rc}; {bad[:5]}")
        else:
            print("ok   clean exit (SIGTERM)")
        if failed:
            print("daemon log:\n" + lab.log_text()[-3000:])
    finally:
        lab.down()
        if not a.keep:
            shutil.rmtree(lab.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
