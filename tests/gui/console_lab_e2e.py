#!/usr/bin/python3
"""bulwark-console end to end in the lab under load: a real window under Xvfb against the lab's
bulwarkd while real streams go through the VIP.

    console_lab_e2e.py --ctl BULWARKCTL --daemon BULWARKD --tools DIR --gui GUI_LAB_E2E_BINARY
                       [--screenshots DIR] [--streams N] [--bitrate KBIT_S] [--duration S]
                       [--sanitize ON|OFF]

Runs the lab as lab/demo.sh does: `lab/lab up` (campus.yaml's network in namespaces "bwc<pid>-*",
real services) and `lab/lab vpn up` (the gateway's charon, one admin tunnel per VPN group). The
lab's bulwarkd configures no VPN (the lab's charon is configured by bulwarkctl vpn apply), so
this test puts a bulwarkd with --vici in its place (the lab's policy dir, the lab's PKI): its
status carries the vpn part. Then it runs GUI_LAB_E2E_BINARY (tests/gui/gui_lab_e2e_test.cpp)
on a private Xvfb display and, once the window polls, `lab/lab load` in the background (default
250 streams x 64 kbit/s, 40 s hold): the traffic chart must reach >= 0.9x the bit/s the load
holds within 3 s of the hold starting; every view is saved as a PNG during the load; then the
gateway's charon (the pid `lab/lab vpn up` recorded) is killed and the state bar must turn
amber with the vpn part's error. The chart's figure is also set against the bit/s the load
achieved by its own report (printed, with the machine's load average).

Everything is bounded and removed at the end, also after a failure or a signal: the window,
Xvfb, the load, bulwarkd, and `lab/lab down` (no namespace of the prefix may be left).
Exit 0 passed, 1 a check failed, 2 the setup broke, 77 cannot run here (not root, no Xvfb,
strongSwan or nginx).
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from console_e2e import namespaces_left, run, start_xvfb  # the same directory

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "lab" / "lab"
CAMPUS = ROOT / "policies" / "examples" / "campus.yaml"
NEEDS = {"Xvfb": "xvfb", "swanctl": "strongswan-swanctl", "/usr/lib/ipsec/charon": "strongswan-charon",
         "/usr/sbin/nginx": "nginx-light"}


def lab(*args, timeout=240):
    return run([sys.executable, LAB, *args], timeout=timeout)


def stop(p, sig=signal.SIGTERM, grace=15):
    if p is None or p.poll() is not None:
        return
    p.send_signal(sig)
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)


def start_daemon(a, state, tmp):
    """The lab's bulwarkd stopped (it leaves the ruleset as it is), this one started in its
    place with the VPN kind: --vici on the gateway's charon, the lab's PKI and policy dir."""
    pid = state["pids"].get("gateway/bulwarkd")
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 15
        while Path(f"/proc/{pid}").exists() and time.time() < deadline:
            time.sleep(0.05)
    sock = tmp / "control.sock"
    log = tmp / "bulwarkd.log"
    with open(log, "w") as out:
        d = subprocess.Popen(["ip", "netns", "exec", state["ns"]["gw"], a.daemon, "--policy",
                              state["daemon"]["policy_dir"], "--socket", str(sock), "--state-dir", str(tmp / "state"),
                              "--metrics", "off", "--no-journal", "--no-links", "--vici", state["vpn"]["gw"]["uri"],
                              "--pki", f"/var/lib/bulwark-lab/{state['prefix']}/pki", "--libipsec"],
                             stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while not (sock.exists() and run([a.ctl, "--socket", sock, "status"], check=False).returncode == 0):
        if d.poll() is not None or time.time() > deadline:
            raise RuntimeError("bulwarkd with --vici did not come up: " + log.read_text()[-1500:])
        time.sleep(0.1)
    return d, sock, log


def skip_reason(a):
    """Why this test cannot run here (None: it can)."""
    if a.sanitize.upper() in ("ON", "1", "TRUE", "YES"):
        return "sanitizer build (a system test with the lab under load; the dev build runs it)"
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    lack = sorted({pkg for tool, pkg in NEEDS.items() if not shutil.which(tool) and not os.access(tool, os.X_OK)})
    return f"missing {', '.join(lack)} (tools/install-deps.sh)" if lack else None


def main():
    ap = argparse.ArgumentParser()
    for required in ("--ctl", "--daemon", "--tools", "--gui"):
        ap.add_argument(required, required=True)
    ap.add_argument("--screenshots", default="")
    ap.add_argument("--streams", type=int, default=250)
    ap.add_argument("--bitrate", type=int, default=64, help="kbit/s per stream")
    ap.add_argument("--duration", type=int, default=40, help="seconds of hold")
    ap.add_argument("--sanitize", default="OFF", help="ON: a sanitizer build (the test is skipped)")
    a = ap.parse_args()
    why = skip_reason(a)
    if why:
        print(f"SKIP: {why}")
        return 77

    prefix = f"bwc{os.getpid() % 100000}"
    tmp = Path(tempfile.mkdtemp(prefix="console-lab-e2e-"))
    procs = []  # (name, Popen), ended in reverse order
    lab_up = False

    def cleanup():
        for name, p in reversed(procs):
            # the load: SIGINT, so that lab/lab ends its client processes in its finally
            stop(p, signal.SIGINT if name == "load" else signal.SIGTERM)
        if lab_up:
            cp = subprocess.run([sys.executable, str(LAB), "down", "--prefix", prefix], capture_output=True,
                                text=True, timeout=120)
            if cp.returncode != 0:
                print(f"lab/lab down --prefix {prefix}: {cp.stderr.strip()[-600:]}")
        shutil.rmtree(tmp, ignore_errors=True)
        if namespaces_left(prefix):
            sys.exit(1)

    def on_signal(signum, _frame):
        raise SystemExit(2)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        t0 = time.monotonic()
        lab_up = True
        lab("up", "--prefix", prefix, "--ctl", a.ctl, "--tools", a.tools, "--policy", CAMPUS)
        lab("vpn", "up", "--prefix", prefix, timeout=180)
        state = json.loads((Path("/run/bulwark-lab") / prefix / "state.json").read_text())
        charon = state["pids"]["vpn/gw-charon"]
        if Path(f"/proc/{charon}/comm").read_text().strip() != "charon":
            raise RuntimeError(f"pid {charon} of vpn/gw-charon is not charon")
        d, sock, log = start_daemon(a, state, tmp)
        procs.append(("bulwarkd", d))
        print(f"lab {prefix} up with the admin VPN, bulwarkd --vici in {state['ns']['gw']} "
              f"({time.monotonic() - t0:.1f}s)", flush=True)

        # The working copy the console opens: the lab's policy in a Git repository.
        wc = tmp / "policy"
        wc.mkdir()
        shutil.copyfile(state["policy"], wc / "campus.yaml")
        git = ["git", "-C", wc, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
        run(["git", "init", "-q", wc])
        run([*git, "add", "campus.yaml"])
        run([*git, "commit", "-q", "-m", "campus"])

        display = start_xvfb(procs)

        shots = Path(a.screenshots) if a.screenshots else tmp / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        files = {k: tmp / k for k in ("ready", "hold", "load-done", "result.json")}
        env = dict(os.environ, DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb", BULWARK_E2E_SOCKET=str(sock),
                   BULWARK_E2E_POLICY=str(wc), BULWARK_E2E_SCREENSHOTS=str(shots),
                   BULWARK_E2E_READY=str(files["ready"]), BULWARK_E2E_HOLD=str(files["hold"]),
                   BULWARK_E2E_LOAD_DONE=str(files["load-done"]), BULWARK_E2E_RESULT=str(files["result.json"]),
                   BULWARK_E2E_KILL_CHARON=f"kill -KILL {charon}",
                   BULWARK_E2E_FOREIGN_NFT=f"ip netns exec {state['ns']['gw']} nft add rule inet bulwark forward "
                                           "ip saddr 192.0.2.99 accept")
        env.pop("WAYLAND_DISPLAY", None)
        gui = subprocess.Popen([a.gui, "-o", "-,txt"], env=env)
        procs.append(("window", gui))
        deadline = time.time() + 60
        while not files["ready"].exists():
            if gui.poll() is not None or time.time() > deadline:
                print(f"FAIL: the window did not connect and poll (exit {gui.poll()})")
                return 1
            time.sleep(0.1)

        # The load, once the window polls the daemon; its hold's start goes to the window.
        bit_s = a.streams * a.bitrate * 1000
        load = subprocess.Popen([sys.executable, "-u", str(LAB), "load", "--prefix", prefix, "--streams",
                                 str(a.streams), "--bitrate", str(a.bitrate), "--duration", str(a.duration),
                                 "--reapply-at", "none", "--report-every", "5", "--json-out", str(tmp / "load.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(("load", load))

        def follow():
            for line in load.stdout:
                print("  | " + line.rstrip(), flush=True)
                if line.startswith("  hold:"):
                    files["hold"].write_text(json.dumps({"unix_ms": int(time.time() * 1000), "bit_s": bit_s}))
            files["load-done"].touch()
        follower = threading.Thread(target=follow, daemon=True)
        follower.start()

        try:
            rc = gui.wait(timeout=a.duration + 150)
        except subprocess.TimeoutExpired:
            print(f"FAIL: the window test did not finish within {a.duration + 150} s")
            return 1
        try:
            load.wait(timeout=a.duration + 120)
        except subprocess.TimeoutExpired:
            print("FAIL: the load did not end")
            return 1
        follower.join(timeout=10)
        if rc != 0:
            print(f"FAIL: window test exit {rc}; bulwarkd log tail:")
            print(log.read_text()[-1500:])
            return 1
        report = json.loads((tmp / "load.json").read_text())
        chart = json.loads(files["result.json"].read_text())
        achieved = report["clients"]["goodput_mbit_s"] * 1e6
        best = max((b for t, b in chart["samples"] if 0 <= t <= 3.0), default=0.0)
        print(f"chart {chart['pair']}: {best / 1e6:.2f} Mbit/s within 3 s of the hold, {chart['reached_s']:.2f} s "
              f"to >= 0.9x; the load held {bit_s / 1e6:.2f} Mbit/s ({a.streams} x {a.bitrate} kbit/s), achieved "
              f"{achieved / 1e6:.2f} Mbit/s by its own report: ratio {best / achieved:.3f} to it; load average "
              f"{report['loadavg']}, machine CPU busy {report['cpu_busy']:.2f}")
        if not report["ok"]:
            print("FAIL: the load itself failed (streams failed or dropped): see its result lines above")
            return 1
        if best < 0.9 * achieved:
            print("FAIL: the chart stayed under 0.9x the bit/s the load achieved")
            return 1
        print(f"console lab e2e passed; screenshots in {shots}")
        return 0
    except (RuntimeError, subprocess.TimeoutExpired, KeyError, OSError) as e:
        print(f"SETUP: the lab, bulwarkd or Xvfb broke: {e}")
        if (tmp / "bulwarkd.log").exists():
            print("bulwarkd log tail:\n" + (tmp / "bulwarkd.log").read_text()[-1500:])
        return 2
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
