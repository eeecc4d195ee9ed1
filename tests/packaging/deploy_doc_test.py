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
the guide says: `systemctl` does what bulwarkd.service (as CMake configured it) says, from its
own lines: ExecStart=/ExecReload= (/usr/sbin/bulwarkd -> the built binary) as its User= with
AmbientCapabilities= as the only capabilities, in the directories of RuntimeDirectory=/
StateDirectory=; `ssh HOST CMD` runs CMD here. After the guide's blocks: the deployed layout
(the daemon's uid and capabilities, the directories' and the PKI's modes and owners, what the
daemon's user can and cannot read) is checked against what the guide says.

  deploy_doc_test.py --source-dir DIR --bulwarkctl PATH --bulwarkd PATH --sysusers FILE
                     --tmpfiles FILE --unit FILE     (as CMake configured them: the daemon's user)
"""
import argparse
import grp
import os
import pwd
import re
import shutil
import stat
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
# systemctl for the doc test, no systemd: it does what bulwarkd.service says, from the unit's own
# lines. ExecStart=/ExecReload=; the directories of RuntimeDirectory=/StateDirectory= (with their
# modes) given to User=/Group=; then the daemon as User=/Group= with SupplementaryGroups= (none
# by default), AmbientCapabilities= as its only capabilities (bounding set CapabilityBoundingSet=),
# NoNewPrivileges= and UMask=, through setpriv as run-bulwarkd.sh does. Not the sandboxing
# (ProtectSystem=, ReadOnlyPaths=, SystemCallFilter=, ...): the test's namespace has its own.
set -euo pipefail
unit="$DOCTEST_UNIT"; pidfile="$DOCTEST_DIR/bulwarkd.pid"; log="$DOCTEST_DIR/bulwarkd.log"
val() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
caps() { val "$1" | tr 'A-Z ' 'a-z,' | sed 's/cap_//g'; }  # CAP_NET_ADMIN -> net_admin
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
start() {
  running && return 0
  local user group supp ambient bounding cmd
  user=$(val User); group=$(val Group); supp=$(val SupplementaryGroups)
  ambient=$(caps AmbientCapabilities); bounding=$(caps CapabilityBoundingSet)
  [ -n "$user" ] && [ -n "$group" ] && [ -n "$ambient" ] ||
    { echo "doc-test systemctl: no User=/Group=/AmbientCapabilities= in $unit"; exit 1; }
  install -d -o "$user" -g "$group" -m "$(val RuntimeDirectoryMode)" "/run/$(val RuntimeDirectory)"
  install -d -o "$user" -g "$group" -m "$(val StateDirectoryMode)" "/var/lib/$(val StateDirectory)"
  cmd=$(val ExecStart | sed "s#/usr/sbin/bulwarkd#$DOCTEST_BULWARKD#")
  local groups=--clear-groups; [ -n "$supp" ] && groups="--groups=${supp// /,}"
  local nnp=; [ "$(val NoNewPrivileges)" = yes ] && nnp=--no-new-privs
  rm -f /run/bulwark/control.sock
  umask "$(val UMask)"
  setsid setpriv --reuid="$user" --regid="$group" "$groups" --inh-caps="-all,+$ambient" \
    --ambient-caps="-all,+$ambient" --bounding-set="-all,+$bounding" $nnp -- \
    bash -c "exec $cmd" >>"$log" 2>&1 </dev/null & echo $! >"$pidfile"
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


def layout_problems(t, unit):
    """The deployment as the guide describes it, checked from outside the daemon: its process's
    ids and capabilities, the directories and the PKI as the package and `bulwarkctl pki` made
    them, and what the daemon's user can open (setpriv as that user, not the daemon's word)."""
    user = next(l.split("=", 1)[1].strip() for l in open(unit) if l.startswith("User="))
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(user).gr_gid
    problems = []
    pid = open(os.path.join(t, "bulwarkd.pid")).read().strip()
    status = dict(l.split(":", 1) for l in open("/proc/%s/status" % pid).read().splitlines())
    net_admin = "%016x" % (1 << 12)  # CAP_NET_ADMIN
    want = {"Uid": [str(uid)] * 4, "Gid": [str(gid)] * 4, "CapEff": [net_admin],
            "CapPrm": [net_admin], "CapBnd": [net_admin], "NoNewPrivs": ["1"], "Groups": []}
    for key, value in want.items():
        if status[key].split() != value:
            problems.append("bulwarkd %s: %s, want %s" % (key, status[key].split(), value))
    lib = "/var/lib/bulwark"
    for path, mode, owner, group in ((lib, 0o750, 0, gid), (lib + "/pki", 0o710, 0, gid),
                                     (lib + "/pki/private", 0o710, 0, gid),
                                     (lib + "/pki/private/gateway.key", 0o640, 0, gid),
                                     (lib + "/pki/private/ca.key", 0o600, 0, 0),
                                     (lib + "/pki/crl.pem", 0o644, 0, 0),
                                     (lib + "/state", 0o750, uid, gid), ("/run/bulwark", 0o755, uid, gid)):
        st = os.lstat(path)
        got = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        if got != (mode, owner, group):
            problems.append("%s: mode %o uid %d gid %d, want %o %d %d" % ((path,) + got + (mode, owner, group)))
    as_user = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups", "head", "-c", "1"]
    for path, readable in ((lib + "/pki/private/gateway.key", True), (lib + "/pki/crl.pem", True),
                           (lib + "/pki/private/ca.key", False), ("/etc/shadow", False)):
        ok = subprocess.run(as_user + [path], capture_output=True).returncode == 0
        if ok != readable:
            problems.append("%s %s by %s" % (path, "readable" if ok else "not readable", user))
    if subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups", "ls",
                       lib + "/pki/private"], capture_output=True).returncode == 0:
        problems.append("%s can list %s/pki/private" % (user, lib))
    return problems


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
        if not failed:
            problems = layout_problems(t, a.unit)
            for problem in problems:
                print("layout: " + problem)
            if problems:
                failed = "the deployed layout (above)"
            else:
                print("layout: bulwarkd as its own user with CAP_NET_ADMIN only; directories, PKI modes "
                      "and what its user may read as the guide says")
    finally:
        subprocess.run([os.path.join(bindir, "systemctl"), "stop", "bulwarkd"], env=env)
        log = os.path.join(t, "bulwarkd.log")
        if failed and os.path.exists(log):
            print("bulwarkd log (tail):\n" + open(log).read()[-3000:])
    if failed:
        print("FAIL: %s" % (("the block at deploy.md:%d" % failed) if isinstance(failed, int) else failed))
        return 1
    print("every runnable block of deploy.md passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
