#!/usr/bin/python3
"""bulwark-console over TLS against a real bulwarkd: the console side of the remote control API.

    console_tls_e2e.py --daemon BULWARKD --ctl BULWARKCTL --gui GUI_TLS_E2E_BINARY

Namespaces "<prefix>-gw" and "<prefix>-c" (the management side, lan0 10.1.0.1 ── eth0
10.1.0.10). The policy puts the daemon's TLS listener on 10.1.0.1:9443 (gateway.control:
netops → change, auditors → view); certificates come from `bulwarkctl pki` (init, gateway,
issue alice/netops and bob/auditors as PKCS#12; a second PKI with the same CA name stands in
for a forger). GUI_TLS_E2E_BINARY (tests/gui/gui_tls_e2e_test.cpp) runs inside "<prefix>-c"
with Qt's offscreen platform: alice connects and plans, bob gets the view role and is
refused on apply, a daemon checked against the foreign CA is refused.

Bounded; namespaces, daemon and the temporary directory are removed at the end, also after a
failure. Exit 0 passed, 1 a check failed, 2 the setup broke, 77 cannot run here (not root).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADDR, PORT, SERVER_NAME, PASSWORD = "10.1.0.1", 9443, "gw.test", "console-tls-e2e"
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


def run(argv, timeout=60, check=True):
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} -> {cp.returncode}: {cp.stderr.strip()[:600]}")
    return cp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--gui", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    prefix = f"bwgt{os.getpid() % 100000}"
    gw, cl = f"{prefix}-gw", f"{prefix}-c"
    tmp = Path(tempfile.mkdtemp(prefix="console-tls-e2e-"))
    daemon = None

    def cleanup():
        if daemon and daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=5)
        for n in (gw, cl):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(2)))
    try:
        for n in (gw, cl):
            run(["ip", "netns", "add", n])
            run(["ip", "-n", n, "link", "set", "lo", "up"])
        run(["ip", "-n", gw, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", cl])
        run(["ip", "-n", gw, "link", "add", "srv0", "type", "veth", "peer", "name", "srv0p"])
        run(["ip", "-n", gw, "link", "add", "up0", "type", "veth", "peer", "name", "up0p"])
        for ifn, addr in (("lan0", "10.1.0.1/24"), ("srv0", "10.2.0.1/24"), ("up0", "192.0.2.1/24")):
            run(["ip", "-n", gw, "addr", "add", addr, "dev", ifn])
            run(["ip", "-n", gw, "link", "set", ifn, "up"])
        run(["ip", "-n", cl, "addr", "add", "10.1.0.10/24", "dev", "eth0"])
        run(["ip", "-n", cl, "link", "set", "eth0", "up"])

        pki, foreign = tmp / "pki", tmp / "foreign-pki"
        pw = tmp / "p12-password"
        pw.write_text(PASSWORD + "\n")
        for d in (pki, foreign):
            run([a.ctl, "pki", "--dir", d, "init", "--ca-name", "Bulwark Console Test CA"])
            run([a.ctl, "pki", "--dir", d, "gateway", "--local-id", SERVER_NAME])
        for name, group in (("alice", "netops"), ("bob", "auditors")):
            run([a.ctl, "pki", "--dir", pki, "issue", name, "--group", group, "--password-file", pw])
        pol = tmp / "policy"
        pol.mkdir()
        (pol / "policy.yaml").write_text(POLICY)
        log = tmp / "bulwarkd.log"
        with open(log, "w") as lf:
            daemon = subprocess.Popen(["ip", "netns", "exec", gw, a.daemon, "--policy", pol, "--socket", tmp / "control.sock",
                                       "--state-dir", tmp / "state", "--metrics", "off", "--no-journal", "--pki", pki,
                                       "--drift-interval", "0"], stdout=lf, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while f"{ADDR}:{PORT}" not in run(["ip", "netns", "exec", gw, "ss", "-Hltn"]).stdout:
            if daemon.poll() is not None or time.time() > deadline:
                raise RuntimeError("bulwarkd did not listen: " + log.read_text()[-800:])
            time.sleep(0.1)

        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BULWARK_TLS_HOST=ADDR, BULWARK_TLS_PORT=str(PORT),
                   BULWARK_TLS_SERVER_NAME=SERVER_NAME, BULWARK_TLS_CA=str(pki / "ca.crt"),
                   BULWARK_TLS_FOREIGN_CA=str(foreign / "ca.crt"), BULWARK_TLS_PASSWORD=PASSWORD,
                   BULWARK_TLS_ALICE=str(pki / "issued" / "alice" / "alice.p12"),
                   BULWARK_TLS_BOB=str(pki / "issued" / "bob" / "bob.p12"), BULWARK_TLS_POLICY=str(pol))
        cp = subprocess.run(["ip", "netns", "exec", cl, a.gui, "-o", "-,txt"], env=env, timeout=180)
        if cp.returncode != 0:
            print(f"FAIL: console TLS test exit {cp.returncode}; bulwarkd log tail:\n{log.read_text()[-1500:]}")
            return 1
        print("console over TLS: alice (change) plans, bob (view) is refused on apply, a foreign CA is refused")
        return 0
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"SETUP: {e}")
        return 2
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
