#!/usr/bin/python3
"""Issue 17's goal figures on the HA lab, each run repeated, with a baseline from the same lab.

    bench/ha-failover-bench.py [--ctl build/dev/gateway/bulwarkctl] [--tools build/dev/lab]
        [--streams 5000] [--runs 5] [--hold 40] [--new-conn-rate 100] [--commit-streams 5000]
        [--json-out FILE] [--keep]

One lab (`lab/lab up --ha`, prefix "hab<pid>", removed at the end, also on failure), then:

  commit     K failovers with --commit-streams quiet streams (1 kbit/s, a chunk a second: 2
             conntrack entries each, so 5,000 make the goal's 10,000 synced entries without a load
             this machine cannot carry), each after `conntrack -F` on both nodes (the previous
             run's closed connections would otherwise still be in the standby's cache): the
             takeover's conntrackd commit as the new active bulwarkd timed it, and its entries
  baseline   one load with no failure: N streams at 64 kbit/s and R new HTTP connections per
             second to the VIP for the whole hold; the per-stream largest gap (p50/p99) the
             machine gives with nothing failing, and the active node's bulwarkd + keepalived +
             conntrackd CPU over the whole hold (utime + stime from /proc/PID/stat, % of one core);
             its gap figures are over the window a run's failover is measured in (10-18 s into
             the hold: gaps that start in it), so the ratio compares like with like
  run 1..K   the same load, and in its hold: the active gateway killed at 10 s (cables out,
             SIGKILL), back 8 s later (a reboot; failback with the default mode, nopreempt), lb1's
             nginx killed 8 s after that. Per run: VIPs on the standby after (s), streams lost,
             per-stream largest gap p50/p99/max and its ratio to the baseline's p99, the
             takeover's conntrackd commit (ms, entries), the failback's streams lost and gap
             p99, the daemons' CPU from the hold's start to the kill, lb1's streams and how many
             reconnected (p50/p99 drop -> first byte again), the kill -> first new connection
             via lb2.

Every figure comes from `lab/lab load --json-out` (the lab's own report); this script only
runs the loads and tabulates. The goals (issue 17): 0 lost, VIPs <= 1 s, gap p99 <= 2 s,
failback 0 lost, new connections via lb2 <= 3 s, CPU <= 5 % of one core, commit <= 10 ms for
10,000 entries. A missed goal is printed as MISSED with the figure; exit 1 then, 2 when the lab
broke, 77 when it cannot run (not root). Needs root, nginx, keepalived, conntrackd.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "lab" / "lab"
PY = "/usr/bin/python3"
KILL_AT, BACK_AFTER, LB_AFTER = 10, 8, 8  # s into the hold; after the kill; after the failback


def lab(*args, timeout=900):
    return subprocess.run([PY, str(LAB), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def load(prefix: str, a, *extra) -> dict:
    with tempfile.NamedTemporaryFile(prefix="ha-bench-", suffix=".json", delete=False) as f:
        out = Path(f.name)
    try:
        cp = lab("load", "--prefix", prefix, "--streams", a.streams, "--duration", a.hold,
                 "--connect-rate", a.connect_rate, "--new-conn-rate", a.new_conn_rate, "--json-out", out, *extra,
                 timeout=a.hold + 600)
        lines = [l for l in cp.stdout.splitlines() if not l.startswith("  t=")]
        print("\n".join("    " + l for l in lines[-24:]), flush=True)
        r = json.loads(out.read_text()) if out.stat().st_size else {}
    finally:
        out.unlink(missing_ok=True)
    if not r:
        raise SystemExit(f"lab load gave no result (exit {cp.returncode}): {cp.stderr.strip()[-1500:]}")
    r["_rc"] = cp.returncode
    return r


def flush_conntrack(prefix: str):
    """Both nodes' connection tables emptied; the active node's conntrackd syncs the
    deletions, so the standby's external cache empties too."""
    for ns in (f"{prefix}-gw", f"{prefix}-gw2"):
        subprocess.run(["ip", "netns", "exec", ns, "conntrack", "-F"], capture_output=True, timeout=30)
    time.sleep(2)


def commit_runs(prefix: str, a) -> list:
    out = []
    q = argparse.Namespace(**{**vars(a), "streams": a.commit_streams, "hold": 16, "connect_rate": 1000,
                              "new_conn_rate": 0})
    for i in range(1, a.runs + 1):
        flush_conntrack(prefix)
        print(f"commit {i}/{a.runs}: {q.streams} quiet streams, the active gateway killed at 8 s, back 4 s later",
              flush=True)
        r = load(prefix, q, "--bitrate", 1, "--chunk-ms", 1000, "--stall-ms", 5000, "--kill-active-at", 8,
                 "--failback-after", 4)
        f = r.get("ha") or {}
        tk = f.get("takeover") or {}
        out.append({"established": r["clients"]["established"], "commit_ms": tk.get("commit_ms"),
                    "committed": tk.get("committed"), "steps_ms": tk.get("steps_ms"),
                    "failover_s": f.get("failover_s"), "streams_lost": f.get("streams_lost"),
                    "gap_ms": f.get("gap_ms"), "loadavg": r.get("loadavg")})
    return out


def med(v):
    v = sorted(x for x in v if x is not None)
    return v[len(v) // 2] if v else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ctl", default=str(REPO / "build" / "dev" / "gateway" / "bulwarkctl"))
    ap.add_argument("--tools", default=str(REPO / "build" / "dev" / "lab"))
    ap.add_argument("--streams", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--hold", type=int, default=40, help=f"s; at least {KILL_AT + BACK_AFTER + LB_AFTER + 8}")
    ap.add_argument("--connect-rate", type=int, default=500)
    ap.add_argument("--new-conn-rate", type=float, default=100)
    ap.add_argument("--commit-streams", type=int, default=5000,
                    help="quiet streams for the commit runs (0: none); 2 conntrack entries each")
    ap.add_argument("--json-out")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    if a.hold < KILL_AT + BACK_AFTER + LB_AFTER + 8 or not 1 <= a.runs <= 20:
        print(f"--hold at least {KILL_AT + BACK_AFTER + LB_AFTER + 8}, --runs 1..20", file=sys.stderr)
        return 2
    prefix = f"hab{os.getpid() % 100000}"
    try:
        return bench(a, prefix)
    finally:
        if not a.keep:
            lab("down", "--prefix", prefix)


def bench(a, prefix: str) -> int:
    t0 = time.monotonic()
    cp = lab("up", "--ha", "--prefix", prefix, "--ctl", a.ctl, "--tools", a.tools, timeout=300)
    if cp.returncode != 0:
        print(cp.stdout[-2000:], cp.stderr[-2000:])
        return 2
    print(f"lab {prefix} up (HA pair); {a.streams} streams x 64 kbit/s, {a.new_conn_rate:g} new connections/s, "
          f"hold {a.hold} s; load average {open('/proc/loadavg').read().split()[0]}", flush=True)
    commits = commit_runs(prefix, a) if a.commit_streams else []
    flush_conntrack(prefix)
    print("baseline: no failure", flush=True)
    # the same windows as a run's failover and failback, with nothing failing
    base = load(prefix, a, "--gap-window", KILL_AT, KILL_AT + BACK_AFTER)
    bg = (base.get("gap_window") or {}).get("gap_ms") or {}
    bcpu = base.get("ha_daemons_cpu") or {}
    runs = []
    for i in range(1, a.runs + 1):
        print(f"run {i}/{a.runs}: active gateway killed at {KILL_AT} s, back {BACK_AFTER} s later, lb1 killed "
              f"{LB_AFTER} s after that", flush=True)
        r = load(prefix, a, "--kill-active-at", KILL_AT, "--failback-after", BACK_AFTER,
                 "--kill-backend-at", KILL_AT + BACK_AFTER + LB_AFTER, "lb1")
        f, bk = r.get("ha") or {}, r.get("backend_kill") or {}
        fb, tk, cpu = f.get("failback") or {}, f.get("takeover") or {}, r.get("ha_daemons_cpu") or {}
        runs.append({"established": r["clients"]["established"], "failed": r["clients"]["failed"],
                     "failover_s": f.get("failover_s"), "streams_lost": f.get("streams_lost"),
                     "gap_ms": f.get("gap_ms"), "gap_p99_vs_baseline": round(f["gap_ms"]["p99"] / bg["p99"], 2)
                     if f.get("gap_ms") and bg.get("p99") else None,
                     "commit_ms": tk.get("commit_ms"), "committed": tk.get("committed"),
                     "failback_lost": fb.get("streams_lost"), "failback_gap_p99_ms": (fb.get("gap_ms") or {}).get("p99"),
                     "failback_role": fb.get("role"), "cpu_percent": cpu.get("total_percent"),
                     "cpu_by_daemon": cpu.get("percent_of_one_core"), "cpu_seconds": cpu.get("seconds"),
                     "lb1_streams": bk.get("streams_on_backend"), "lb1_reconnected": bk.get("streams_reconnected"),
                     "lb1_not_back": bk.get("streams_not_back"), "reconnect_ms": bk.get("reconnect_ms"),
                     "new_conn_via_lb2_s": bk.get("new_conn_s"), "new_conn_via": bk.get("new_conn_via"),
                     "new_conns": r.get("new_connections"), "load_ok": r.get("ok"), "loadavg": r.get("loadavg")})
    return report(a, base, bg, bcpu, runs, commits, time.monotonic() - t0)


def report(a, base, bg, bcpu, runs, commits, took) -> int:
    print()
    if commits:
        print("commit runs: " + "; ".join(f"{c['commit_ms']} ms for {c['committed']} entries (failover "
                                          f"{c['failover_s']} s, lost {c['streams_lost']}, gap p99 "
                                          f"{(c['gap_ms'] or {}).get('p99')} ms)" for c in commits))
    print(f"baseline (no failure): {base['clients']['established']}/{a.streams} established; per-stream largest "
          f"gap {KILL_AT}-{KILL_AT + BACK_AFTER} s into the hold p50 {bg.get('p50')} ms, p99 {bg.get('p99')} ms "
          f"(whole hold p99 {(base['clients'].get('stream_max_gap_ms') or {}).get('p99')} ms); the active node's daemons "
          f"{bcpu.get('total_percent')} % of one core over {bcpu.get('seconds')} s ({json.dumps(bcpu.get('percent_of_one_core'))}); "
          f"new connections {json.dumps((base.get('new_connections') or {}).get('outcomes'))} "
          f"({(base.get('new_connections') or {}).get('per_s')}/s); load average {base.get('loadavg')}")
    cols = ("run", "estab", "VIPs s", "lost", "gap p50/p99/max ms", "p99 vs base", "commit ms (entries)",
            "failback lost / gap p99", "CPU %", "lb1 streams / back", "reconnect p50/p99 ms", "via lb2 s")
    print(" | ".join(cols))
    for i, r in enumerate(runs, 1):
        g, rc = r["gap_ms"] or {}, r["reconnect_ms"] or {}
        print(" | ".join(str(x) for x in (
            i, r["established"], r["failover_s"], r["streams_lost"], f"{g.get('p50')}/{g.get('p99')}/{g.get('max')}",
            r["gap_p99_vs_baseline"], f"{r['commit_ms']} ({r['committed']})",
            f"{r['failback_lost']} / {r['failback_gap_p99_ms']}", r["cpu_percent"],
            f"{r['lb1_streams']} / {r['lb1_reconnected']}", f"{rc.get('p50')}/{rc.get('p99')}", r["new_conn_via_lb2_s"])))
    missed = []

    def goal(what, ok, detail):
        print(f"  {'met   ' if ok else 'MISSED'} {what}: {detail}")
        if not ok:
            missed.append(what)
    fo = [r["failover_s"] for r in runs]
    goal("0 established streams lost in every failover", all(r["streams_lost"] == 0 for r in runs),
         [r["streams_lost"] for r in runs])
    goal("VIPs on the standby <= 1 s", all(x is not None and x <= 1.0 for x in fo), fo)
    p99 = [(r["gap_ms"] or {}).get("p99") for r in runs]
    goal("per-stream largest gap p99 <= 2 s", all(x is not None and x <= 2000 for x in p99), p99)
    goal("failback (nopreempt): 0 lost", all(r["failback_lost"] == 0 for r in runs), [r["failback_lost"] for r in runs])
    via = [r["new_conn_via_lb2_s"] for r in runs]
    goal("lb1 killed: new connections via lb2 <= 3 s", all(x is not None and x <= 3.0 for x in via), via)
    goal("lb1 killed: every stream of lb1 reconnected", all(r["lb1_not_back"] == 0 for r in runs),
         [f"{r['lb1_reconnected']}/{r['lb1_streams']}" for r in runs])
    cpu = [bcpu.get("total_percent")] + [r["cpu_percent"] for r in runs]
    goal("bulwarkd + keepalived + conntrackd <= 5 % of one core (baseline, then each run to its kill)",
         all(x is not None and x <= 5.0 for x in cpu), cpu)
    cm = [(c["commit_ms"], c["committed"]) for c in commits] or [(r["commit_ms"], r["committed"]) for r in runs]
    goal(f"conntrackd commit <= 10 ms ({'the commit runs' if commits else 'the runs'}; ms, entries)",
         all(c is not None and c <= 10.0 for c, _ in cm), cm)
    goal("commit runs: 0 streams lost", all(c["streams_lost"] == 0 for c in commits),
         [c["streams_lost"] for c in commits])
    print(f"medians: VIPs {med(fo)} s, gap p99 {med(p99)} ms, commit {med([c for c, _ in cm])} ms, "
          f"CPU {med(cpu)} %, via lb2 {med(via)} s; {len(runs)} runs in {took:.0f} s")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"baseline": base, "runs": runs, "commits": commits, "missed": missed,
                                                "streams": a.streams, "hold": a.hold}, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
