#!/usr/bin/python3
"""bulwark-console end to end: a real window under Xvfb against a real bulwarkd.

    console_e2e.py --daemon BULWARKD --ctl BULWARKCTL --gui GUI_E2E_BINARY [--screenshots DIR]

Builds campus.yaml's network (VLAN tags as plain "eth1.<vlan>" interfaces, see
campus_without_tags) with lab/netns/topology.py (namespaces "bwg<pid>-*": gateway,
internet, one per segment and host), starts bulwarkd inside "<prefix>-gw" with the policy in
a temporary Git working copy and its socket and state in that temporary directory, starts
probe servers on web1 (tcp/8080 and tcp/80), then runs GUI_E2E_BINARY (tests/gui/
gui_e2e_test.cpp) on a private Xvfb display. The window edits rule lb-to-web (adds http),
checks the plan shows it, applies with confirm and confirms, probes lb1 -> web1 (tcp/80 must
now pass) and waits for the dmz -> app traffic series to move, then inserts a foreign nft rule
and waits for the drift repair in the state bar and History, and last deletes segment interface
eth1.10 in the gateway: the state bar must turn amber with the links kind's error; it saves a
PNG of every view.

Everything is bounded (timeouts) and removed at the end, also after a failure: the window,
Xvfb, probe servers, bulwarkd, the namespaces, the temporary directory.
Exit 0 passed, 1 a check failed, 2 the setup broke, 77 cannot run here (not root, no Xvfb).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "lab" / "netns" / "topology.py"
PROBE = ROOT / "lab" / "netns" / "probe.py"
CAMPUS = ROOT / "policies" / "examples" / "campus.yaml"


def run(argv, timeout=60, check=True, **kw):
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} -> {cp.returncode}: {cp.stderr.strip()[:600]}")
    return cp


def campus_without_tags():
    """campus.yaml with each VLAN segment on its plain interface "eth1.<vlan>" and no trunk.

    This kernel has no 802.1Q (see lab/netns/README.md): the lab's segments are veths that
    carry Bulwark's interface names. bulwarkd's links kind would try to create the VLANs on a
    trunk and fail; with plain interfaces it finds them, and the firewall matches the very
    same interface names as with the tags.
    """
    text = CAMPUS.read_text()
    text = re.sub(r"^(\s+)vlan: (\d+)$", r"\1interface: eth1.\2", text, flags=re.M)
    text = re.sub(r"^  trunk: eth1\n", "", text, flags=re.M)
    if "vlan:" in text or "trunk:" in text:
        raise RuntimeError("campus.yaml changed shape: VLAN tags left after the rewrite")
    return text


def free_display():
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


def namespaces_left(prefix):
    """True (and said) when a namespace "<prefix>-*" is still there after the cleanup."""
    left = run(["ip", "netns", "list"], check=False).stdout
    if any(line.startswith(prefix + "-") for line in left.splitlines()):
        print(f"FAIL: namespaces {prefix}-* left behind")
        return True
    return False


def start_xvfb(procs):
    """A private Xvfb display (added to `procs` as ("Xvfb", Popen)), once it accepts clients."""
    display = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(("Xvfb", xvfb))
    deadline = time.time() + 15
    while not Path(f"/tmp/.X11-unix/X{display}").exists():
        if xvfb.poll() is not None or time.time() > deadline:
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.05)
    return display


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--gui", required=True)
    ap.add_argument("--screenshots", default="")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    if not shutil.which("Xvfb"):
        print("SKIP: Xvfb missing (tools/install-deps.sh)")
        return 77

    prefix = f"bwg{os.getpid() % 100000}"
    tmp = Path(tempfile.mkdtemp(prefix="console-e2e-"))
    procs = []  # (name, Popen), ended in reverse order

    def cleanup():
        for name, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        subprocess.run([sys.executable, str(TOPOLOGY), "down", "--prefix", prefix], capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)

    def on_signal(signum, _frame):
        raise SystemExit(2)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        # The working copy the console edits, saves and diffs.
        wc = tmp / "policy"
        wc.mkdir()
        (wc / "campus.yaml").write_text(campus_without_tags())
        git = ["git", "-C", wc, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
        run(["git", "init", "-q", wc])
        run([*git, "add", "campus.yaml"])
        run([*git, "commit", "-q", "-m", "campus"])

        t0 = time.monotonic()
        run([sys.executable, TOPOLOGY, "up", wc / "campus.yaml", "--prefix", prefix, "--ctl", a.ctl], timeout=120)
        print(f"topology up in {time.monotonic() - t0:.1f}s")

        # The daemon reads its own copy: the console's edits go through plan/apply, not the dir.
        daemon_policy = tmp / "daemon-policy"
        daemon_policy.mkdir()
        (daemon_policy / "campus.yaml").write_text(campus_without_tags())
        sock = tmp / "run" / "control.sock"
        log = open(tmp / "bulwarkd.log", "w")
        d = subprocess.Popen(["ip", "netns", "exec", f"{prefix}-gw", a.daemon, "--policy", daemon_policy,
                              "--socket", sock, "--state-dir", tmp / "state", "--metrics", "off", "--no-journal"],
                             stdout=log, stderr=subprocess.STDOUT)
        procs.append(("bulwarkd", d))
        deadline = time.time() + 20
        while not (sock.exists() and run([a.ctl, "--socket", sock, "status"], check=False).returncode == 0):
            if d.poll() is not None or time.time() > deadline:
                print((tmp / "bulwarkd.log").read_text()[-1500:])
                raise RuntimeError("bulwarkd did not come up")
            time.sleep(0.1)

        for ns in (f"{prefix}-h-web1",):
            p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, PROBE, "serve", "--tcp", "80,8080",
                                  "--max-seconds", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append((f"probe server {ns}", p))

        display = start_xvfb(procs)

        shots = Path(a.screenshots) if a.screenshots else tmp / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        probe = (f"ip netns exec {prefix}-h-lb1 {sys.executable} {PROBE} connect --proto tcp "
                 f"--dst 10.20.0.11 --port {{port}} --timeout 2 --quiet")
        foreign = f"ip netns exec {prefix}-gw nft insert rule inet bulwark forward accept"
        env = dict(os.environ, DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb", BULWARK_E2E_SOCKET=str(sock),
                   BULWARK_E2E_POLICY=str(wc), BULWARK_E2E_PROBE=probe, BULWARK_E2E_FOREIGN_NFT=foreign,
                   BULWARK_E2E_BREAK_LINK=f"ip -n {prefix}-gw link del eth1.10",
                   BULWARK_E2E_SCREENSHOTS=str(shots))
        env.pop("WAYLAND_DISPLAY", None)
        gui = subprocess.Popen([a.gui, "-o", "-,txt"], env=env)
        procs.append(("window", gui))
        try:
            rc = gui.wait(timeout=240)
        except subprocess.TimeoutExpired:
            print("FAIL: the window test did not finish within 240 s")
            return 1
        if rc != 0:
            print(f"FAIL: window test exit {rc}; bulwarkd log tail:")
            print((tmp / "bulwarkd.log").read_text()[-1500:])
            return 1
        print(f"console e2e passed; screenshots in {shots}")
        return 0
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"SETUP: {e}")
        return 2
    finally:
        cleanup()
        if namespaces_left(prefix):
            sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
