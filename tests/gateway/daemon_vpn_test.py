#!/usr/bin/env python3
"""bulwarkd with a REAL charon (strongSwan, kernel-libipsec) in network namespaces: the VPN as
the daemon's third resource kind, `tunnels`, `terminate`, tunnel events, commit-confirm of
the VPN configuration.

The topology, PKI and client charons are tests/vpn/lab/charon_vpn_test.py's VpnLab (policy
tests/vpn/lab/vpn-lab.yaml); here the gateway's charon is configured only by bulwarkd
(`--vici`), which also programs the firewall and adopts the segment interfaces.

Checks: startup loads the admin connections into charon (kinds firewall, links, vpn ok);
alice's tunnel comes up and `tunnels` lists her (group, virtual IP, outer address, bytes);
`bulwarkctl tunnels` through the daemon's socket lists her too (--json and the table, as root
and as a view-role user), with the same rows as `bulwarkctl tunnels --direct` (VICI);
an `events` subscriber sees tunnel up; `bulwarkctl tunnels terminate alice` as a view-role
user is refused (tunnel still up, refusal audited), as a change-role user closes it (tunnels
empty, tunnel down event, audited with that user); an unconfirmed apply that changes a VPN
pool is put back in charon at the deadline; charon restarted → the daemon loads its
configuration again.

Usage: daemon_vpn_test.py --daemon BULWARKD --ctl BULWARKCTL   (root; exit 77 = skipped)
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vpn", "lab"))
import charon_vpn_test as cvt  # noqa: E402
import charonlab  # noqa: E402

POLICY = os.path.join(HERE, "..", "vpn", "lab", "vpn-lab.yaml")
RESULTS = []
# The daemon's access groups (numeric: no group database entries needed) and two unprivileged
# identities for bulwarkctl, as in daemon_netns.py.
VIEW_GID = 64242
CHANGE_GID = 64241
VIEWER = ["--reuid=65534", "--regid=65534", "--groups=%d" % VIEW_GID]
CHANGER = ["--reuid=65534", "--regid=65534", "--groups=%d" % CHANGE_GID]


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print("%s  %s%s" % ("PASS" if ok else "FAIL", name, ("  -- " + str(detail)[:1500]) if detail and not ok else ""),
          flush=True)
    return ok


class Daemon:
    def __init__(self, t, exe, policy_dir, sock_dir):
        self.t = t
        self.dir = os.path.join(t.lab.dir, "bulwarkd")
        os.makedirs(self.dir, exist_ok=True)
        # The socket outside the lab dir (0700): the unprivileged bulwarkctl runs must reach it.
        self.sock = os.path.join(sock_dir, "control.sock")
        self.log = os.path.join(self.dir, "bulwarkd.log")
        self.proc = t.lab.spawn(t.ns_gw, [exe, "--policy", policy_dir, "--socket", self.sock, "--state-dir",
                                          os.path.join(self.dir, "state"), "--metrics", "127.0.0.1:9469", "--no-journal",
                                          "--vici", t.gw.uri, "--pki", t.pki_dir, "--libipsec",
                                          "--change-group", str(CHANGE_GID), "--view-group", str(VIEW_GID)],
                                os.path.join("bulwarkd", "bulwarkd.log"))
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise charonlab.LabError("bulwarkd exited:\n" + cvt.read(self.log)[-2000:])
            if "ready:" in cvt.read(self.log):
                return
            time.sleep(0.1)
        raise charonlab.LabError("bulwarkd not ready:\n" + cvt.read(self.log)[-2000:])

    def request(self, op, timeout=60, **args):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.sock)
            f = s.makefile("rwb")
            f.write(json.dumps({"id": 1, "op": op, **args}).encode() + b"\n")
            f.flush()
            return json.loads(f.readline())

    def subscribe(self):
        """Collects every event line in a list, from a thread."""
        events = []
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.sock)
        f = s.makefile("rwb")
        f.write(b'{"id":1,"op":"events"}\n')
        f.flush()

        def reader():
            for line in f:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass

        threading.Thread(target=reader, daemon=True).start()
        return s, events

    def audit(self):
        p = os.path.join(self.dir, "state", "audit.log")
        return [json.loads(l) for l in cvt.read(p).splitlines()]

    def ctl(self, *argv, user=None):
        """bulwarkctl through this daemon's socket; as root, or through setpriv as `user`."""
        cmd = [self.t.ctl, "--socket", self.sock, *argv]
        if user is not None:
            cmd = ["setpriv", *user, *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    why = charonlab.shared.missing()
    if why:
        print("SKIP: missing " + why)
        return 77
    t = cvt.VpnLab(os.path.abspath(a.ctl), os.path.abspath(POLICY), timeout=400)
    d = None
    sock_dir = tempfile.mkdtemp(prefix="bulwarkd-vpn-sock.")
    os.chmod(sock_dir, 0o755)
    try:
        d = run(t, os.path.abspath(a.daemon), sock_dir)
    except (charonlab.LabError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        check("lab setup/commands", False, str(e)[:2000])
    finally:
        if any(not ok for _, ok in RESULTS):
            print("---- gw charon log (tail) ----\n" + t.gw.tail(30))
            print("---- bulwarkd log (tail) ----\n" + cvt.read(os.path.join(t.lab.dir, "bulwarkd", "bulwarkd.log"))[-3000:])
        t.lab.close()
        shutil.rmtree(sock_dir, ignore_errors=True)
    failed = [n for n, ok in RESULTS if not ok]
    print("%d checks, %d failed%s" % (len(RESULTS), len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


def run(t, exe, sock_dir):
    L = t.lab
    t.pki("init")
    t.pki("gateway")
    out = os.path.join(L.dir, "issued-alice")
    t.pki("issue", "alice", "--group", "netops", "--out", out)
    alice = (os.path.join(out, "alice.crt"), os.path.join(out, "alice.key"))
    t.gw.start()

    pol = os.path.join(L.dir, "policy")
    os.makedirs(pol)
    shutil.copy(POLICY, os.path.join(pol, "policy.yaml"))
    d = Daemon(t, exe, pol, sock_dir)
    st = d.request("status")
    kinds = {k["kind"]: k["state"] for k in st["kinds"]}
    check("startup reconciles firewall, links and vpn", kinds == {"firewall": "ok", "links": "ok", "vpn": "ok", "health": "ok"}, st)
    conns = t.gw.swanctl("--list-conns").stdout
    check("bulwarkd loaded the admin connections into charon",
          "bulwark-admin-netops" in conns and "bulwark-admin-dba" in conns, conns)
    plan = d.request("plan")
    check("plan is empty after startup", plan.get("ok") and plan.get("in_sync"), plan)

    sub, events = d.subscribe()
    adm1 = t.client("adm1", t.ns_adm[0])
    t.add_user(adm1, "alice", "netops", *alice, remote_ts="10.99.0.0/24")
    ok, msg = t.initiate(adm1, "alice")
    check("alice's tunnel comes up", ok, msg)
    vip = t.vip(adm1, "alice")
    def pair_totals():
        r = d.request("counters")
        return {(p["from"], p["to"]): p for p in r.get("zone_pairs", [])}
    before = pair_totals()
    ok, msg = t.probe(t.ns_adm[0], "10.99.0.11")
    check("alice reaches mgmt through the tunnel (firewall by bulwarkd)", ok, msg)
    # Issue 22: the connection's established packets (ping, pong, ACKs, FINs: through charon's
    # TUN device) count under the pair her group's zone opened, not under the uplink's zone.
    after = pair_totals()
    grew = {k: {f: after[k].get(f, 0) - before.get(k, {}).get(f, 0) for f in ("established_packets", "reply_packets")}
            for k in (("netops", "mgmt"), ("internet", "mgmt")) if k in after}
    check("alice's established traffic counts under netops>mgmt, replies included",
          grew.get(("netops", "mgmt"), {}).get("established_packets", 0) >= 3
          and grew[("netops", "mgmt")]["reply_packets"] >= 1
          and grew.get(("internet", "mgmt"), {}).get("established_packets", 0) == 0, grew)
    r = d.request("tunnels")
    row = next((x for x in r.get("tunnels", []) if x["user"] == "alice"), None)
    check("tunnels lists alice", r.get("ok") and row is not None and row["group"] == "netops"
          and row["virtual_ip"] == vip and row["outer"] == "192.0.2.2" and row["since"] > 0
          and row["bytes_in"] > 0 and row["bytes_out"] > 0, r)
    metrics = L.nsx(t.ns_gw, "python3", "-c", "import urllib.request;print(urllib.request.urlopen("
                    "'http://127.0.0.1:9469/metrics').read().decode())").stdout
    line = [l for l in metrics.splitlines() if l.startswith('bulwark_tunnel_bytes_in_total{user="alice",group="netops"')]
    check("metrics: tunnels up and bytes per tunnel", "bulwark_tunnels_up 1\n" in metrics and line
          and int(line[0].split()[-1]) > 0, metrics[-800:])
    cvt.wait_for(lambda: any(e.get("event") == "tunnel" and e["state"] == "up" and e["user"] == "alice"
                             for e in events), 5)
    check("events: tunnel up for alice", any(e.get("event") == "tunnel" and e["state"] == "up"
                                             and e["user"] == "alice" for e in events), events)

    # bulwarkctl tunnels through the daemon (the socket exists: no --direct, no --vici)
    p = d.ctl("--json", "tunnels")
    rows = json.loads(p.stdout) if p.returncode == 0 else []
    mine = next((x for x in rows if x["user"] == "alice"), None)
    check("bulwarkctl tunnels (daemon) lists alice: group, virtual IP, outer address, bytes",
          mine is not None and mine["group"] == "netops" and mine["virtual_ip"] == vip
          and mine["outer_address"] == "192.0.2.2" and mine["state"] == "ESTABLISHED" and mine["up_since"] > 0
          and mine["bytes_in"] > 0 and mine["packets_in"] > 0 and mine["identity"].startswith("CN=alice"),
          (p.returncode, p.stdout, p.stderr))
    p = d.ctl("tunnels")
    line = next((l for l in p.stdout.splitlines() if l.startswith("alice ")), "")
    check("bulwarkctl tunnels (daemon, table) shows alice with group and virtual IP",
          p.returncode == 0 and p.stdout.startswith("USER") and line.split()[1:3] == ["netops", vip], p.stdout + p.stderr)
    p = t.bctl("--json", "tunnels", "--direct", "--vici", t.gw.uri)
    direct = json.loads(p.stdout) if p.returncode == 0 else []
    fixed = ("user", "group", "identity", "virtual_ip", "outer_address", "state", "ike_id")
    # up_since is "now - seconds established" as charon says it: two listings a moment apart
    # may straddle a second.
    check("bulwarkctl tunnels --direct (VICI): the same rows as through the daemon",
          [{k: x[k] for k in fixed} for x in direct] == [{k: x[k] for k in fixed} for x in rows]
          and all(abs(x["up_since"] - y["up_since"]) <= 1 for x, y in zip(direct, rows))
          and all(set(x) == set(y) for x, y in zip(direct, rows)), (direct, rows))
    p = d.ctl("--json", "tunnels", user=VIEWER)
    check("bulwarkctl tunnels as a view-role user lists alice",
          p.returncode == 0 and any(x["user"] == "alice" for x in json.loads(p.stdout)), p.stdout + p.stderr)

    # terminate: the view role is refused (and audited), the change role may
    p = d.ctl("tunnels", "terminate", "alice", user=VIEWER)
    check("bulwarkctl tunnels terminate as a view-role user is refused",
          p.returncode != 0 and "permission denied" in p.stderr and "read-only role" in p.stderr,
          (p.returncode, p.stdout, p.stderr))
    r = d.request("tunnels")
    check("alice's tunnel is still up after the refusal", r.get("ok") and any(x["user"] == "alice"
                                                                              for x in r["tunnels"]), r)
    check("the refused terminate is audited", any(e["event"] == "denied" and e["uid"] == 65534
                                                  and "'terminate'" in e["summary"] for e in d.audit()), d.audit()[-3:])
    p = d.ctl("tunnels", "terminate", "alice", user=CHANGER)
    check("bulwarkctl tunnels terminate alice as a change-role user",
          p.returncode == 0 and p.stdout.strip() == "terminated 1 tunnel(s) of alice", (p.returncode, p.stdout, p.stderr))
    p = d.ctl("--json", "tunnels")
    check("alice is gone from bulwarkctl tunnels", p.returncode == 0
          and not any(x["user"] == "alice" for x in json.loads(p.stdout)), p.stdout + p.stderr)
    cvt.wait_for(lambda: any(e.get("event") == "tunnel" and e["state"] == "down" and e["user"] == "alice"
                             for e in events), 5)
    check("events: tunnel down for alice", any(e.get("event") == "tunnel" and e["state"] == "down"
                                               and e["user"] == "alice" for e in events), events)
    check("terminate is audited, with the change-role user", any(
        e["event"] == "terminate" and e["summary"] == "terminated 1 tunnel(s) of alice" and e["uid"] == 65534
        for e in d.audit()), d.audit()[-3:])
    r = d.request("terminate", user="alice")
    check("terminate with no tunnel: not-found", not r.get("ok") and r["error"]["code"] == "not_found", r)
    p = d.ctl("tunnels", "terminate", "alice")
    check("bulwarkctl tunnels terminate with no tunnel: exit 1 and the daemon's reason",
          p.returncode == 1 and "no tunnel of alice is up" in p.stderr, (p.returncode, p.stderr))
    sub.close()

    # commit-confirm covers the VPN: a changed pool, not confirmed → charon gets the old one back
    def pools():
        """(name, base, size) per pool: the lease counters (online/offline) are state, not config."""
        out = set()
        for line in t.gw.swanctl("--list-pools").stdout.splitlines():
            f = line.split()
            if len(f) >= 3 and f[0].startswith("bulwark-pool-"):
                out.add((f[0], f[1], f[-1]))
        return out

    pools_before = pools()
    changed = os.path.join(L.dir, "policy-changed")
    os.makedirs(changed)
    with open(POLICY) as f:
        text = f.read().replace("pool: 10.250.0.0/25", "pool: 10.250.0.0/26")
    with open(os.path.join(changed, "policy.yaml"), "w") as f:
        f.write(text)
    # The client sends the policy's content (the daemon never opens a path a client names).
    r = d.request("apply", sources=[{"name": "policy.yaml", "text": text}], confirm=3)
    check("apply with confirm changes the VPN", r.get("ok") and any(k["kind"] == "vpn" and k["changed"]
                                                                    for k in r.get("kinds", [])), r)
    pools_changed = pools()
    check("charon has the changed pool", ("bulwark-pool-netops", "10.250.0.0", "62") in pools_changed, pools_changed)
    back = cvt.wait_for(lambda: pools() == pools_before, 8)
    check("unconfirmed: charon's pools are restored at the deadline", back, (pools_before, pools()))
    st = d.request("status")
    check("status after the rollback", st["pending"] is None and all(k["state"] == "ok" for k in st["kinds"]), st)

    # charon restarted: its configuration is gone; the daemon loads it again
    t0 = time.time()
    t.gw.restart()
    reloaded = cvt.wait_for(lambda: "bulwark-admin-netops" in t.gw.swanctl("--list-conns", check=False).stdout, 20)
    check("charon restarted: bulwarkd loads the admin connections again", reloaded,
          cvt.read(os.path.join(L.dir, "bulwarkd", "bulwarkd.log"))[-1500:])
    print("     charon restart → config back: %.2f s (incl. charon start)" % (time.time() - t0))
    return d


if __name__ == "__main__":
    sys.exit(main())
