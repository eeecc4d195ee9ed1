#!/usr/bin/python3
"""Check every `expect:` assertion of a policy with real probes through a namespace lab.

    run_matrix.py POLICY [--ctl BULWARKCTL] --apply-cmd TEMPLATE|none [--expect-open]
                  [--prefix P] [--timeout 1.0] [--jobs 16] [--deadline 240] [--keep] [--vlan]

1. builds lab/netns/topology.py's topology for POLICY under a unique prefix (bwm<pid>);
2. starts lab/netns/probe.py servers in every host namespace and the internet namespace, on
   every port the policy's services and expectations use (ranges: first and last port);
3. programs the gateway namespace's firewall with --apply-cmd, a shell command template with
   {gw} {inet} {prefix} {ctl} {policy} (each shell-quoted), e.g.
       "ip netns exec {gw} {ctl} apply --direct {policy}"
   or `none` to apply nothing; after an apply, nft is asked as an independent witness whether
   the gateway's table inet bulwark is what `bulwarkctl render` says and whether its own
   listing reloads (lab/netns/nft_witness.py); a difference fails the run like a mismatch;
4. probes every expectation: from the `from` namespace to the `to` address, every port of the
   service, tcp and udp, every address family both ends have; `internet` is the internet
   namespace (198.51.100.7); an address literal is that address; a DNAT VIP is probed at the
   VIP; a VPN group is skipped with a "needs the VPN lab" line (counted, never silent);
5. prints a table (from, to, service, expected, observed, OK/MISMATCH) and exits 1 on any
   mismatch, 2 when the lab itself failed, 77 when it cannot run here (not root, no netns).

--vlan: the policy's segments as REAL 802.1Q VLANs (needs a kernel with 8021q: under QEMU,
tests/kernel/run-in-kernel.sh). Every segment must be a VLAN on the gateway's trunk. The
gateway namespace then gets only the trunk (a veth named gateway.trunk, e.g. "eth1", MTU =
the largest segment MTU) and its uplink; the sub-interfaces "<trunk>.<vlan>" and their
gateway addresses are NOT created by the lab but by --apply-cmd (`bulwarkctl apply` does
links + firewall). The trunk's other end ("trunk") lives in a switch namespace P-sw; each
segment's VLAN sub-interface of it is moved into the segment's namespace, where it is the
bridge port "gw" the hosts hang off. So every routed probe crosses the trunk tagged. Before
probing, the gateway's links are checked (802.1Q, right VLAN id, on the trunk, Bulwark's
alias); after, every segment's VLAN port must have carried packets.

--expect-open: expect every probe to connect (use with --apply-cmd none: proves that the
topology routes every pair, so a later "deny" is the firewall's doing). The one exception is
a DNAT VIP: without the firewall's DNAT nobody owns it, so it must NOT answer.

Teardown (servers by pid, then every namespace of the prefix) always runs, also on failure,
SIGINT and SIGTERM. Namespaces left by a run that was SIGKILLed are reaped by the next run
(prefix bwm<pid> whose lock is free and whose pid is gone).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import ctypes
import fcntl
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LAB = REPO / "lab" / "netns"
sys.path.insert(0, str(LAB))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import topology  # noqa: E402  (lab/netns/topology.py)
from offline_check import ask_offline, compare_offline  # noqa: E402  (lab/netns/offline_check.py)
import nft_witness  # noqa: E402  (lab/netns/nft_witness.py)
from probe_plan import Probe, plan, print_table  # noqa: E402  (lab/netns/probe_plan.py)

PY = "/usr/bin/python3"
PROBE = str(LAB / "probe.py")
LOCK_DIR = Path("/run/bulwark-lab")
EXIT_MISMATCH, EXIT_LAB, EXIT_SKIP = 1, 2, 77


class Abort(Exception):
    pass


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------
def _json(argv):
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=15)
        return cp.stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _strip_volatile(x):
    if isinstance(x, dict):
        return {k: _strip_volatile(v) for k, v in x.items()
                if k not in ("packets", "bytes", "expires", "used", "metainfo")}
    if isinstance(x, list):
        return [_strip_volatile(v) for v in x]
    return x


def root_witness() -> dict:
    """What this run must never change in the namespace it was started in."""
    out = {}
    for key, argv in (("ruleset", ["nft", "-j", "list", "ruleset"]),
                      ("routes4", ["ip", "-j", "-4", "route", "show", "table", "all"]),
                      ("routes6", ["ip", "-j", "-6", "route", "show", "table", "all"]),
                      ("rules", ["ip", "-j", "rule", "show"])):
        try:
            out[key] = _strip_volatile(json.loads(_json(argv) or "null"))
        except json.JSONDecodeError:
            out[key] = None
    try:
        out["links"] = sorted(l["ifname"] for l in json.loads(_json(["ip", "-j", "link"]) or "[]"))
    except (json.JSONDecodeError, KeyError):
        out["links"] = None
    return out


def reap_stale(me: str):
    """Namespaces of earlier runs that died without cleaning up: prefix bwm<pid>, lock free,
    pid gone."""
    prefixes = set()
    for n in _all_namespaces():
        m = re.match(r"^(bwm(\d+))-", n)
        if m and m.group(1) != me:
            prefixes.add((m.group(1), int(m.group(2))))
    if LOCK_DIR.is_dir():  # lock files of dead runs whose namespaces are already gone
        for f in LOCK_DIR.iterdir():
            m = re.match(r"^(bwm(\d+))\.lock$", f.name)
            if m and m.group(1) != me:
                prefixes.add((m.group(1), int(m.group(2))))
    for p, pid in sorted(prefixes):
        if topology._alive(pid):
            continue
        lock = LOCK_DIR / f"{p}.lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            print(f"reaping namespaces of a dead run: {p}-*", file=sys.stderr)
            topology.down(p, quiet=True)
        except topology.LabError as e:
            print(f"  could not: {e}", file=sys.stderr)
        finally:
            try:
                lock.unlink()
            except OSError:
                pass
            os.close(fd)


def _all_namespaces() -> list[str]:
    names = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    try:
        names |= {n["name"] for n in json.loads(_json(["ip", "-j", "netns", "list"]) or "[]")}
    except (json.JSONDecodeError, KeyError, TypeError):
        pass
    return sorted(names)


class Servers:
    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, nsname: str, tcp, udp, max_seconds: float):
        argv = ["ip", "netns", "exec", nsname, PY, PROBE, "serve",
                "--tcp", ",".join(map(str, sorted(tcp))), "--udp", ",".join(map(str, sorted(udp))),
                "--max-seconds", f"{max_seconds:.0f}"]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, preexec_fn=_die_with_parent)
        self.procs.append((nsname, p))

    def wait_ready(self, timeout: float):
        deadline = time.monotonic() + timeout
        for nsname, p in self.procs:
            # readline blocks; bound it with a poll on the pipe
            left = deadline - time.monotonic()
            r, _, _ = select.select([p.stdout], [], [], max(0.0, left))
            line = p.stdout.readline() if r else ""
            if not line.startswith("ready"):
                err = ""
                if p.poll() is not None:
                    err = p.stderr.read()
                raise Abort(f"probe server in {nsname} not ready: {line.strip() or 'no answer'} "
                            f"{err.strip()}")

    def stop(self):
        for _ns, p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)  # its own session: ip netns exec + python
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 3
        for _ns, p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=2)
        for _ns, p in self.procs:
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        self.procs.clear()


def _die_with_parent():
    """preexec: SIGKILL this child when the runner dies, even by SIGKILL (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def run_group(argv, timeout: float) -> subprocess.CompletedProcess:
    """Run argv in its own process group; on timeout or any exception kill the whole group."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, preexec_fn=_die_with_parent)
    try:
        out, err = p.communicate(timeout=timeout)
    except BaseException as e:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()
        if isinstance(e, subprocess.TimeoutExpired):
            raise Abort(f"timed out after {timeout:.0f}s: {' '.join(argv)}") from None
        raise
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def run_batch(nsname: str, probes: list[Probe], timeout: float, threads: int, grace: float = 15.0) -> None:
    """All probes of one source namespace through one `probe.py batch` process; `grace`
    seconds on top of the probes' own time for the process itself (start-up, teardown)."""
    reqs = "".join(json.dumps({"id": i, "proto": p.proto, "dst": p.dst_addr, "port": p.port,
                               "src": p.src_addr, "timeout": timeout}) + "\n"
                   for i, p in enumerate(probes))
    waves = -(-len(probes) // max(1, threads))
    limit = waves * (timeout + 0.5) + grace
    argv = ["ip", "netns", "exec", nsname, PY, PROBE, "batch", "--threads", str(threads)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(reqs, timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err = f"batch hung for {limit:.0f}s " + err
    for line in out.splitlines():
        try:
            r = json.loads(line)
            probes[int(r["id"])].outcome = f"{r['outcome']} {r['ms']}ms"
        except (json.JSONDecodeError, KeyError, ValueError, IndexError):
            continue
    for p in probes:
        if p.outcome == "not-run":
            p.outcome = f"probe-failed({proc.returncode}: {err.strip()[:100]})"


# --------------------------------------------------------------------------------------------
# --vlan: the segments as real 802.1Q sub-interfaces on a trunk
# --------------------------------------------------------------------------------------------
def vlan_check_model(model):
    if not model.trunk:
        raise Abort("--vlan: the policy's gateway has no trunk")
    plain = [s.name for s in model.segments.values() if s.vlan is None]
    if plain:
        raise Abort(f"--vlan: segments {plain} are not VLANs on the trunk {model.trunk}")


def vlan_rewire(model, ns: dict) -> None:
    """After topology.up(): replace the gateway's per-segment veths by one trunk. The
    segment veth's removal takes its addresses with it: the VLAN links and addresses on the
    gateway side are then Bulwark's to create (--apply-cmd). The switch side: a VLAN
    sub-interface per segment on the trunk's peer, moved into the segment namespace as its
    bridge port "gw" (a VLAN device may live in another namespace than its lower device)."""
    gw, sw = ns["gw"], ns["sw"]
    mtu = max(s.mtu for s in model.segments.values())
    topology._ip_batch(None, [f"netns add {sw}"])
    lines = [f"link del {s.ifname}" for s in model.segments.values()]
    lines += [f"link add {model.trunk} mtu {mtu} type veth peer name trunk mtu {mtu} netns {sw}",
              f"link set {model.trunk} up"]
    topology._ip_batch(gw, lines)
    lines = ["link set lo up", "link set trunk up"]
    for s in model.segments.values():
        lines += [f"link add link trunk name v{s.vlan} mtu {s.mtu} type vlan id {s.vlan}",
                  f"link set v{s.vlan} netns {ns['s:' + s.name]}"]
    try:
        topology._ip_batch(sw, lines)
    except topology.LabError as e:
        # Fail with the reason, never skip: this mode exists to prove real 802.1Q.
        raise Abort(f"--vlan: cannot create 802.1Q sub-interfaces here ({e}); this needs a kernel "
                    "with 8021q: run under tests/kernel/run-in-kernel.sh") from None
    for s in model.segments.values():
        topology._ip_batch(ns["s:" + s.name], [f"link set v{s.vlan} name gw", "link set gw master br0",
                                               "link set gw up"])


def vlan_check_links(model, gw: str) -> list[str]:
    """The gateway's segment links as `bulwarkctl apply` left them: problems, [] when fine."""
    cp = topology._run(["ip", "-n", gw, "-d", "-j", "addr", "show"], check=False)
    try:
        links = {l["ifname"]: l for l in json.loads(cp.stdout or "[]")}
    except json.JSONDecodeError:
        return [f"cannot read the gateway's links: {cp.stderr.strip()}"]
    bad = []
    for s in model.segments.values():
        l = links.get(s.ifname)
        if l is None:
            bad.append(f"{s.ifname}: missing (apply did not create segment {s.name})")
            continue
        info = (l.get("linkinfo") or {})
        data = info.get("info_data") or {}
        addrs = {a["local"] for a in l.get("addr_info", [])}
        want = {str(f.gateway) for f in s.families() if f.gateway is not None}
        if info.get("info_kind") != "vlan" or data.get("protocol") != "802.1Q" or data.get("id") != s.vlan:
            bad.append(f"{s.ifname}: not an 802.1Q VLAN {s.vlan} ({info})")
        if l.get("link") != model.trunk:
            bad.append(f"{s.ifname}: lower link {l.get('link')}, want {model.trunk}")
        if l.get("ifalias") != f"bulwark:{s.name}":
            bad.append(f"{s.ifname}: alias {l.get('ifalias')!r}, want 'bulwark:{s.name}'")
        if l.get("mtu") != s.mtu:
            bad.append(f"{s.ifname}: mtu {l.get('mtu')}, want {s.mtu}")
        if not want <= addrs:
            bad.append(f"{s.ifname}: addresses {sorted(addrs)}, want {sorted(want)}")
        if "UP" not in l.get("flags", []):
            bad.append(f"{s.ifname}: not up")
    return bad


def vlan_port_packets(model, ns: dict) -> dict[str, int]:
    """Packets (rx + tx) each segment's switch-side VLAN port carried."""
    out = {}
    for s in model.segments.values():
        cp = topology._run(["ip", "-n", ns["s:" + s.name], "-s", "-j", "link", "show", "gw"], check=False)
        try:
            st = json.loads(cp.stdout)[0]["stats64"]
            out[s.name] = int(st["rx"]["packets"]) + int(st["tx"]["packets"])
        except (json.JSONDecodeError, KeyError, IndexError, ValueError):
            out[s.name] = -1
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("policy")
    ap.add_argument("--ctl", help="bulwarkctl (default: $BULWARK_CTL or build/dev/gateway/bulwarkctl)")
    ap.add_argument("--apply-cmd", required=True,
                    help='template with {gw} {inet} {prefix} {ctl} {policy}, or "none"')
    ap.add_argument("--expect-open", action="store_true",
                    help="expect every probe to connect (no firewall): proves the routing")
    ap.add_argument("--prefix", default=f"bwm{os.getpid()}")
    ap.add_argument("--timeout", type=float, default=1.0, help="per probe, seconds")
    ap.add_argument("--jobs", type=int, default=16,
                    help="probes in parallel per source namespace (all namespaces at once)")
    ap.add_argument("--deadline", type=float, default=240.0, help="whole run, seconds")
    ap.add_argument("--batch-grace", type=float, default=15.0,
                    help="seconds a probe batch process may take beyond its probes (start-up; "
                         "raise it under QEMU TCG, where ten Pythons starting at once take long)")
    ap.add_argument("--apply-timeout", type=float, default=120.0)
    ap.add_argument("--keep", action="store_true", help="leave the lab up (debugging; then "
                    "`lab/netns/topology.py down --prefix P`)")
    ap.add_argument("--json-out", help="write the results here as JSON")
    ap.add_argument("--compare-offline", action="store_true",
                    help="also ask Bulwark's offline evaluator (`bulwarkctl why`) about every probe "
                         "and fail when it disagrees with the real packets")
    ap.add_argument("--vlan", action="store_true",
                    help="segments as real 802.1Q VLANs on a veth trunk, created by --apply-cmd "
                         "(needs 8021q: run under tests/kernel/run-in-kernel.sh)")
    ap.add_argument("--offline-jobs", type=int, default=8,
                    help="`bulwarkctl why` processes at once for --compare-offline")
    ap.add_argument("--no-root-witness", action="store_true",
                    help="do not check that the root namespace's routes/rules/ruleset stay unchanged")
    a = ap.parse_args(argv)

    t_start = time.monotonic()
    hard_deadline = t_start + a.deadline
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return EXIT_SKIP
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("SKIP: `ip netns` does not work here")
        return EXIT_SKIP
    try:
        topology.check_prefix(a.prefix)
        model = topology.load_model(a.policy, a.ctl)
        ctl = topology._ctl_path(a.ctl)
    except topology.LabError as e:
        print(f"run_matrix: error: {e}", file=sys.stderr)
        return EXIT_LAB

    pl = plan(model, a.expect_open)
    if not pl.probes and not pl.skips:
        print(f"run_matrix: {a.policy} has no expectations", file=sys.stderr)
        return EXIT_LAB

    # SIGTERM (ctest timeout, CI cancel) -> the same cleanup as an exception
    def on_term(signum, _frm):
        raise Abort(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    lock_path = LOCK_DIR / f"{a.prefix}.lock"
    lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    witness = None if a.no_root_witness else root_witness()
    servers = Servers()
    offline_bg = cf.ThreadPoolExecutor(max_workers=1)
    offline = None
    nft_problems: list[str] = []
    rc = 0
    timings = {}
    try:
        reap_stale(a.prefix)
        t0 = time.monotonic()
        if a.vlan:
            vlan_check_model(model)
        ns = topology.up(model, a.prefix)
        if a.vlan:
            ns["sw"] = f"{a.prefix}-sw"
            vlan_rewire(model, ns)
        timings["up"] = time.monotonic() - t0
        print(f"lab {a.prefix}: {len(ns)} namespaces up in {timings['up']:.2f}s "
              f"(gateway {ns['gw']}, internet {ns['inet']})")

        t0 = time.monotonic()
        life = max(30.0, hard_deadline - time.monotonic() + 30)
        for role in sorted(pl.server_roles):
            servers.start(ns[role], pl.tcp, pl.udp, life)
        servers.wait_ready(min(30.0, max(1.0, hard_deadline - time.monotonic())))
        timings["servers"] = time.monotonic() - t0
        print(f"probe servers: {len(servers.procs)} namespaces, tcp {sorted(pl.tcp)}, "
              f"udp {sorted(pl.udp)} ({timings['servers']:.2f}s)")

        if a.apply_cmd.strip().lower() != "none":
            subst = {k: shlex.quote(v) for k, v in {
                "gw": ns["gw"], "inet": ns["inet"], "prefix": a.prefix, "ctl": ctl,
                "policy": model.policy}.items()}
            cmd = a.apply_cmd.format(**subst)
            print(f"apply: {cmd}")
            t0 = time.monotonic()
            cp = run_group(["bash", "-c", cmd],
                           min(a.apply_timeout, max(1.0, hard_deadline - time.monotonic())))
            timings["apply"] = time.monotonic() - t0
            for line in (cp.stdout + cp.stderr).strip().splitlines()[-20:]:
                print(f"  | {line}")
            if cp.returncode != 0:
                raise Abort(f"apply command failed ({cp.returncode})")
            # nft, not Bulwark's read-back, says whether the kernel holds what render says
            t0 = time.monotonic()
            try:
                nft_problems = nft_witness.check(ns["gw"], ctl=ctl, policy=model.policy)
            except nft_witness.WitnessError as e:
                raise Abort(f"nft witness cannot check: {e}") from None
            timings["nft-witness"] = time.monotonic() - t0
            print(f"nft witness: {'holds' if not nft_problems else 'DOES NOT HOLD'} "
                  f"({timings['nft-witness']:.2f}s)")
            for line in nft_problems[:60]:
                print(f"  {line[:600]}")
        else:
            print("apply: none (no firewall in the gateway namespace)")
        if a.vlan:
            bad = vlan_check_links(model, ns["gw"])
            if bad:
                raise Abort("--vlan: the gateway's segment links are not what the policy says:\n  "
                            + "\n  ".join(bad))
            print(f"vlan: {len(model.segments)} 802.1Q sub-interfaces on {model.trunk}, created by apply: "
                  + ", ".join(f"{s.ifname} (id {s.vlan}, mtu {s.mtu})" for s in model.segments.values()))

        if a.compare_offline and not a.expect_open:
            # the evaluator's answers do not depend on the packets: ask while they fly
            offline = offline_bg.submit(ask_offline, ctl, model.policy, pl.probes, a.offline_jobs)
        t0 = time.monotonic()
        by_src: dict[str, list[Probe]] = {}
        for p in pl.probes:
            by_src.setdefault(p.src_role, []).append(p)
        with cf.ThreadPoolExecutor(max_workers=len(by_src) or 1) as ex:
            futs = [ex.submit(run_batch, ns[role], ps, a.timeout, a.jobs, a.batch_grace)
                    for role, ps in by_src.items()]
            for f in cf.as_completed(futs):
                f.result()
        if time.monotonic() > hard_deadline:
            raise Abort(f"deadline of {a.deadline:.0f}s exceeded while probing")
        timings["probes"] = time.monotonic() - t0
        if a.vlan:
            carried = vlan_port_packets(model, ns)
            print("vlan: packets through each segment's VLAN port on the switch side: "
                  + ", ".join(f"{k} {v}" for k, v in carried.items()))
            idle = [k for k, v in carried.items() if v <= 0]
            if idle:
                raise Abort(f"--vlan: no packets crossed the trunk for segments {idle}")
    except (Abort, topology.LabError, KeyboardInterrupt) as e:
        print(f"run_matrix: lab failed: {e}", file=sys.stderr)
        rc = EXIT_LAB
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
        servers.stop()
        if a.keep and rc == 0:
            print(f"--keep: lab left up; remove with: {LAB}/topology.py down --prefix {a.prefix}")
        else:
            t0 = time.monotonic()
            try:
                topology.down(a.prefix, quiet=True)
            except topology.LabError as e:
                print(f"run_matrix: teardown: {e}", file=sys.stderr)
                rc = EXIT_LAB
            timings["down"] = time.monotonic() - t0
        try:
            lock_path.unlink()
        except OSError:
            pass
        os.close(lock_fd)

    print()
    if any(p.outcome != "not-run" for p in pl.probes) or not pl.probes:
        print_table(pl, a.expect_open)
    mism = [p for p in pl.probes if p.outcome != "not-run" and not p.ok]
    disagree = []
    if a.compare_offline and not a.expect_open:
        t0 = time.monotonic()
        if offline is None:  # the lab failed before probing: ask now, for what did run
            offline = offline_bg.submit(ask_offline, ctl, model.policy, pl.probes, a.offline_jobs)
        answers, sources = offline.result()
        disagree = compare_offline(pl.probes, answers)
        timings["offline-wait"] = time.monotonic() - t0
        print(f"offline evaluator: {sources['test']} flows from one `bulwarkctl test`, "
              f"{sources['why']} from `bulwarkctl why`")
        print()
        print(f"offline evaluator vs real packets: {len(pl.probes) - len(disagree)} agree, "
              f"{len(disagree)} disagree")
        for p, why in disagree:
            print(f"  DISAGREE {p.where} {p.src_addr} -> {p.dst_addr} {p.proto}/{p.port}: "
                  f"packets {p.observed}, evaluator {why}")
    notrun = [p for p in pl.probes if p.outcome == "not-run"]
    vpn = sum(1 for s in pl.skips if s.vpn)
    n_exp = len(model.expectations)
    print()
    print(f"{n_exp} expectations -> {len(pl.probes)} probes: "
          f"{len(pl.probes) - len(mism) - len(notrun)} OK, {len(mism)} MISMATCH"
          + (f", {len(notrun)} not run" if notrun else "")
          + f"; {len(pl.skips)} expectations skipped ({vpn} need the VPN lab, "
            f"{len(pl.skips) - vpn} not probeable)")
    timings["total"] = time.monotonic() - t_start
    print("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()))

    if witness is not None and not (a.keep and rc == 0):
        after = root_witness()
        changed = [k for k in witness if k != "links" and witness[k] != after[k]]
        ours = {s.ifname for s in model.segments.values()} | {model.uplink, "br0", "gw"}
        leaked = sorted((set(after["links"] or []) - set(witness["links"] or [])) & ours)
        if changed or leaked:
            print(f"ROOT NAMESPACE CHANGED during the run: {changed} {leaked}")
            rc = rc or EXIT_LAB
        else:
            print("root namespace: routes, rules and nftables ruleset unchanged")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({
            "policy": model.policy, "expect_open": a.expect_open, "timings": timings,
            "probes": [dict(p.__dict__, observed=p.observed, ok=p.ok) for p in pl.probes], "skips": [s.__dict__ for s in pl.skips]},
            indent=2))
    if rc:
        return rc
    if notrun:
        return EXIT_LAB
    return EXIT_MISMATCH if mism or disagree or nft_problems else 0


if __name__ == "__main__":
    sys.exit(main())
