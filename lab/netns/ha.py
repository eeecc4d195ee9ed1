#!/usr/bin/python3
"""The HA pair in the namespace lab: two gateways, bulwarkd on each (keepalived, conntrackd).

`lab/lab up --ha` builds topology.py's single-gateway lab for a policy with an `ha:` section
(default policies/examples/campus-ha) and then turns it into a pair:

    P-x-uplink  a switch (bridge br0) joining the internet ("inet") and both gateways' uplinks
    P-gw        the first node of ha.nodes (edge1-a): its own addresses, no floating ones
    P-gw2       the second node (edge1-b): a veth into every segment's bridge (port "gw2")
    P-x-sync    the sync link's switch (ports "gw", "gw2")

Each node's switch port is named after its role ("gw", "gw2") in every switch namespace (the
segments' P-s-*, P-x-uplink, P-x-sync), so unplugging a node is setting those ports down. The
internet keeps routing everything via the pair's floating uplink address (198.51.100.1 =
topology's gateway address), which keepalived moves.

bulwarkd runs in each gateway namespace with --ha --node NAME --no-links (the segments are the
lab's veths), in a mount namespace of its own with a private /run (charon's pid file is fixed),
its control socket, state, runtime directory (--ha-dir) and log in
/var/lib/bulwark-lab/<prefix>-ha/<node>/ (outside /run, so the root namespace reaches them).
It runs as deployed on an HA node (gateway/systemd/bulwarkd-ha.conf): as _bulwarkd with
CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_NICE, which keepalived and conntrackd inherit
(run-bulwarkd.sh --caps); the pair's PKI is shared with the daemon's group as the package
shares /var/lib/bulwark/pki. With the admin VPN (`vpn up` on a pair: --charon) the charon it
runs on the active node is _bulwarkd's too, with CAP_NET_BIND_SERVICE added (IKE's ports 500
and 4500); its directory is the daemon's user's and the VPN's CA is shared like the pair's.

Failures the lab injects:
    kill NODE        its switch ports down, then SIGKILL every process in its namespace
    revive NODE      its leftover floating addresses removed, conntrack flushed (a reboot),
                     ports up, bulwarkd started again
    cut-sync         the sync switch stops forwarding (both ports isolated, carriers stay up):
                     a silent cut, which makes both nodes active (a split brain)
    restore-sync     forwarding again
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import gateway_daemon
import topology

HA_ROOT = Path("/var/lib/bulwark-lab")
ROLES = ("gw", "gw2")
METRICS = "127.0.0.1:9469"
# An HA node's capabilities (gateway/systemd/bulwarkd-ha.conf): ctnetlink and addresses, the
# VRRP and ARP sockets, conntrackd's SCHED_RR.
HA_CAPS = "net_admin,net_raw,sys_nice"


class HaError(Exception):
    pass


def _run(argv, timeout=30.0, check=True, **kw) -> subprocess.CompletedProcess:
    try:
        cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        raise HaError(f"timed out after {timeout:.0f}s: {' '.join(map(str, argv))}") from e
    if check and cp.returncode != 0:
        raise HaError(f"failed ({cp.returncode}): {' '.join(map(str, argv))}\n{(cp.stdout + cp.stderr).strip()[-1500:]}")
    return cp


def _ip(ns: str, lines: list[str]):
    _run(["ip", "-n", ns, "-b", "-"], input="\n".join(lines) + "\n")


def root(prefix: str) -> Path:
    return HA_ROOT / f"{prefix}-ha"


def node_dir(prefix: str, node: str) -> Path:
    return root(prefix) / node


# --------------------------------------------------------------------------------------------
# layout: what bulwarkctl says the pair looks like
# --------------------------------------------------------------------------------------------
def layout(policy: str, ctl: str) -> dict:
    """`bulwarkctl --json show POLICY`'s "ha" object: floating addresses and each node's own."""
    cp = _run([ctl, "--json", "show", policy], check=False)
    try:
        shown = json.loads(cp.stdout)
    except json.JSONDecodeError as e:
        raise HaError(f"bulwarkctl show {policy} failed ({cp.returncode}): {cp.stderr.strip()}") from e
    lay = shown.get("ha")
    if not lay:
        raise HaError(f"{policy} has no ha: section (use policies/examples/campus-ha)")
    if len(lay["nodes"]) != 2:
        raise HaError("an HA pair has two nodes")
    return lay


def role_of(lay: dict, node: str) -> str:
    for r, n in zip(ROLES, lay["nodes"]):
        if n["name"] == node:
            return r
    raise HaError(f"no node {node} (nodes: {', '.join(n['name'] for n in lay['nodes'])})")


def node_of(lay: dict, role: str) -> str:
    return lay["nodes"][ROLES.index(role)]["name"]


def floating_uplink4(lay: dict, uplink: str) -> str:
    for f in lay["floating"]:
        if f["interface"] == uplink and ":" not in f["address"]:
            return f["address"].split("/")[0]
    raise HaError("no floating IPv4 address on the uplink")


def switches(state: dict) -> list[str]:
    ns = state["ns"]
    return [n for r, n in ns.items() if r.startswith("s:") or r in ("x:uplink", "x:sync")]


# --------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------
def _addr(a: str) -> str:
    return a + (" nodad" if ":" in a else "")


def build(model, prefix: str, ns: dict, lay: dict) -> dict:
    """Turn topology.up()'s one gateway into the pair; returns the namespaces it added."""
    gw, inet = ns["gw"], ns["inet"]
    gw2, up_sw, sync_sw = f"{prefix}-gw2", f"{prefix}-x-uplink", f"{prefix}-x-sync"
    added = {"gw2": gw2, "x:uplink": up_sw, "x:sync": sync_sw}
    _run(["ip", "-b", "-"], input="".join(f"netns add {n}\n" for n in added.values()))
    for n in added.values():
        topology._ns_sh(n, "for f in all default; do echo 0 > /proc/sys/net/ipv6/conf/$f/accept_dad; "
                           "echo 0 > /proc/sys/net/ipv6/conf/$f/accept_ra; done")
    topology._ns_sh(gw2, "echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding")
    for sw in (up_sw, sync_sw):
        _ip(sw, ["link set lo up", "link add br0 type bridge stp_state 0 mcast_snooping 0", "link set br0 up"])
    _ip(gw2, ["link set lo up"])
    uplink, sync_if = model.uplink, lay["sync_interface"]
    # The internet's cable moves from the gateway to the uplink switch (its addresses and routes
    # stay with the internet's end); each node gets a cable of its own to the switch.
    _ip(gw, [f"link set {uplink} netns {up_sw}"])
    _ip(up_sw, [f"link set {uplink} name inet", "link set inet master br0", "link set inet up"])
    for role, node_ns in (("gw", gw), ("gw2", gw2)):
        _ip(up_sw, [f"link add {role} type veth peer name {uplink} netns {node_ns}",
                    f"link set {role} master br0", f"link set {role} up"])
        _ip(sync_sw, [f"link add {role} type veth peer name {sync_if} netns {node_ns}",
                      f"link set {role} master br0", f"link set {role} up"])
    for s in model.segments.values():
        sns = ns["s:" + s.name]
        _ip(sns, [f"link add gw2 mtu {s.mtu} type veth peer name {s.ifname} mtu {s.mtu} netns {gw2}",
                  "link set gw2 master br0", "link set gw2 up"])
    # Each node: only its own addresses (topology gave the gateway the floating ones).
    for role, node_ns, node in (("gw", gw, lay["nodes"][0]), ("gw2", gw2, lay["nodes"][1])):
        lines = [f"link set {uplink} up", f"link set {sync_if} up"]
        for s in model.segments.values():
            lines += [f"address flush dev {s.ifname} scope global", f"link set {s.ifname} up"]
        lines += [f"address add {_addr(a['address'])} dev {a['interface']}" for a in node["addresses"]]
        lines += [f"route replace default via {model.inet4} dev {uplink}",
                  f"route replace default via {model.inet6} dev {uplink}"]
        _ip(node_ns, lines)
    return added


# --------------------------------------------------------------------------------------------
# bulwarkd on each node
# --------------------------------------------------------------------------------------------
def bulwarkd_of(ctl: str) -> str:
    b = Path(ctl).resolve().parent / "bulwarkd"
    if not os.access(b, os.X_OK):
        raise HaError(f"bulwarkd not found next to {ctl}")
    return str(b)


def share_pki(d: Path, gid: int) -> None:
    """As the package makes /var/lib/bulwark/pki (docs/deploy.md): the directory and private/
    0710 root:_bulwarkd, private/gateway.key (if made) 0640 root:_bulwarkd; `pki issue NODE
    --group bulwark-peer` then shares the node's key with the group too. ca.key stays root's."""
    for sub in (d, d / "private"):
        os.chown(sub, 0, gid)
        os.chmod(sub, 0o710)
    key = d / "private" / "gateway.key"
    if key.exists():
        os.chown(key, 0, gid)
        os.chmod(key, 0o640)


def pki_dir(prefix: str) -> Path:
    return root(prefix) / "pki"


def pair_pki(state: dict) -> Path:
    """Bulwark's CA for the pair (made once per lab): the gateway certificate (the control API's
    server certificate, for vpn.local_id) and one node certificate per node (CN = the node's name,
    OU = bulwark-peer) in <pki>/issued/<node>/, where bulwarkd --pki looks for it. With these and
    the nodes' `control` addresses in the policy, `bulwarkctl apply` on either node applies to
    both (gateway/daemon/peer_link.h). Both nodes read this one directory."""
    d = pki_dir(state["prefix"])
    if (d / "crl.pem").exists() and all((d / "issued" / n["name"]).exists() for n in state["ha"]["nodes"]):
        return d
    shutil.rmtree(d, ignore_errors=True)
    ctl = state["ctl"]
    _run([ctl, "pki", "--dir", d, "init", "--ca-name", f"Bulwark lab CA {state['prefix']}"])
    # Shared before `pki gateway` and `pki issue`, so that the keys they write are too.
    _, gid = gateway_daemon.ensure_user()
    share_pki(d, gid)
    if _run([ctl, "pki", "--dir", d, "-p", state["policy"], "gateway"], check=False).returncode != 0:
        _run([ctl, "pki", "--dir", d, "gateway", "--local-id", "gateway.lab"])  # a policy without vpn:
    pw = root(state["prefix"]) / "pki.pw"
    pw.write_text(os.urandom(12).hex() + "\n")
    pw.chmod(0o600)
    for n in state["ha"]["nodes"]:
        _run([ctl, "pki", "--dir", d, "issue", n["name"], "--group", "bulwark-peer", "--password-file", pw])
    return d


def socket_of(prefix: str, node: str) -> Path:
    return node_dir(prefix, node) / "control.sock"


def start(state: dict, role: str, extra: list | None = None) -> int:
    """bulwarkd --ha in the node's namespace, in its own mount namespace with a private /run."""
    lay, prefix = state["ha"], state["prefix"]
    node = node_of(lay, role)
    d = node_dir(prefix, node)
    extra = list(extra if extra is not None else state.get("ha_extra", {}).get(role, []))
    (d / "state").mkdir(parents=True, exist_ok=True)
    for stale in ("control.sock",):
        (d / stale).unlink(missing_ok=True)
    policy = gateway_daemon.copy_policy(state["policy"], d / "policy")
    uid, gid = gateway_daemon.ensure_user()
    # What the unit's StateDirectory=/RuntimeDirectory= give the daemon's user: the node's
    # directory (socket, --ha-dir), its state; the policy readable as /etc/bulwark/policy is.
    for sub, mode in ((d, 0o750), (d / "state", 0o750), (d / "ha", 0o700)):
        sub.mkdir(parents=True, exist_ok=True)
        for f in (sub.iterdir() if sub.name in ("ha", "state") else ()):
            os.chown(f, uid, gid, follow_symlinks=False)  # a predecessor's
        os.chown(sub, uid, gid)
        os.chmod(sub, mode)
    for f in (policy, *policy.iterdir()):
        os.chmod(f, 0o755 if f.is_dir() else 0o644)
    caps = HA_CAPS + (",net_bind_service" if "--charon" in extra else "")
    # The private /run is the daemon's user's: charon writes its pid file there.
    argv = ["ip", "netns", "exec", state["ns"][role], "unshare", "-m", "--propagation", "private", "sh", "-c",
            f'mount -t tmpfs -o mode=0755,uid={uid},gid={gid} bulwark-run /run && exec "$@"', "sh",
            gateway_daemon.runner(), "--user", gateway_daemon.DAEMON_USER, "--caps", caps, "--",
            bulwarkd_of(state["ctl"]), "--policy", policy, "--socket", d / "control.sock",
            "--state-dir", d / "state", "--metrics", METRICS, "--no-journal", "--ha", "--node", node,
            "--ha-dir", d / "ha", "--no-links", "--drift-interval", "30"]
    argv += extra
    if "--pki" not in argv:
        argv += ["--pki", pair_pki(state)]
    with open(d / "bulwarkd.log", "ab") as log:
        p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    state["pids"][f"{role}/bulwarkd"] = p.pid
    return p.pid


def status(state: dict, role: str, timeout: float = 10) -> dict | None:
    """The node's bulwarkd status (None when it does not answer)."""
    sock = socket_of(state["prefix"], node_of(state["ha"], role))
    if not sock.exists():
        return None
    cp = _run([state["ctl"], "--json", "--socket", sock, "status"], check=False, timeout=timeout)
    try:
        return json.loads(cp.stdout) if cp.returncode == 0 else None
    except json.JSONDecodeError:
        return None


def wait_up(state: dict, role: str, deadline: float) -> dict:
    last = None
    while time.monotonic() < deadline:
        st = status(state, role)
        if st and st.get("ha", {}).get("running") and st["ha"].get("role") in ("master", "backup"):
            return st
        last = st
        time.sleep(0.1)
    log = node_dir(state["prefix"], node_of(state["ha"], role)) / "bulwarkd.log"
    tail = log.read_text()[-2500:] if log.exists() else ""
    raise HaError(f"bulwarkd on {node_of(state['ha'], role)} did not come up: {json.dumps(last)[:800]}\n{tail}")


def start_pair(state: dict, timeout: float = 40) -> dict:
    """Both nodes: the first node first, so it is the one that becomes active (with nopreempt the
    node that is up first keeps the role); returns {role: status}."""
    deadline = time.monotonic() + timeout
    start(state, "gw")
    first = wait_up(state, "gw", deadline)
    wait_floating(state, "gw", deadline - time.monotonic())
    start(state, "gw2")
    return {"gw": first, "gw2": wait_up(state, "gw2", deadline)}


# --------------------------------------------------------------------------------------------
# who is active, failures
# --------------------------------------------------------------------------------------------
def holds_floating(state: dict, role: str) -> bool:
    addr = floating_uplink4(state["ha"], state["uplink"])
    cp = _run(["ip", "-n", state["ns"][role], "-4", "-o", "addr", "show", "dev", state["uplink"]], check=False)
    return f" {addr}/" in cp.stdout


def active(state: dict) -> str | None:
    held = [r for r in ROLES if holds_floating(state, r)]
    return held[0] if len(held) == 1 else None if not held else "both"


def wait_floating(state: dict, role: str, timeout: float, poll: float = 0.01) -> float:
    """Monotonic time at which `role` was first seen holding the floating uplink address."""
    deadline = time.monotonic() + max(0.0, timeout)
    while time.monotonic() < deadline:
        if holds_floating(state, role):
            return time.monotonic()
        time.sleep(poll)
    raise HaError(f"{node_of(state['ha'], role)} does not hold the floating address after {timeout:.1f}s")


def _ports(state: dict, role: str, up: bool, only: list[str] | None = None):
    for sw in only or switches(state):
        _run(["ip", "-n", sw, "link", "set", role, "up" if up else "down"], check=False)


def kill(state: dict, role: str) -> float:
    """A crash: the node's cables out, the sync link's first (so that nothing it does while
    dying, such as keepalived's priority-0 advert on seeing its links go, reaches the peer),
    then every process in its namespace SIGKILLed."""
    t = time.monotonic()
    sw = switches(state)
    _ports(state, role, False, [state["ns"]["x:sync"]] + [s for s in sw if s != state["ns"]["x:sync"]])
    for pid in topology.ns_pids(state["ns"][role]):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    state["pids"].pop(f"{role}/bulwarkd", None)
    return t


def revive(state: dict, role: str) -> float:
    """Back as after a reboot: no floating address, empty connection table, cables in, bulwarkd."""
    ns = state["ns"][role]
    deadline = time.monotonic() + 5
    while topology.ns_pids(ns) and time.monotonic() < deadline:
        time.sleep(0.05)
    for f in state["ha"]["floating"]:
        _run(["ip", "-n", ns, "address", "del", f["address"], "dev", f["interface"]], check=False)
    _run(["ip", "netns", "exec", ns, "conntrack", "-F"], check=False)
    _ports(state, role, True)
    t = time.monotonic()
    start(state, role)
    return t


def cut_sync(state: dict, cut: bool):
    """Silently: the sync switch stops forwarding between the nodes (both ports isolated: an
    isolated bridge port talks to none of the others), every carrier stays up."""
    sw = state["ns"]["x:sync"]
    for role in ROLES:
        _run(["ip", "-n", sw, "link", "set", "dev", role, "type", "bridge_slave", "isolated", "on" if cut else "off"])


def metrics(state: dict, role: str) -> dict:
    """The node's bulwark_ha_* series (name{labels} -> value)."""
    cp = _run(["ip", "netns", "exec", state["ns"][role], "python3", "-c",
               "import urllib.request,sys;sys.stdout.write(urllib.request.urlopen('http://%s/metrics',timeout=5)"
               ".read().decode())" % METRICS], check=False, timeout=20)
    out = {}
    for line in cp.stdout.splitlines():
        if line.startswith("bulwark_ha_"):
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


DAEMONS = ("bulwarkd", "keepalived", "conntrackd")


def daemon_cpu(state: dict, role: str) -> dict:
    """CPU seconds (user + system, /proc/PID/stat fields 14 and 15, all threads) used so far by
    the node's bulwarkd, keepalived and conntrackd: every process of that name in its namespace
    (keepalived is a parent and its VRRP child). {name: seconds, "pids": [...]}."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict = {d: 0.0 for d in DAEMONS}
    out["pids"] = []
    for pid in topology.ns_pids(state["ns"][role]):
        try:
            with open(f"/proc/{pid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        if comm in DAEMONS:
            v = raw.rsplit(")", 1)[1].split()
            out[comm] += (int(v[11]) + int(v[12])) / tick
            out["pids"].append(pid)
    return out


def audited(state: dict, role: str, match, wait: float = 3.0) -> dict | None:
    """The detail of the last event of the node's audit log for which match(event) holds,
    waiting up to `wait` s for one to be written."""
    f = node_dir(state["prefix"], node_of(state["ha"], role)) / "state" / "audit.log"
    deadline = time.monotonic() + wait
    while True:
        last = None
        try:
            for line in f.read_text().splitlines():
                try:
                    e = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if match(e):
                    last = e.get("detail") or {}
        except OSError:
            pass
        if last is not None or time.monotonic() >= deadline:
            return last
        time.sleep(0.1)


def takeover_record(state: dict, role: str, wait: float = 3.0) -> dict | None:
    """The node's last role change to master as its bulwarkd audited it (the conntrackd steps,
    each timed, and how many entries the commit put into the kernel)."""
    last = audited(state, role, lambda e: e.get("event") == "ha-transition" and
                   (e.get("detail") or {}).get("to") == "master", wait)
    if not last:
        return None
    steps = {s.get("step"): round(s.get("ms") or 0, 2) for s in last.get("steps", [])}
    return {"committed": last.get("committed"), "external_cache": last.get("external_cache"),
            "commit_ms": steps.get("commit"), "steps_ms": steps, "total_ms": last.get("ms")}


def cleanup(prefix: str):
    shutil.rmtree(root(prefix), ignore_errors=True)



# --------------------------------------------------------------------------------------------
# a failover during `lab/lab load`
# --------------------------------------------------------------------------------------------
def _pct(v: list, p: float) -> float:
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


class FailoverRun:
    """Kills the active node `kill_at` s into the load's hold, brings it back `back_after` s later
    (None: never), and turns the stream clients' gap and drop events into figures:

        failover_s       kill -> the standby holds the floating uplink address
        streams_lost     streams that ended after the kill
        gap_ms           per stream, its largest gap starting after the kill (and before the
                         failback): p50, p99, max, and how many streams had one
        failback         the same after the node returned, plus what it became and when
    """

    def __init__(self, state: dict, kill_at: float | None, back_after: float | None, say,
                 cut_at: float | None = None, cut_for: float = 30):
        self.state, self.kill_at, self.back_after, self.say = state, kill_at, back_after, say
        self.cut_at, self.cut_for = cut_at, cut_for
        self.t_cut = self.t_restored = None
        self.cut_roles: dict = {}
        self.t_kill = self.t_took = self.t_back = self.t_back_role = None
        self.victim = self.standby = None
        self.back_role = None
        self.gaps: list = []   # (stream, start, ms)
        self.drops: list = []  # (stream, at, reason)
        self.error = None
        self.cpu0 = self.cpu1 = None  # (monotonic, role, daemon_cpu) at the hold's start / before a failure
        self.clip_at = None  # the windows end here (another failure's start), see _window()

    def _cpu_sample(self, role=None):
        role = role or active(self.state)
        return (time.monotonic(), role, daemon_cpu(self.state, role)) if role in ROLES else None

    def cpu_mark(self):
        """The end of the CPU window when no failure came (just before the hold ends: the
        clients closing every stream is not the steady state)."""
        if self.cpu0 is not None and self.cpu1 is None:
            self.cpu1 = self._cpu_sample(self.cpu0[1])

    def cpu_report(self) -> dict | None:
        """The active node's bulwarkd + keepalived + conntrackd CPU from the hold's start to the
        first failure (or the end), in % of one core."""
        a, b = self.cpu0, self.cpu1 or (self._cpu_sample(self.cpu0[1]) if self.cpu0 else None)
        if not a or not b or b[0] - a[0] < 1 or sorted(a[2]["pids"]) != sorted(b[2]["pids"]):
            return None  # too short, or a daemon died or restarted in between (its CPU went with it)
        dt = b[0] - a[0]
        per = {d: round(100 * (b[2][d] - a[2][d]) / dt, 2) for d in DAEMONS}
        return {"node": node_of(self.state["ha"], a[1]), "seconds": round(dt, 1), "percent_of_one_core": per,
                "total_percent": round(sum(per.values()), 2), "clock_ticks_per_s": os.sysconf("SC_CLK_TCK")}

    def client_event(self, j: dict) -> bool:
        if "gap" in j:
            g = j["gap"]
            self.gaps.append((g["stream"], g["start"], g["ms"]))
            return True
        if "drop" in j:
            d = j["drop"]
            self.drops.append((d["stream"], d["at"], d.get("reason", "")))
            return True
        return False

    def tick(self, hold_t0: float):
        now = time.monotonic()
        if self.cpu0 is None:
            self.cpu0 = self._cpu_sample()
        try:
            if self.cut_at is not None:
                self._cut_tick(hold_t0, now)
            if self.kill_at is None:
                return
            if self.t_kill is None and now - hold_t0 >= self.kill_at:
                self.cpu1 = self._cpu_sample(self.cpu0[1] if self.cpu0 else None)
                self.victim = active(self.state)
                if self.victim not in ROLES:
                    raise HaError(f"no single active node to kill ({self.victim})")
                self.standby = "gw2" if self.victim == "gw" else "gw"
                self.t_kill = kill(self.state, self.victim)
                self.t_took = wait_floating(self.state, self.standby, 10, poll=0.005)
                self.say(f"  >> killed the active node {node_of(self.state['ha'], self.victim)} (cables out, "
                         f"processes SIGKILLed); {node_of(self.state['ha'], self.standby)} holds the floating "
                         f"addresses {self.t_took - self.t_kill:.3f}s later")
            elif (self.t_kill is not None and self.t_back is None and self.back_after is not None
                  and now - self.t_kill >= self.back_after):
                self.t_back = revive(self.state, self.victim)
                st = wait_up(self.state, self.victim, time.monotonic() + 30)
                self.t_back_role = time.monotonic()
                self.back_role = st["ha"]["role"]
                self.say(f"  >> {node_of(self.state['ha'], self.victim)} is back (rebooted: empty tables, bulwarkd "
                         f"started): {self.back_role} after {self.t_back_role - self.t_back:.1f}s")
        except HaError as e:
            self.error = str(e)
            self.say(f"  >> failover step failed: {e}")
            self.t_kill = self.t_kill or now
            self.back_after = None

    def _cut_tick(self, hold_t0: float, now: float):
        if self.t_cut is None and now - hold_t0 >= self.cut_at:
            if self.cpu1 is None:
                self.cpu1 = self._cpu_sample(self.cpu0[1] if self.cpu0 else None)
            self.before_cut = active(self.state)
            cut_sync(self.state, True)
            self.t_cut = time.monotonic()
            self.say(f"  >> sync link cut silently (carriers up) for {self.cut_for:g}s; active: "
                     f"{node_of(self.state['ha'], self.before_cut) if self.before_cut in ROLES else self.before_cut}")
        elif self.t_cut is not None and self.t_restored is None:
            if now - self.t_cut >= 6 and not self.cut_roles:
                self.cut_roles = {node_of(self.state["ha"], r): (status(self.state, r) or {}).get("ha") for r in ROLES}
            if now - self.t_cut >= self.cut_for:
                cut_sync(self.state, False)
                self.t_restored = time.monotonic()
                self.say("  >> sync link restored")

    def _window(self, t0: float, t1: float) -> dict:
        """Drops in [t0, t1) and, per stream, its largest gap starting there; a gap still open
        at clip_at (a later failure that is not this one's, such as a backend's death) counts
        only up to it: a stream silent since shortly before that failure is that failure's."""
        per: dict = {}
        if self.clip_at is not None:
            t1 = min(t1, self.clip_at)
        for s, start, ms in self.gaps:
            if t0 - 0.05 <= start < t1:
                if self.clip_at is not None:
                    ms = min(ms, (self.clip_at - start) * 1000)
                per[s] = max(per.get(s, 0.0), ms)
        lost = sorted({s for s, at, _ in self.drops if t0 <= at < t1})
        v = list(per.values())
        return {"streams_lost": len(lost), "streams_with_gap": len(v),
                "gap_ms": {"p50": round(_pct(v, 0.5)), "p99": round(_pct(v, 0.99)), "max": round(max(v or [0]))}}

    def sync_cut_report(self, t_end: float) -> dict | None:
        if self.t_cut is None:
            return None
        time.sleep(1)  # the nodes' view settles (the resume needs the peer's packets)
        after = {node_of(self.state["ha"], r): (status(self.state, r) or {}).get("ha") for r in ROLES}
        out = self._window(self.t_cut, t_end)
        out.update({"cut_at_s": self.cut_at, "cut_s": self.cut_for,
                    "active_before": node_of(self.state["ha"], self.before_cut) if self.before_cut in ROLES else None,
                    "during": {n: {k: (st or {}).get(k) for k in ("role", "sync_link", "split_brain", "standing_down")}
                               for n, st in self.cut_roles.items()},
                    "after": {n: {k: (st or {}).get(k) for k in ("role", "sync_link", "split_brain", "standing_down")}
                              for n, st in after.items()},
                    "active_after": node_of(self.state["ha"], active(self.state)) if active(self.state) in ROLES
                    else active(self.state)})
        split = {}
        for r in ROLES:
            m = metrics(self.state, r)
            split[node_of(self.state["ha"], r)] = {"split_brain_total": m.get("bulwark_ha_split_brain_total"),
                                                   "standing_down": m.get("bulwark_ha_standing_down")}
        out["split_brain"] = split
        out["split_brain_detected"] = any((v["split_brain_total"] or 0) > 0 for v in split.values())
        return out

    def report(self, t_end: float, streams: int) -> dict:
        if self.t_kill is None:
            return {"error": self.error or "the hold ended before the kill"}
        lay = self.state["ha"]
        end_fo = self.t_back if self.t_back is not None else t_end
        out = {"killed": node_of(lay, self.victim) if self.victim in ROLES else None,
               "took_over": node_of(lay, self.standby) if self.standby else None,
               "failover_s": round(self.t_took - self.t_kill, 3) if self.t_took else None,
               "kill_at_s": self.kill_at, "streams": streams, "error": self.error}
        fo = self._window(self.t_kill, end_fo)
        out.update(fo)
        if self.standby:
            out["takeover"] = takeover_record(self.state, self.standby)
        # the gap of a stream that had none counts as 0 for the percentiles over all streams
        if self.t_back is not None:
            fb = self._window(self.t_back, t_end)
            fb["back_after_s"] = self.back_after
            fb["role"] = self.back_role
            fb["up_s"] = round(self.t_back_role - self.t_back, 2) if self.t_back_role else None
            fb["active_after"] = node_of(lay, active(self.state)) if active(self.state) in ROLES else active(self.state)
            out["failback"] = fb
        return out


# --------------------------------------------------------------------------------------------
# the admin VPN on the pair: charon on the active node only
# --------------------------------------------------------------------------------------------
def stop(state: dict, role: str, timeout: float = 15):
    """SIGTERM the node's bulwarkd (it stops keepalived first: the peer takes over)."""
    pid = state["pids"].pop(f"{role}/bulwarkd", None)
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and topology._alive(pid):
        time.sleep(0.05)


def restart_pair(state: dict):
    """bulwarkd restarted on both nodes (new arguments): the standby first; restarting the
    active one then hands the pair to the restarted standby."""
    act = active(state)
    for role in sorted(ROLES, key=lambda r: r == act):
        stop(state, role)
        start(state, role)
        wait_up(state, role, time.monotonic() + 30)


def vpn_gateways(state: dict, charon_mod, vd: Path, pki: Path, say):
    """bulwarkd on both nodes again, now with --charon (run on the active node only), --vici,
    --pki and --libipsec: the VPN kind configures the active node's charon. Each node gets a
    charon directory of its own (config, VICI socket). Returns the active node's Charon."""
    lay = state["ha"]
    # bulwarkd --pki is now the VPN's CA: the nodes' certificates for the pair's control
    # channel (policy `control` addresses, as campus-ha has) come from it too.
    pw = vd / "peer-password"
    pw.write_text(os.urandom(12).hex() + "\n")
    pw.chmod(0o600)
    uid, gid = gateway_daemon.ensure_user()
    share_pki(pki, gid)  # before the nodes' certificates, so that their keys are shared too
    for n in lay["nodes"]:
        if not (pki / "issued" / n["name"]).exists():
            _run([state["ctl"], "pki", "--dir", pki, "issue", n["name"], "--group", "bulwark-peer",
                  "--password-file", pw])
    cs = {}
    for role in ROLES:
        node = node_of(lay, role)
        c = charon_mod.Charon(str(vd), f"gw-{node}", state["ns"][role])  # its files only: bulwarkd starts it
        for dirpath, dirnames, filenames in os.walk(c.dir):  # charon runs as the daemon's user
            for f in (dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)):
                os.chown(f, uid, gid, follow_symlinks=False)
        cs[role] = c
        state.setdefault("ha_extra", {})[role] = ["--vici", c.socket, "--pki", str(pki), "--libipsec",
                                                  "--charon", charon_mod.CHARON, "--charon-conf", c.conf]
        topology._ns_sh(state["ns"][role], "echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter; "
                                           "echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter")
    restart_pair(state)
    now = active(state)
    if now not in ROLES:
        raise HaError(f"no single active node after the restart ({now})")
    c = cs[now]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        cp = _run([state["ctl"], "vpn", "plan", state["policy"], "--vici", c.uri, "--pki", pki, "--libipsec",
                   "--detailed-exitcode"], check=False)
        if cp.returncode == 0:
            break
        time.sleep(0.2)
    say(f"vpn: charon on the active node {node_of(lay, now)} only, started and configured by its bulwarkd "
        f"(--charon, --vici {c.socket}); the standby runs none")
    return c


def vpn_reconnect(state: dict, groups: dict, t_kill: float, limit: float = 60) -> dict:
    """Each admin drops its dead tunnel and initiates again until a tunnel is up: the time
    from the kill, per admin."""
    import threading
    import charon as charon_mod  # lab/netns/charon.py
    out = {}
    vd = Path(state["vpn"]["dir"])

    def one(g, info):  # each admin on its own: their reconnects overlap, as in life
        c = charon_mod.Charon(str(vd), f"client-{g}", info["ns"])
        t0 = time.monotonic()
        c.swanctl("--terminate", "--ike", info["user"], "--force", "--timeout", "1", check=False)
        t_drop = time.monotonic() - t0
        attempts, ok = 0, False
        while not ok and time.monotonic() - t_kill < limit:
            attempts += 1
            ok, _ = c.initiate(info["user"], timeout=3)
        out[g] = {"user": info["user"], "reconnect_s": round(time.monotonic() - t_kill, 2) if ok else None,
                  "dropping_old_tunnel_s": round(t_drop, 2), "attempts": attempts,
                  "vip": c.virtual_ip(info["user"]) if ok else None}
    threads = [threading.Thread(target=one, args=(g, info)) for g, info in groups.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out
