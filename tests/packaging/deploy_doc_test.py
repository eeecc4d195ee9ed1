#!/usr/bin/env python3
"""Runs the commands of docs/deploy.md against a real bulwarkd.

Every ```sh block of the guide is either marked `<!-- doc-test: run on=gateway|workstation -->`
(run here, in order, each in its own `bash -e` with that role's working directory and HOME) or
followed by a line `*Not run by the doc test: <reason>*`; a block with neither fails the test.

Where: a private mount + network namespace (unshare) in which /etc/bulwark, /var/lib/bulwark,
/run/bulwark, /srv/git, /root, /home and /usr/share/doc/bulwark are private directories, the
package's sysusers.d and tmpfiles.d files are applied with systemd-sysusers/-tmpfiles (users
and groups land in the VM's throw-away /etc), eth0 and eth1 are dummy interfaces (eth1 carries
the 802.1Q segments: this runs under QEMU with Debian's kernel, ctest label `kernel`), and the
starter policy is /etc/bulwark/policy/gateway.yaml as the package installs it. Stand-ins, as
the guide says: `systemctl` runs the unit's own ExecStart=/ExecReload= lines (bulwarkd.service
from the sources, /usr/sbin/bulwarkd -> the built binary), `ssh HOST CMD` runs CMD here.

  deploy_doc_test.py --source-dir DIR --bulwarkctl PATH --bulwarkd PATH --sysusers FILE
                     --tmpfiles FILE --unit FILE     (as CMake configured them: the daemon's user)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

RUN = re.compile(r"^<!-- doc-test: run on=(gateway|workstation) -->$")
SKIP = "*Not run by the doc test:"


def blocks(doc_path):
    """[(line, role or None, text)] of every ```sh block; raises on a block with no marker."""
    lines = open(doc_path).read().splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            start = i
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            text = "\n".join(lines[i + 1:j]) + "\n"
            prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            nxt = next((lines[k] for k in range(j + 1, len(lines)) if lines[k].strip()), "")
            m = RUN.match(prev.strip())
            if m:
                out.append((start + 1, m.group(1), text))
            elif nxt.startswith(SKIP) and len(nxt) > len(SKIP) + 10:
                out.append((start + 1, None, text))
            else:
                raise SystemExit("%s:%d: a sh block with neither '<!-- doc-test: run on=... -->' before it nor "
                                 "'%s <reason>' after it" % (doc_path, start + 1, SKIP))
            i = j
        i += 1
    return out


SYSTEMCTL = r'''#!/bin/bash
# systemctl for the doc test: bulwarkd.service's own ExecStart=/ExecReload= lines, no systemd.
set -euo pipefail
unit="$DOCTEST_UNIT"; pidfile="$DOCTEST_DIR/bulwarkd.pid"; log="$DOCTEST_DIR/bulwarkd.log"
execline() { sed -n "s/^$1=//p" "$unit" | head -n 1; }
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
start() {
  running && return 0
  local cmd; cmd=$(execline ExecStart | sed "s#/usr/sbin/bulwarkd#$DOCTEST_BULWARKD#")
  rm -f /run/bulwark/control.sock
  setsid bash -c "exec $cmd" >>"$log" 2>&1 </dev/null & echo $! >"$pidfile"
  for _ in $(seq 1 600); do
    running || { echo "bulwarkd exited:"; tail -n 30 "$log"; exit 1; }
    [ -S /run/bulwark/control.sock ] && bulwarkctl status >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bulwarkd did not come up in 120 s"; tail -n 30 "$log"; exit 1
}
stop() {
  running || return 0
  local pid; pid=$(cat "$pidfile"); kill -TERM "$pid"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }; sleep 0.1; done
  kill -KILL "$pid"; rm -f "$pidfile"
}
verb="$1"; shift
now=0; units=()
for a in "$@"; do case "$a" in --now) now=1 ;; -*) ;; *) units+=("${a%.service}") ;; esac; done
[ "${units[*]}" = bulwarkd ] || { echo "doc-test systemctl: only bulwarkd.service is known here"; exit 1; }
case "$verb" in
  enable) [ "$now" = 1 ] && start ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  reload) MAINPID=$(cat "$pidfile") bash -c "$(execline ExecReload)" ;;
  *) echo "doc-test systemctl: '$verb' is not supported here"; exit 1 ;;
esac
'''

SSH = r'''#!/bin/bash
# ssh for the doc test: the remote command runs here (the gateway is this namespace).
while [ $# -gt 0 ]; do case "$1" in -o|-p|-i|-l) shift 2 ;; -*) shift ;; *) break ;; esac; done
shift  # the host
exec bash -c "$*"
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--bulwarkctl", required=True)
    ap.add_argument("--bulwarkd", required=True)
    ap.add_argument("--sysusers", required=True)
    ap.add_argument("--tmpfiles", required=True)
    ap.add_argument("--unit", required=True)
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    a = ap.parse_args()
    src = os.path.abspath(a.source_dir)
    doc = os.path.join(src, "docs", "deploy.md")
    all_blocks = blocks(doc)
    runnable = [b for b in all_blocks if b[1]]
    if a.inner:
        return inner(a, src, runnable)
    if os.geteuid() != 0 or os.environ.get("BULWARK_IN_VM") != "1":
        print("deploy_doc_test: runs as root inside the kernel VM (ctest -L kernel, through "
              "tests/kernel/run-in-kernel.sh): it creates users and groups in /etc")
        return 1
    tmp = tempfile.mkdtemp(prefix="bulwark-deploy-doc-")
    try:
        p = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", sys.executable,
                            os.path.abspath(__file__), "--source-dir", src, "--bulwarkctl", a.bulwarkctl,
                            "--bulwarkd", a.bulwarkd, "--sysusers", a.sysusers, "--tmpfiles", a.tmpfiles,
                            "--unit", a.unit, "--inner", tmp], timeout=1500)
        print("deploy.md: %d blocks, %d run, %d not run (with their reasons)" %
              (len(all_blocks), len(runnable), len(all_blocks) - len(runnable)))
        return p.returncode
    finally:
        subprocess.run(["umount", "-R", "-l", tmp], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def sh(*cmd, **kw):
    subprocess.run(list(cmd), check=True, **kw)


def inner(a, src, runnable):
    t = a.inner
    # private copies of the directories the guide uses
    for d in ("/etc/bulwark", "/var/lib/bulwark", "/run/bulwark", "/srv/git", "/root", "/home",
              "/usr/share/doc/bulwark"):
        private = os.path.join(t, d.strip("/").replace("/", "_"))
        os.makedirs(private, exist_ok=True)
        os.makedirs(d, exist_ok=True)  # in the VM's throw-away overlay
        sh("mount", "--bind", private, d)
    os.makedirs("/etc/bulwark/policy")
    shutil.copy(os.path.join(src, "policies/examples/starter.yaml"), "/etc/bulwark/policy/gateway.yaml")
    os.makedirs("/usr/share/doc/bulwark/examples")
    shutil.copy(os.path.join(src, "policies/examples/campus.yaml"), "/usr/share/doc/bulwark/examples/")
    sh("systemd-sysusers", a.sysusers)
    sh("systemd-tmpfiles", "--create", a.tmpfiles)
    os.makedirs("/home/alice")
    with open("/root/pki-backup.pass", "w") as f:
        f.write("doc-test throw-away passphrase\n")
    # the machine: loopback, uplink, trunk
    sh("ip", "link", "set", "lo", "up")
    for link, addr in (("eth0", "198.51.100.2/24"), ("eth1", None)):
        sh("ip", "link", "add", link, "type", "dummy")
        sh("ip", "link", "set", link, "up")
        if addr:
            sh("ip", "addr", "add", addr, "dev", link)
    sh("ip", "route", "add", "default", "via", "198.51.100.1")
    # commands: the built binaries, the stand-ins
    bindir = os.path.join(t, "bin")
    os.makedirs(bindir)
    os.symlink(os.path.abspath(a.bulwarkctl), os.path.join(bindir, "bulwarkctl"))
    for name, text in (("systemctl", SYSTEMCTL), ("ssh", SSH)):
        with open(os.path.join(bindir, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(bindir, name), 0o755)
    env = dict(os.environ, PATH=bindir + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               DOCTEST_DIR=t, DOCTEST_UNIT=os.path.abspath(a.unit),
               DOCTEST_BULWARKD=os.path.abspath(a.bulwarkd), GIT_AUTHOR_NAME="Alice Admin",
               GIT_AUTHOR_EMAIL="alice@example.org", GIT_COMMITTER_NAME="Alice Admin",
               GIT_COMMITTER_EMAIL="alice@example.org", EDITOR="true", PAGER="cat", LC_ALL="C.UTF-8")
    env.pop("BULWARK_POLICY", None)
    env.pop("BULWARK_SOCKET", None)
    failed = None
    try:
        for line, role, text in runnable:
            home = "/root" if role == "gateway" else "/home/alice"
            print("--- deploy.md:%d (%s)\n%s" % (line, role, text.rstrip()), flush=True)
            started = time.monotonic()
            p = subprocess.run(["bash", "-e", "-c", text], cwd=home, env=dict(env, HOME=home),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
            print(p.stdout.rstrip())
            print("--- exit %d, %.1f s" % (p.returncode, time.monotonic() - started), flush=True)
            if p.returncode != 0:
                failed = line
                break
    finally:
        subprocess.run([os.path.join(bindir, "systemctl"), "stop", "bulwarkd"], env=env)
        log = os.path.join(t, "bulwarkd.log")
        if failed and os.path.exists(log):
            print("bulwarkd log (tail):\n" + open(log).read()[-3000:])
    if failed:
        print("FAIL: the block at deploy.md:%d" % failed)
        return 1
    print("every runnable block of deploy.md passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
