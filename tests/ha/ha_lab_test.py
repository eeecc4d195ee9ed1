#!/usr/bin/python3
"""The HA pair end to end, in namespaces, with the real keepalived, conntrackd and nginx
(lab/lab up --ha: policies/examples/campus-ha, bulwarkd --ha on both gateways).

    ha_lab_test.py BULWARKCTL TOOLS_DIR [--streams N] [--sync-cut S] [--keep]

Checks, in one lab (prefix "hat<pid>", removed on exit, also on failure):
  0. no daemon of the pair runs as root: bulwarkd, keepalived and conntrackd on both nodes as
     _bulwarkd with CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_NICE only (bulwarkd-ha.conf), and
     bulwarkd --ha with CAP_NET_ADMIN alone refuses to start, naming what is missing;
  1. bad input: an ha: section naming an interface the nodes lack (the sync link) is refused by
     `bulwarkctl apply` through a node's bulwarkd with a clear error and a non-zero exit, and
     nothing changes: the kernel's table inet bulwark (nft, the witness), keepalived's file,
     the roles;
  2. failover with established streams: the active gateway is unplugged and SIGKILLed while N
     streams run through the VIP (DNAT to lb1, the nginx relay to the stream origin): 0 streams
     lost, the floating addresses on the standby within 1 s (VRRPv3, 0.1 s adverts);
  3. failback with the default mode (nopreempt): the killed node comes back (a reboot: empty
     tables, bulwarkd started) as standby: 0 streams lost, the active node stays;
  3b. in the same load, lb1's nginx SIGKILLed (lab/lab load --kill-backend-at): the health check
     moves new connections to lb2 within 3 s (a new connection to the VIP every 50 ms names the
     load balancer that answers), and every stream that was on lb1 reconnects (the clients
     retry) before the load ends;
  3c. one source's access revoked by a pair apply during a load, then the active node killed:
     its streams are cut within 1 s and stay cut after the takeover (the conntrack deletes
     reached the standby's conntrackd cache), the others keep flowing;
  4. the sync link cut silently for S seconds (the switch drops everything, carriers stay up)
     and restored: 0 streams lost; both nodes active (a split brain) is detected and alerted
     (audit log, metric) and resolved (one node stands down, then returns as standby).
Exit 0 pass, 1 a check failed, 2 the lab broke, 77 skipped (not root, no nginx/keepalived/conntrackd).
"""
import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAB = HERE.parents[1] / "lab" / "lab"
PY = "/usr/bin/python3"
FAILED = []


def check(what, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        FAILED.append(what)


def lab(*args, timeout=300, check_rc=True):
    cp = subprocess.run([PY, str(LAB), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check_rc and cp.returncode != 0:
        print(cp.stdout[-3000:], cp.stderr[-3000:], sep="\n")
        raise SystemExit(2)
    return cp


def sh(*argv, timeout=30):
    return subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=timeout)


def ha_state(prefix):
    return json.loads(lab("ha", "status", "--prefix", prefix, "--json").stdout)


def daemons_in(ns):
    """(name, effective uid, CapEff) of every bulwarkd, keepalived and conntrackd in `ns`."""
    pids = sh("ip", "netns", "pids", ns).stdout.split()
    out = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        f = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        name = f["Name"].strip()
        if name in ("bulwarkd", "keepalived", "conntrackd"):
            out.append((name, int(f["Uid"].split()[1]), int(f["CapEff"].strip(), 16)))
    return out


def audit_events(prefix, node):
    f = Path(f"/var/lib/bulwark-lab/{prefix}-ha/{node}/state/audit.log")
    return [json.loads(line) for line in f.read_text().splitlines() if line.strip()] if f.exists() else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ctl")
    ap.add_argument("tools")
    ap.add_argument("--streams", type=int, default=300)
    ap.add_argument("--sync-cut", type=float, default=30)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    for b in ("/usr/sbin/nginx", "/usr/sbin/keepalived", "/usr/sbin/conntrackd", "/usr/sbin/conntrack"):
        if not os.access(b, os.X_OK):
            print(f"SKIP: {b} missing (tools/install-deps.sh)")
            return 77
    prefix = f"hat{os.getpid() % 100000}"
    try:
        return run(a, prefix)
    finally:
        if not a.keep:
            lab("down", "--prefix", prefix, check_rc=False)


def run(a, prefix):
    t0 = time.monotonic()
    up = lab("up", "--ha", "--prefix", prefix, "--ctl", a.ctl, "--tools", a.tools)
    print(up.stdout.strip().splitlines()[-1])
    st = ha_state(prefix)
    check("one node active, the other standby",
          sorted(n["role"] for n in st["nodes"].values() if n) == ["backup", "master"], st)
    first = st["active"]
    nodes = list(st["nodes"])
    gw_ns = {nodes[0]: f"{prefix}-gw", nodes[1]: f"{prefix}-gw2"}

    # --- 0. no daemon of the pair runs as root ----------------------------------------------
    want = (1 << 12) | (1 << 13) | (1 << 23)  # CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_NICE
    for node, ns in gw_ns.items():
        seen = daemons_in(ns)
        check(f"{node}: bulwarkd, keepalived and conntrackd run", {c for c, _, _ in seen} >= {
            "bulwarkd", "keepalived", "conntrackd"}, seen)
        check(f"{node}: ... as _bulwarkd with CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_NICE and nothing else",
              all(uid != 0 and eff == want for _, uid, eff in seen), seen)
    # Without CAP_NET_RAW handed down, bulwarkd --ha refuses to start, before it starts anything.
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        runner = HERE.parents[1] / "gateway" / "systemd" / "run-bulwarkd.sh"
        cp = sh("ip", "netns", "exec", gw_ns[nodes[0]], runner, "--", Path(a.ctl).parent / "bulwarkd", "--ha",
                "--node", nodes[0], "--policy", HERE.parents[1] / "policies/examples/campus-ha",
                "--socket", f"{d}/s.sock", "--state-dir", f"{d}/state", "--ha-dir", f"{d}/ha", "--metrics", "off",
                "--no-journal", "--no-links", timeout=30)
        msg = cp.stdout + cp.stderr
        check("bulwarkd --ha with CAP_NET_ADMIN only: refused at startup", cp.returncode == 1, f"exit {cp.returncode}")
        check("... naming CAP_NET_RAW and the drop-in", "CAP_NET_RAW (keepalived's VRRP socket" in msg
              and "bulwarkd-ha.conf" in msg, msg[-1500:])
        check("... having created nothing", sorted(os.listdir(d)) == [], os.listdir(d))

    # --- 1. bad input changes nothing -----------------------------------------------------
    node = nodes[0]
    sock = f"/var/lib/bulwark-lab/{prefix}-ha/{node}/control.sock"
    ka = Path(f"/var/lib/bulwark-lab/{prefix}-ha/{node}/ha/keepalived.conf")
    # -s: the ruleset without its counters (packets keep flowing: VRRP, sync, health probes).
    nft = ("ip", "netns", "exec", gw_ns[node], "nft", "-s", "list", "table", "inet", "bulwark")
    before = (sh(*nft).stdout, ka.read_text())
    repo = HERE.parents[1]
    with tempfile.TemporaryDirectory() as d:
        bad = Path(d) / "campus-ha"
        bad.mkdir()
        (bad / "campus.yaml").write_text((repo / "policies/examples/campus-ha/campus.yaml").read_text())
        (bad / "ha.yaml").write_text((repo / "policies/examples/campus-ha/ha.yaml").read_text()
                                     .replace("sync: { interface: eth2 }", "sync: { interface: eth9 }"))
        cp = sh(a.ctl, "--socket", sock, "apply", bad, timeout=60)
    msg = cp.stdout + cp.stderr
    check("bad ha: section refused with a non-zero exit", cp.returncode != 0, f"exit {cp.returncode}")
    check("... naming the missing interface and the policy line",
          "ha.yaml:" in msg and "has no interface eth9 (the sync link)" in msg and "nothing was changed" in msg, msg)
    after = (sh(*nft).stdout, ka.read_text())
    check("... and nothing changed (nft ruleset, keepalived.conf)", before == after,
          "".join(difflib.unified_diff(before[0].splitlines(True), after[0].splitlines(True), "before", "after"))[:3000]
          + ("" if before[1] == after[1] else "keepalived.conf changed"))
    check("... nor the roles", ha_state(prefix)["active"] == first)

    # --- 2 + 3. failover with established streams, then failback (nopreempt) ---------------
    out = Path(tempfile.mkstemp(prefix="ha-load-", suffix=".json")[1])
    cp = lab("load", "--prefix", prefix, "--streams", a.streams, "--duration", 22, "--connect-rate", 300,
             "--kill-active-at", 4, "--failback-after", 8, "--kill-backend-at", 16, "lb1", "--json-out", out,
             check_rc=False, timeout=240)
    print("\n".join(l for l in cp.stdout.splitlines() if ">>" in l or "failover" in l or "failback" in l
                    or "result" in l or "backend" in l or "new connections" in l))
    r = json.loads(out.read_text()) if out.stat().st_size else {}
    out.unlink()
    f = r.get("ha", {})
    check(f"{a.streams} streams established", r.get("clients", {}).get("established") == a.streams, r.get("clients"))
    check("failover: 0 established streams lost", f.get("streams_lost") == 0, f)
    check("failover: the floating addresses on the standby within 1 s",
          f.get("failover_s") is not None and f["failover_s"] <= 1.0, f.get("failover_s"))
    check("failover: the standby took over", f.get("took_over") not in (None, f.get("killed")), f)
    check("failover: every stream flows again, per-stream largest gap p99 <= 2 s",
          (f.get("gap_ms") or {}).get("p99", 1e9) <= 2000, f.get("gap_ms"))
    fb = f.get("failback") or {}
    check("failback (nopreempt): the node returns as standby", fb.get("role") == "backup", fb)
    check("failback: 0 streams lost, the active node stays", fb.get("streams_lost") == 0 and
          fb.get("active_after") == f.get("took_over"), fb)
    check("failback: per-stream largest gap p99 <= 2 s", (fb.get("gap_ms") or {}).get("p99", 1e9) <= 2000, fb)
    bk = r.get("backend_kill") or {}
    check("lb1 killed: it held every stream (failover mode: lb2 is a cold standby)",
          bk.get("streams_on_backend") == a.streams and bk.get("streams_on_other_backends") == 0, bk)
    check("lb1 killed: new connections to the VIP answered by lb2 within 3 s",
          bk.get("new_conn_via") == "lb2" and bk.get("new_conn_s") is not None and bk["new_conn_s"] <= 3.0, bk)
    check("lb1 killed: every stream that was on it reconnected before the load ended",
          bk.get("streams_dropped") == a.streams and bk.get("streams_reconnected") == a.streams and
          r.get("clients", {}).get("reconnecting_at_end") == 0, bk)
    check("no stream dropped in the whole run but lb1's", r.get("clients", {}).get("dropped") == bk.get("streams_dropped"),
          r.get("clients"))
    ev = audit_events(prefix, f.get("took_over"))
    takeovers = [e for e in ev if e.get("event") == "ha-transition" and e.get("detail", {}).get("to") == "master"]
    check("the takeover committed the synced connections (audited, timed)",
          bool(takeovers) and takeovers[-1]["detail"].get("committed", 0) >= a.streams, takeovers[-1:] or ev[-5:])

    # --- 3c. a revocation, then a failover: the revoked connections stay cut -------------------
    # The active node deletes them from its kernel; the deletes reach the standby's conntrackd,
    # so the takeover's commit must not bring them back (the deny itself is on both nodes).
    out = Path(tempfile.mkstemp(prefix="ha-revoke-", suffix=".json")[1])
    cp = lab("load", "--prefix", prefix, "--streams", 40, "--src-count", 4, "--duration", 16, "--revoke-at", 2,
             "--kill-active-at", 6, "--failback-after", 4, "--json-out", out, check_rc=False, timeout=200)
    print("\n".join(l for l in cp.stdout.splitlines() if ">>" in l or "revoke" in l or "failover" in l))
    r = json.loads(out.read_text()) if out.stat().st_size else {}
    out.unlink()
    if not r:
        print(cp.stdout[-2000:], cp.stderr[-2000:], sep="\n")
    rv, f = r.get("revoke", {}), r.get("ha", {})
    check("revoke + failover: the revoked source's 10 streams cut within 1 s of the pair apply's reply",
          rv.get("revoked_streams") == 10 and rv.get("revoked_cut") == 10 and
          (rv.get("revoked_last_ms_after_reply") or 10**9) <= 1000, rv)
    check("... and still cut after the takeover, the other 30 streams not dropped",
          f.get("streams_lost") == 0 and rv.get("other_dropped") == 0 and rv.get("revoked_cut") == 10, {"ha": f, "revoke": rv})
    # At least the 10 streams' entries: the earlier loads' closing connections of that source may be there too.
    check("... the cut was the active node's own (audited: its 10 streams' entries at least)",
          (rv.get("reply") or {}).get("cut", 0) >= 10, rv.get("reply"))

    # --- 4. the sync link cut and restored --------------------------------------------------
    out = Path(tempfile.mkstemp(prefix="ha-cut-", suffix=".json")[1])
    cp = lab("load", "--prefix", prefix, "--streams", a.streams, "--duration", int(a.sync_cut + 10), "--connect-rate", 300,
             "--cut-sync-at", 3, "--cut-sync-for", a.sync_cut, "--json-out", out, check_rc=False,
             timeout=int(a.sync_cut) + 200)
    print("\n".join(l for l in cp.stdout.splitlines() if ">>" in l or "sync link" in l or "result" in l))
    r = json.loads(out.read_text()) if out.stat().st_size else {}
    out.unlink()
    c = r.get("sync_cut", {})
    check("sync link cut: 0 established streams lost", c.get("streams_lost") == 0 and
          r.get("clients", {}).get("dropped") == 0, c)
    check("sync link cut: every stream flows on, per-stream largest gap p99 <= 2 s",
          (c.get("gap_ms") or {}).get("p99", 1e9) <= 2000, c.get("gap_ms"))
    check("sync link cut: the split brain detected (metric)", c.get("split_brain_detected") is True, c.get("split_brain"))
    during = c.get("during", {})
    check("sync link cut: one node stood down", sorted((v or {}).get("role") or "" for v in during.values()) == ["fault", "master"]
          and any((v or {}).get("standing_down") for v in during.values()), during)
    alerts = [e for n in nodes for e in audit_events(prefix, n) if e.get("event") == "ha-split-brain"]
    check("sync link cut: the split brain alerted (audit log, events stream)", bool(alerts) and not alerts[0]["ok"], alerts[:1])
    aft = c.get("after", {})
    check("sync link restored: one active, one standby again, sync up",
          sorted((v or {}).get("role") or "" for v in aft.values()) == ["backup", "master"] and
          all((v or {}).get("sync_link") == "up" for v in aft.values()), aft)

    print(f"\n{'PASS' if not FAILED else 'FAIL'}: {len(FAILED)} check(s) failed in {time.monotonic() - t0:.0f}s"
          + (f": {'; '.join(FAILED)}" if FAILED else ""))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
