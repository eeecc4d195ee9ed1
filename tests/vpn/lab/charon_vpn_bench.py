#!/usr/bin/env python3
"""Admin-VPN benchmark with real charons (kernel-libipsec userspace ESP).

1. apply → config present in charon: `bulwarkctl vpn apply` against a freshly started gateway
   charon (from nothing: CA, cert, key, CRL, 2 pools, 2 connections), then again (no-op),
   RUNS times each; the presence is verified with swanctl --list-conns after every apply.
2. N admin tunnels at once: CLIENTS client namespaces, each one charon with PER connections
   (one certificate per admin); all N `swanctl --initiate` start together; time until the
   last returns, failures, and the gateway's view (bulwarkctl tunnels).

Many admins behind ONE address (--per > 5) meet charon's per-IP half-open limit
(strongswan.conf charon.block_threshold, default 5): IKE_SA_INITs beyond it are dropped
("ignoring IKE_SA setup from ..., per-IP half-open IKE_SA limit of 5 reached") and only a
client retransmit gets them in; a client that runs out of retransmits fails. The gateway's
strongswan.conf is not VICI's to set, so the deployment sets it; here --block-threshold N
writes it into the gateway charon's private strongswan.conf (0 = charon's default). After the
N tunnels the gateway's and the clients' logs are counted: limit hits, COOKIE challenges
(charon.cookie_threshold_ip, default 3: one extra round trip, harmless), client retransmits
and give-ups.

A client charon must have more worker threads than connections it initiates at once: each
`swanctl --initiate` holds one of charon's worker threads (charon.threads, default 16) until
its tunnel is up, and with all threads held nobody processes the gateway's IKE_AUTH
responses — the client charon stalls until the initiates time out (seen in its log: no line
for 60 s after the last "vici initiate", then "retransmit 1 of request with message ID 1",
while the gateway had established those IKE_SAs at once and later dropped them after failed
DPDs). So each client charon gets threads = per + 16 (--client-threads 0: charon's default).

Usage: charon_vpn_bench.py BULWARKCTL [--clients 5 --per 10 --runs 5 --block-threshold N
                                      --client-threads N]   (root)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charon_vpn_test as T  # noqa: E402


def client_charon(t, key, ns, threads):
    """t.client(key, ns), with charon.threads = threads (0: the default) in its strongswan.conf."""
    c = t.lab.charon(key, ns)
    if threads:
        with open(c.conf) as f:
            conf = f.read()
        assert conf.startswith("charon {\n"), c.conf
        with open(c.conf, "w") as f:
            f.write(conf.replace("charon {\n", "charon {\n  threads = %d\n" % threads, 1))
    t.clients[key] = c
    c.start()
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bulwarkctl")
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--per", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--client-threads", type=int, default=-1,
                    help="charon.threads of each client charon; -1 = per + 16, 0 = charon's default (16)")
    ap.add_argument("--block-threshold", type=int, default=0,
                    help="gateway charon.block_threshold (half-open IKE_SAs per peer IP); 0 = default (5)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return 77
    t = T.VpnLab(os.path.abspath(a.bulwarkctl), os.path.join(T.HERE, "vpn-lab.yaml"), timeout=900)
    L = t.lab
    if a.block_threshold:
        with open(t.gw.conf) as f:
            conf = f.read()
        assert conf.startswith("charon {\n"), t.gw.conf
        with open(t.gw.conf, "w") as f:
            f.write(conf.replace("charon {\n", "charon {\n  block_threshold = %d\n" % a.block_threshold, 1))
    try:
        t.pki("init")
        t.pki("gateway")
        # ---- 1. apply → present ----
        full, noop, full_int, noop_int = [], [], [], []
        for _ in range(a.runs):
            t.gw.restart() if t.gw.proc else t.gw.start()
            for bucket, internal in ((full, full_int), (noop, noop_int)):
                t0 = time.perf_counter()
                p = t.bctl("--json", "vpn", "apply", t.policy, "--vici", t.gw.uri, "--pki", t.pki_dir, "--libipsec")
                wall = (time.perf_counter() - t0) * 1000
                assert p.returncode == 0, p.stdout + p.stderr
                assert "bulwark-admin-dba" in t.gw.swanctl("--list-conns").stdout
                bucket.append(wall)
                internal.append(json.loads(p.stdout)["elapsed_ms"])
        print("apply from nothing (8 VICI changes): process wall median %.1f ms (min %.1f, max %.1f); "
              "connect+observe+load inside bulwarkctl median %.1f ms" %
              (statistics.median(full), min(full), max(full), statistics.median(full_int)))
        print("apply when in sync (0 changes):      process wall median %.1f ms (min %.1f, max %.1f); "
              "inside median %.1f ms" % (statistics.median(noop), min(noop), max(noop), statistics.median(noop_int)))

        # ---- 2. N tunnels at once ----
        n = a.clients * a.per
        users = []
        for c in range(a.clients):
            ns = L.netns("c%d" % c)
            port = "g-c%d" % c
            L.veth(ns, "a-wan", "192.0.2.%d/24" % (10 + c), t.ns_gw, port, None)
            L.nsx(t.ns_gw, "ip", "link", "set", port, "master", "g-wan")
            cl = client_charon(t, "cl%d" % c, ns, a.per + 16 if a.client_threads < 0 else a.client_threads)
            for k in range(a.per):
                u = "adm%02d" % (c * a.per + k)
                out = os.path.join(L.dir, "issued-" + u)
                t.pki("issue", u, "--group", "netops", "--out", out)
                t.add_user(cl, u, "netops", os.path.join(out, u + ".crt"), os.path.join(out, u + ".key"),
                           remote_ts="10.99.0.0/24")
                users.append((cl, u))
        fw = t.bctl("apply", "--direct", t.policy, ns=t.ns_gw)
        print("firewall: bulwarkctl apply --direct rc=%d" % fw.returncode)

        def go(cu):
            cl, u = cu
            s = time.perf_counter()
            try:
                ok, out = t.initiate(cl, u, timeout=60)
            except Exception as e:  # swanctl itself hung past its limit (a stalled charon): a failure
                ok, out = False, str(e)
            return ok, (time.perf_counter() - s) * 1000, u, out

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as ex:
            results = list(ex.map(go, users))
        total = (time.perf_counter() - t0) * 1000
        fails = [r for r in results if not r[0]]
        lat = sorted(r[1] for r in results)
        tun = t.tunnels() or []
        est = [r for r in tun if r["state"] == "ESTABLISHED" and r["virtual_ip"]]
        print("%d tunnels (%d client charons x %d) initiated at once: all returned after %.0f ms; "
              "failures %d; per-initiate median %.0f ms, p90 %.0f ms, max %.0f ms; "
              "gateway lists %d ESTABLISHED with distinct virtual IPs: %d" %
              (n, a.clients, a.per, total, len(fails), statistics.median(lat), lat[int(0.9 * (len(lat) - 1))],
               lat[-1], len(est), len({r["virtual_ip"] for r in est})))
        for f in fails[:3]:
            print("FAILED %s: %s" % (f[2], f[3][-300:]))
        gwlog = T.read(t.gw.log)
        cl = "".join(T.read(c.log) for c in t.clients.values())
        print("gateway charon (block_threshold %s): per-IP half-open limit hits %d, COOKIE challenges %d, "
              "IKE_SAs dropped after failed DPD %d; client charons (threads %s): IKE retransmits %d, give-ups %d" %
              (a.block_threshold or "5 (default)", gwlog.count("per-IP half-open IKE_SA limit"),
               gwlog.count("IKE_SA_INIT response 0 [ N(COOKIE) ]"), gwlog.count("giving up after"),
               (a.per + 16 if a.client_threads < 0 else a.client_threads) or "16 (default)",
               cl.count("] retransmit "), cl.count("giving up after")))
        ok, out = t.probe(L.namespaces[-1], "10.99.0.11")
        print("probe mgmt from the last client namespace through its tunnels: %s" % out)
        return 0 if not fails and len(est) == n else 1
    finally:
        L.close()


if __name__ == "__main__":
    sys.exit(main())
