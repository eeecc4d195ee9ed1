#!/usr/bin/python3
"""What the user waits for when one policy goes to both nodes of the HA pair: the whole
`bulwarkctl apply` of a one-element change, and the whole `bulwarkctl reload` of a changed
policy dir, each against the same change applied to one node alone, in the same lab.

    bench/ha-pair-apply-bench.py [--ctl build/dev/gateway/bulwarkctl] [--tools build/dev/lab]
        [--runs 7] [--keep]

One lab (`lab/lab up --ha` with policies/examples/campus-ha as shipped, prefix "hpb<pid>",
removed at the end, also on failure), then per run, on node A (edge1-a), each command timed
from its start to its exit (wall clock, the bulwarkctl process as a whole):

  pair apply   bulwarkctl apply DIR: one element of a set changed (tcp/PORT added to the agents
               service, PORT alternating), applied on both nodes and committed (peer-status,
               the peer's half, this node's, peer-confirm, confirm)
  pair reload  A's policy dir rewritten with the other element, then bulwarkctl reload: the
               same pair apply of the dir's content
  one node     bulwarkctl apply --local-only DIR: the same one-element change on A alone (the
               baseline: what a gateway without a pair waits for); then, untimed, the same on
               B alone, so the pair is in sync again for the next run

Each run checks its result in both kernels (nft -j: the port in set mgmt-ops_svc of each
namespace) and exits 1 if one is missing. Prints each run's figures, the medians, the ratios
pair / one node per run and their median, and the load average before and after.
Needs root, nginx, keepalived, conntrackd; exit 77 when it cannot run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "lab" / "lab"
CAMPUS_HA = REPO / "policies" / "examples" / "campus-ha"
PY = "/usr/bin/python3"
NODES = ("edge1-a", "edge1-b")


def run(*argv, timeout=120):
    return subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=timeout)


def variant(d: Path, port: int) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    campus = (CAMPUS_HA / "campus.yaml").read_text()
    (d / "campus.yaml").write_text(campus.replace("tcp/9100, tcp/9104", f"tcp/9100, tcp/9104, tcp/{port}", 1))
    (d / "ha.yaml").write_text((CAMPUS_HA / "ha.yaml").read_text())
    return d


class Lab:
    def __init__(self, prefix: str, ctl: str):
        self.prefix, self.ctl = prefix, ctl
        self.ns = {"edge1-a": f"{prefix}-gw", "edge1-b": f"{prefix}-gw2"}
        self.root = Path(f"/var/lib/bulwark-lab/{prefix}-ha")

    def ctl_(self, node, *args):
        return run(self.ctl, "--socket", self.root / node / "control.sock", *args)

    def timed(self, node, *args) -> float:
        t = time.monotonic()
        cp = self.ctl_(node, *args)
        took = time.monotonic() - t
        if cp.returncode != 0:
            raise RuntimeError(f"bulwarkctl {' '.join(map(str, args))} on {node}: {(cp.stdout + cp.stderr)[-600:]}")
        return took

    def has_port(self, node, port) -> bool:
        cp = run("ip", "netns", "exec", self.ns[node], "nft", "-j", "list", "set", "inet", "bulwark", "mgmt-ops_svc")
        if cp.returncode != 0:
            return False
        for o in json.loads(cp.stdout)["nftables"]:
            for e in (o.get("set") or {}).get("elem", []):
                if isinstance(e, dict) and e.get("concat", [None, None])[1] == port:
                    return True
        return False


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", default=str(REPO / "build/dev/gateway/bulwarkctl"))
    ap.add_argument("--tools", default=str(REPO / "build/dev/lab"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    prefix = f"hpb{os.getpid() % 100000}"
    up = run(PY, LAB, "up", "--ha", "--policy", CAMPUS_HA, "--prefix", prefix, "--ctl", a.ctl, "--tools", a.tools,
             timeout=300)
    if up.returncode != 0:
        print(up.stdout[-2000:], up.stderr[-2000:], sep="\n")
        return 2
    lab = Lab(prefix, a.ctl)
    A, B = NODES
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # both nodes see each other before the first run
                st = json.loads(lab.ctl_(A, "--json", "status").stdout or "{}")
                if st.get("peer", {}).get("in_sync"):
                    break
                time.sleep(0.5)
            print(f"load average before: {loadavg()}", flush=True)
            for i in range(a.runs):
                p1, p2, p3 = 9200 + 3 * i, 9201 + 3 * i, 9202 + 3 * i
                pair = lab.timed(A, "apply", variant(tmp / f"a{i}", p1))
                ok = lab.has_port(A, p1) and lab.has_port(B, p1)
                d = variant(tmp / f"r{i}", p2)
                for f in ("campus.yaml", "ha.yaml"):
                    (lab.root / A / "policy" / f).write_text((d / f).read_text())
                reload = lab.timed(A, "reload")
                ok = ok and lab.has_port(A, p2) and lab.has_port(B, p2)
                one = lab.timed(A, "apply", "--local-only", variant(tmp / f"o{i}", p3))
                ok = ok and lab.has_port(A, p3) and not lab.has_port(B, p3)
                lab.timed(B, "apply", "--local-only", tmp / f"o{i}")  # the pair in sync again
                rows.append((pair, reload, one))
                print(f"run {i + 1}: pair apply {pair:.3f} s, pair reload {reload:.3f} s, one node {one:.3f} s; "
                      f"pair/one {pair / one:.2f}, reload/one {reload / one:.2f}; in both kernels: {ok}", flush=True)
                if not ok:
                    print("FAIL: a change is missing from a kernel (nft -j)")
                    return 1
            print(f"load average after: {loadavg()}")
    except RuntimeError as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        if not a.keep:
            run(PY, LAB, "down", "--prefix", prefix, timeout=120)
    med = [statistics.median(r[k] for r in rows) for k in range(3)]
    print(f"median of {len(rows)}: pair apply {med[0]:.3f} s, pair reload {med[1]:.3f} s, one node {med[2]:.3f} s; "
          f"ratio pair apply/one node {statistics.median(r[0] / r[2] for r in rows):.2f}, "
          f"pair reload/one node {statistics.median(r[1] / r[2] for r in rows):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
