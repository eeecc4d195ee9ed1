#!/usr/bin/python3
"""Firewall behaviour with real packets in a namespace lab of campus.yaml.

Checks what the expectation matrix cannot: spoofed sources are dropped by the anti-spoofing
rule; the per-source connection and rate limits of the public rule bite (and only for the
source that exceeds them); a VIP's syn_limit counts all sources together; an established
connection survives a full atomic re-apply of a changed policy; after each apply, nft is asked as an independent witness whether the kernel
holds what `bulwarkctl render` says (lab/netns/nft_witness.py). Needs root; everything happens
in namespaces this script creates and removes (lab/netns/topology.py). Exit 0 all passed, 1 a
check failed, 2 the lab broke, 77 not root.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "lab" / "netns"))
import nft_witness  # noqa: E402  (lab/netns/nft_witness.py)
import topology  # noqa: E402

PROBE = ROOT / "lab" / "netns" / "probe.py"
PY = "/usr/bin/python3"
LB1 = "203.0.113.11"
MYSQL1 = "10.30.0.11"
WEB1 = "10.20.0.11"

# The public rule with limits small enough to hit in a test.
# 1/minute: no token comes back during the test, so exactly the burst may pass.
TIGHT = "limit: { rate: 1/minute, burst: 5, connections: 3 }"
VIP = "203.0.113.10"
VIP_SYN = "{ rate: 1/minute, burst: 3 }"


class Failed(Exception):
    pass


def run(argv, timeout=30, check=True, **kw):
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {cp.returncode}: {cp.stderr.strip()[:300]}")
    return cp


def in_ns(ns, *argv, **kw):
    return run(["ip", "netns", "exec", ns, *argv], **kw)


# A client inside a namespace: opens TCP connections and reports what happened as JSON.
CLIENT = r'''
import json, socket, sys, time
spec = json.loads(sys.argv[1])
out = []
held = []
for i in range(spec["count"]):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(spec["timeout"])
    s.bind((spec["src"], 0))
    try:
        s.connect((spec["dst"], spec["port"]))
        s.sendall(b"x")
        ok = s.recv(1) == b"x"
        out.append(ok)
    except OSError:
        out.append(False)
    if spec["hold"]:
        held.append(s)
    else:
        s.close()
    time.sleep(spec.get("gap", 0))
print(json.dumps(out))
'''

# A long-lived connection: echo once, wait for a line on stdin, echo again.
LONG = r'''
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"a"); assert s.recv(1) == b"a"
print("up", flush=True)
sys.stdin.readline()
s.sendall(b"b")
print("again" if s.recv(1) == b"b" else "lost", flush=True)
'''


def connections(ns, src, dst, port, count, hold, timeout=1.0, gap=0.0):
    spec = json.dumps({"src": src, "dst": dst, "port": port, "count": count, "hold": hold,
                       "timeout": timeout, "gap": gap})
    cp = in_ns(ns, PY, "-c", CLIENT, spec, timeout=count * (timeout + gap) + 20)
    return json.loads(cp.stdout)


def counter(gw, chain, comment):
    """Packets counted by the rule(s) of `chain` with this comment (nft as the witness)."""
    data = json.loads(in_ns(gw, "nft", "-j", "list", "chain", "inet", "bulwark", chain).stdout)
    total = 0
    for item in data["nftables"]:
        rule = item.get("rule")
        if not rule or rule.get("comment") != comment:
            continue
        for e in rule["expr"]:
            if "counter" in e:
                total += e["counter"]["packets"]
    return total


def check(results, name, ok, detail):
    results.append((name, ok, detail))
    print(f"{'ok' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def witnessed(results, gw, ctl, policy):
    """nft, not Bulwark's read-back, says whether the kernel holds what render says."""
    problems = nft_witness.check(gw, ctl=ctl, policy=str(policy))
    check(results, f"nft witness after applying {Path(policy).name}", not problems,
          "nft -j list table = nft -f of render, nft list ruleset reloads" if not problems
          else "\n    ".join(p[:400] for p in problems[:30]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", default=str(ROOT / "policies" / "examples" / "campus.yaml"))
    ap.add_argument("--prefix", default=f"bwb{os.getpid()}")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77

    text = Path(a.policy).read_text()
    tight, n = re.subn(r"limit: \{[^}]*\}", TIGHT, text, count=1)
    if n != 1:
        print("behaviour: the policy has no limit to tighten", file=sys.stderr)
        return 2
    # The VIP's HTTPS gets an aggregate SYN limit (all sources together), on its own line.
    tight, n = re.subn(r"(\{ name: vip-https, [^}]*)\}", r"\1, syn_limit: " + VIP_SYN + " }", tight, count=1)
    if n != 1:
        print("behaviour: the policy has no dnat vip-https", file=sys.stderr)
        return 2
    vip_line = tight[:tight.index("name: vip-https")].count("\n") + 1
    # A structural change (a new rule), so the re-apply replaces the whole table.
    changed = tight.replace("nat:\n", "  - name: extra-rule\n    from: mgmt\n    to: internet\n"
                            "    services: [tcp/8443]\n    action: allow\n\nnat:\n", 1)
    results = []
    servers = []
    tmp = tempfile.TemporaryDirectory(prefix="bulwark-behaviour-")
    p1 = Path(tmp.name) / "campus-tight.yaml"
    p2 = Path(tmp.name) / "campus-changed.yaml"
    p1.write_text(tight)
    p2.write_text(changed)
    rc = 0
    try:
        model = topology.load_model(str(p1), a.ctl)
        ns = topology.up(model, a.prefix)
        gw, inet = ns["gw"], ns["inet"]
        for role, port in (("h:lb1", "443"), ("h:mysql1", "3306")):
            servers.append(subprocess.Popen(["ip", "netns", "exec", ns[role], PY, str(PROBE), "serve",
                                             "--tcp", port, "--max-seconds", "300"],
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        for s in servers:
            if not s.stdout.readline().startswith("ready"):
                raise RuntimeError("probe server did not start")
        # Extra internet sources: one per limit test, so each starts with a clean slate.
        for addr in ("198.51.100.20", "198.51.100.21", "198.51.100.22", "198.51.100.23", "198.51.100.24", "10.20.0.11",
                     "10.30.0.99"):
            in_ns(inet, "ip", "addr", "add", f"{addr}/32", "dev", "eth0")
        out = in_ns(gw, a.ctl, "apply", "--direct", "--only", "firewall", str(p1)).stdout.strip()
        print(f"apply: {out}")
        witnessed(results, gw, a.ctl, p1)

        # 1. Spoofing: web1's address (allowed to reach mysql1) arriving from the internet.
        before = counter(gw, "prerouting", "bulwark: antispoof")
        spoofed = connections(inet, WEB1, MYSQL1, 3306, 1, False)
        after = counter(gw, "prerouting", "bulwark: antispoof")
        check(results, "spoofed source dropped", spoofed == [False] and after > before,
              f"connect from 'web1' via the uplink: {spoofed}, antispoof counter {before} -> {after}")
        spoofed_db = connections(inet, "10.30.0.99", LB1, 443, 1, False)
        check(results, "spoofed internal source to the public side dropped", spoofed_db == [False],
              f"connect from a db-segment address via the uplink: {spoofed_db}")
        genuine = connections(inet, "198.51.100.7", LB1, 443, 1, False)
        check(results, "genuine internet source accepted", genuine == [True], f"{genuine}")

        # 2. Concurrent connections per source: 3 allowed, the 4th refused while they are open.
        held = connections(inet, "198.51.100.20", LB1, 443, 4, True, timeout=3.0)
        check(results, "connection limit bites at 3 per source", held == [True, True, True, False],
              f"4 held connections from one source: {held}")
        other = connections(inet, "198.51.100.22", LB1, 443, 1, False, timeout=3.0)
        check(results, "connection limit is per source", other == [True], f"another source meanwhile: {other}")

        # 3. New-connection rate per source: a burst of 5, then (at 1/minute) nothing. A busy
        # machine can make an in-burst connect time out, so the check is the bound (at most 5
        # succeed, the first does) and the kernel's count of SYNs the meter dropped.
        before = counter(gw, "rule_public-web", "campus-tight.yaml:92 public-web:rate")
        burst = connections(inet, "198.51.100.21", LB1, 443, 10, False, timeout=1.5)
        after = counter(gw, "rule_public-web", "campus-tight.yaml:92 public-web:rate")
        ok = burst[0] and burst.count(True) <= 5 and after - before >= 5
        check(results, "rate limit bites after the burst", ok,
              f"10 quick connections from one source: {burst}; rate-drop counter {before} -> {after}")

        # 4. The VIP's syn_limit (1/minute, burst 3) counts every source together: a fresh source
        # takes what the bucket holds, and another fresh source finds it empty (no per-source
        # meter would refuse it: it has sent nothing). The counter is nft's.
        comment = f"campus-tight.yaml:{vip_line} dnat:vip-https syn_limit"
        before = counter(gw, "prerouting", comment)
        first = connections(inet, "198.51.100.23", VIP, 443, 4, False, timeout=1.5)
        second = connections(inet, "198.51.100.24", VIP, 443, 2, False, timeout=1.5)
        after = counter(gw, "prerouting", comment)
        ok = first[0] and (first + second).count(True) <= 4 and second[-1] is False and after - before >= 2
        check(results, "a VIP's syn_limit counts all sources together", ok,
              f"4 quick connections to the VIP from one source: {first}, then 2 from another: {second}; "
              f"syn_limit drop counter {before} -> {after}")

        # 5. An established connection survives a full, atomic re-apply of a changed policy.
        long = subprocess.Popen(["ip", "netns", "exec", inet, PY, "-c", LONG, LB1, "443"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = long.stdout.readline().strip()
        out = in_ns(gw, a.ctl, "apply", "--direct", "--only", "firewall", str(p2)).stdout.strip()
        replaced = "atomic table replacement" in out
        long.stdin.write("go\n")
        long.stdin.flush()
        second = long.stdout.readline().strip()
        long.wait(timeout=10)
        check(results, "established connection survives a full re-apply",
              first == "up" and second == "again" and replaced,
              f"before: {first}, after: {second}; apply said: {out}")
        witnessed(results, gw, a.ctl, p2)
        plan = in_ns(gw, a.ctl, "plan", "--detailed-exitcode", "--only", "firewall", str(p2), check=False)
        check(results, "plan is empty after apply", plan.returncode == 0, plan.stdout.strip())
    except (RuntimeError, subprocess.TimeoutExpired, topology.LabError, json.JSONDecodeError,
            nft_witness.WitnessError) as e:
        print(f"behaviour: lab failed: {e}", file=sys.stderr)
        rc = 2
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            try:
                s.wait(timeout=5)
            except subprocess.TimeoutExpired:
                s.kill()
        topology.down(a.prefix, quiet=True)
        tmp.cleanup()
    failed = [r for r in results if not r[1]]
    print(f"\n{len(results) - len(failed)}/{len(results)} behaviour checks passed")
    if rc:
        return rc
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
