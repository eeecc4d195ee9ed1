"""bulwarkd as the lab runs it: the deployed daemon in the lab's gateway namespace, reading the
lab's own policy directory, with its own state directory, control socket and metrics address.
This file is the one place the lab starts, reaches and stops the daemon.

    paths = gateway_daemon.Paths.under(state_dir)          # /run/bulwark-lab/<prefix>/...
    pid = gateway_daemon.start(bulwarkd, ctl, gw_ns, policy_file, paths)
    pid = gateway_daemon.launch(bulwarkd, ctl, gw_ns, paths)  # after a crash: the same command line
    gateway_daemon.ctl(ctl, paths, "status")               # bulwarkctl --socket <paths.socket> status
    gateway_daemon.metrics(gw_ns)                          # GET /metrics inside the gateway namespace
    gateway_daemon.stop(pid)

The daemon runs with --no-links: the lab's segments are veths named like the VLAN interfaces
(this kernel has no 802.1Q), so the links are the lab's and bulwarkd programs the firewall only
(as `bulwarkctl apply --only firewall`). Its Unix socket is a path, so bulwarkctl and
bulwark-console in the root namespace reach it; the metrics listener is on the gateway
namespace's own loopback, as on a gateway.

It runs as deployed (gateway/systemd/bulwarkd.service): as the system user _bulwarkd with
CAP_NET_ADMIN as its only capability, through gateway/systemd/run-bulwarkd.sh (what systemd's
User=/AmbientCapabilities= do, where there is no systemd). The lab creates that user when it is
missing, as the package's sysusers.d entry does on install, and gives it what the unit's
StateDirectory=/RuntimeDirectory= give it: its state dir and the socket's directory; the policy
copy is world-readable, as /etc/bulwark/policy. Nothing else in the lab starts this daemon.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

METRICS = "127.0.0.1:9469"  # in the gateway namespace (its own loopback), bulwarkd's default
PY = "/usr/bin/python3"
DAEMON_USER = "_bulwarkd"  # gateway/daemon/README.md "Running as _bulwarkd"
# run-bulwarkd.sh: in the source tree next to the unit, or where the install puts it.
RUNNERS = (Path(__file__).resolve().parents[2] / "gateway/systemd/run-bulwarkd.sh",
           Path("/usr/lib/bulwark/run-bulwarkd.sh"))


class DaemonError(Exception):
    pass


@dataclass
class Paths:
    policy_dir: Path  # the daemon's policy directory: a copy of the lab's policy file
    state_dir: Path   # history (revisions/), audit.log, pending.json
    socket: Path      # the control socket, in a directory of its own the daemon's user owns
    log: Path         # the daemon's stderr

    @staticmethod
    def under(lab_state: Path) -> "Paths":
        return Paths(lab_state / "policy", lab_state / "bulwarkd", lab_state / "run" / "bulwarkd.sock",
                     lab_state / "bulwarkd.log")


def find_bulwarkd(ctl: str, given: str | None = None) -> str:
    """--daemon, $BULWARK_DAEMON, else bulwarkd next to bulwarkctl (the same build)."""
    cands = [given, os.environ.get("BULWARK_DAEMON"), str(Path(ctl).resolve().parent / "bulwarkd")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise DaemonError(f"bulwarkd not found (tried {', '.join(c for c in cands if c)}): build it "
                      "(cmake --build BUILD --target bulwarkd) or pass --daemon")


def runner() -> str:
    for r in RUNNERS:
        if r.is_file() and os.access(r, os.X_OK):
            return str(r)
    raise DaemonError(f"run-bulwarkd.sh not found (tried {', '.join(map(str, RUNNERS))})")


def ensure_user() -> tuple[int, int]:
    """The daemon's system user (uid, gid); created when missing, as the package's sysusers.d
    entry does on install. Never removed: it is the deployed daemon's user, not a lab's."""
    try:
        pw = pwd.getpwnam(DAEMON_USER)
    except KeyError:
        cp = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", DAEMON_USER],
                            capture_output=True, text=True)
        if cp.returncode != 0 and "already exists" not in cp.stderr:  # another lab, just now
            raise DaemonError(f"cannot create the daemon's user {DAEMON_USER}: {cp.stderr.strip()}")
        pw = pwd.getpwnam(DAEMON_USER)
    if pw.pw_uid == 0:
        raise DaemonError(f"{DAEMON_USER} is root; bulwarkd's user must not be")
    return pw.pw_uid, pw.pw_gid


def argv(bulwarkd: str, gw_ns: str, paths: Paths) -> list[str]:
    """The daemon's command line: as deployed (bulwarkd.service), but the lab's paths."""
    return ["ip", "netns", "exec", gw_ns, runner(), "--user", DAEMON_USER, "--", bulwarkd,
            "--policy", str(paths.policy_dir),
            "--socket", str(paths.socket), "--state-dir", str(paths.state_dir),
            "--metrics", METRICS, "--no-journal", "--no-links"]


def ctl(ctl_path: str, paths: Paths, *args, timeout: float = 60, check: bool = True,
        json_out: bool = False) -> subprocess.CompletedProcess:
    """bulwarkctl against the lab's daemon."""
    cmd = [ctl_path] + (["--json"] if json_out else []) + ["--socket", str(paths.socket), *map(str, args)]
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DaemonError(f"timed out after {timeout:.0f}s: {' '.join(cmd)}") from None
    if check and cp.returncode != 0:
        raise DaemonError(f"failed ({cp.returncode}): bulwarkctl --socket {paths.socket} "
                          f"{' '.join(map(str, args))}\n{(cp.stdout + cp.stderr).strip()[-2000:]}")
    return cp


def copy_policy(src: str | Path, dst: Path) -> Path:
    """A fresh policy directory `dst` holding the lab's policy (a file, or a directory's *.yaml)
    as regular files: bulwarkd reads only regular files of its own policy dir and refuses a
    symbolic link (a policy dir may hold one), as deployed."""
    src = Path(src)
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for f in (sorted(p for p in src.iterdir() if p.suffix in (".yaml", ".yml")) if src.is_dir() else [src]):
        shutil.copyfile(f.resolve(), dst / f.name)
    return dst


def start(bulwarkd: str, ctl_path: str, gw_ns: str, policy_file: str, paths: Paths,
          timeout: float = 60) -> int:
    """Copy the policy into a fresh policy directory, start bulwarkd in the gateway namespace
    (its own session, output to paths.log) and wait until it answers `status`: by then its
    startup reconcile has programmed the firewall. Returns its pid; on failure it is stopped
    and the error carries the end of its log."""
    uid, gid = ensure_user()
    shutil.rmtree(paths.state_dir, ignore_errors=True)
    copy_policy(policy_file, paths.policy_dir)
    # What the unit's StateDirectory= (0750) and RuntimeDirectory= (0755) give the daemon's user.
    for d, mode in ((paths.state_dir, 0o750), (paths.socket.parent, 0o755)):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, uid, gid)
        os.chmod(d, mode)
    for p in (paths.policy_dir, *paths.policy_dir.iterdir(), paths.policy_dir.parent):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)  # readable as /etc/bulwark/policy is
    return launch(bulwarkd, ctl_path, gw_ns, paths, timeout)


def launch(bulwarkd: str, ctl_path: str, gw_ns: str, paths: Paths, timeout: float = 60) -> int:
    """Start bulwarkd with argv() on what is there (policy dir, state dir, the socket's directory)
    and wait until it answers `status`. start() after a fresh setup; alone, it is the restart
    systemd's Restart=on-failure makes after a crash: the same command line, the state as the
    crash left it (the daemon adopts its table). Returns the pid (bulwarkd's own: each step of
    argv() execs the next)."""
    with open(paths.log, "ab") as log:
        p = subprocess.Popen(argv(bulwarkd, gw_ns, paths), stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise DaemonError(f"bulwarkd exited ({p.returncode}) at startup:\n{tail(paths)}")
        if paths.socket.exists() and ctl(ctl_path, paths, "status", check=False, timeout=10).returncode == 0:
            return p.pid
        time.sleep(0.1)
    stop(p.pid)
    raise DaemonError(f"bulwarkd did not answer on {paths.socket} within {timeout:.0f}s:\n{tail(paths)}")


def stop(pid: int, timeout: float = 10) -> None:
    """SIGTERM (bulwarkd leaves the ruleset as it is on exit), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
            except ChildProcessError:
                done = pid if not Path(f"/proc/{pid}").exists() else 0
            if done:
                return
            time.sleep(0.05)


def tail(paths: Paths, lines: int = 20) -> str:
    try:
        return "\n".join(paths.log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def metrics(gw_ns: str, timeout: float = 15) -> str:
    """GET /metrics from inside the gateway namespace, where the daemon listens."""
    code = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
            f"'http://{METRICS}/metrics', timeout={timeout - 5:.0f}).read().decode())")
    try:
        cp = subprocess.run(["ip", "netns", "exec", gw_ns, PY, "-c", code], capture_output=True,
                            text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DaemonError(f"GET http://{METRICS}/metrics in {gw_ns} timed out") from None
    if cp.returncode != 0:
        raise DaemonError(f"GET http://{METRICS}/metrics in {gw_ns} failed: {cp.stderr.strip()[-300:]}")
    return cp.stdout
