#!/usr/bin/env python3
"""The admin tunnel once with KERNEL ESP (charon's kernel-netlink, XFRM), under QEMU.

This machine's kernel has no ESP, so the netns test (charon_vpn_test.py) runs charon's
userspace ESP (kernel-libipsec). Debian's kernel under tests/kernel/run-in-kernel.sh has
esp4/xfrm_user, so here the same scenario runs the production way:

  * the same topology (charon_vpn_test.VpnLab: gw, mgmt, db, admin namespaces on a bridge);
  * every charon's private strongswan.conf gets a `load =` list WITHOUT kernel-libipsec
    (kernel-netlink installs the SAs and policies into XFRM): the plugin choice is per
    charon, through its own STRONGSWAN_CONF;
  * the gateway charon is configured only by `bulwarkctl vpn apply` over VICI (no
    --libipsec, so no forced UDP encapsulation), certificates from `bulwarkctl pki`;
    Bulwark's firewall in the gw namespace by `bulwarkctl apply --direct`;
  * the client (alice, netops) offers plain ESP (encap = no): protocol 50 on the wire.

Checks: without the tunnel mgmt is unreachable; alice gets a virtual IP from netops' pool
and reaches mgmt (the server sees the virtual IP); `ip -s xfrm state` in gw and in the
client namespace lists the ESP SAs (proto esp, AES-GCM) with bytes counted; no ipsec0 TUN
exists, and `nft monitor trace` shows the packet admitted by Bulwark's rule
`... meta ipsec exists oifname vmap ...` in the forward chain; the same packet from the
virtual IP in clear (no tunnel) does not get through, and the trace names the rule of
Bulwark's ruleset that dropped it.

Usage: charon_vpn_kernel_test.py BULWARKCTL   (root; in the VM: BULWARK_IN_VM=1)
Exit: 0 all checks passed, 1 a check failed. Never 77: on a kernel without ESP it fails with
the reason (it exists to prove kernel ESP).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import charon_vpn_test as T  # noqa: E402  (VpnLab: the netns test's topology and helpers)

# kernel-netlink alone: SAs and policies in XFRM. Same list as the libipsec one otherwise.
KERNEL_PLUGINS = ("random nonce drbg openssl aes sha1 sha2 hmac kdf gcm gmp curve25519 chapoly x509 pem "
                  "pkcs1 pkcs8 pubkey constraints revocation kernel-netlink socket-default vici")
# swanctl's own plugins (certificates and keys from files): without a list it loads every
# plugin installed, ~10 s per call under TCG (each .so read over 9p).
SWANCTL_PLUGINS = "random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey gmp curve25519 sha1 sha2"
POOL = "10.250.0.0/25"
# TCP to mgmt's server (port 8080), optionally from a given source address; connect timeout
# argv[2] seconds.
PROBE_FROM = r'''
import socket, sys
try:
    src = (sys.argv[3], 0) if len(sys.argv) > 3 else None
    s = socket.create_connection((sys.argv[1], 8080), timeout=float(sys.argv[2]), source_address=src)
    s.sendall(b"ping\n"); print(s.recv(256).decode().strip())
except Exception as e:
    print("ERR", e); sys.exit(1)
'''
RESULTS = []


T0 = time.monotonic()


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print("%s  [%5.1fs] %s%s" % ("PASS" if ok else "FAIL", time.monotonic() - T0, name,
                                 ("  -- " + detail[-1500:]) if detail and not ok else ""), flush=True)
    return ok


def probe(lab, ns, dst, wait, src=None):
    """(connected, output). The process limit is generous: a Python starting under TCG on a
    busy host takes seconds before the connect's own timeout even begins."""
    p = lab.nsx(ns, "/usr/bin/python3", "-c", PROBE_FROM, dst, str(wait), *([src] if src else []), check=False,
                timeout=wait + 60)
    return p.returncode == 0 and p.stdout.startswith("pong"), p.stdout.strip()


def use_kernel_esp(charon):
    """Rewrite this charon's private strongswan.conf: kernel-netlink, no kernel-libipsec (and
    a short plugin list for swanctl)."""
    with open(charon.conf) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(\s*load\s*=).*$", lambda m: m.group(1) + " " + KERNEL_PLUGINS, text, count=1)
    text, m = re.subn(r"(?m)^swanctl \{$", "swanctl {\n  load = " + SWANCTL_PLUGINS, text, count=1)
    if n != 1 or m != 1:
        raise RuntimeError("no `load =` line or swanctl section in " + charon.conf)
    with open(charon.conf, "w") as f:
        f.write(text)


def client_conn(c, user, cert, key, ca):
    """alice's IKEv2 connection: certificate, virtual IP, plain ESP (no forced encapsulation)."""
    shutil.copy(ca, os.path.join(c.swanctl_dir, "x509ca", "ca.crt"))
    shutil.copy(cert, os.path.join(c.swanctl_dir, "x509", user + ".crt"))
    shutil.copy(key, os.path.join(c.swanctl_dir, "private", user + ".key"))
    conf = os.path.join(c.swanctl_dir, "swanctl.conf")
    with open(conf, "w") as f:
        f.write("""connections {
  %(u)s {
    version = 2
    remote_addrs = 192.0.2.1
    vips = 0.0.0.0
    encap = no
    proposals = aes256gcm16-prfsha384-x25519
    local {
      auth = pubkey
      certs = %(u)s.crt
      id = "CN=%(u)s, OU=netops"
    }
    remote {
      auth = pubkey
      id = gw.bulwark.test
    }
    children {
      %(u)s {
        remote_ts = 10.99.0.0/24
        esp_proposals = aes256gcm16-x25519
        start_action = none
      }
    }
  }
}
""" % {"u": user})
    c.swanctl("--load-all", "--noprompt", "--file", conf)


def xfrm_states(lab, ns):
    """`ip -s xfrm state` in ns -> [(src, dst, proto, spi, algo line, bytes)]."""
    out = lab.nsx(ns, "ip", "-s", "xfrm", "state", check=False).stdout
    states = []
    for block in re.split(r"(?m)^(?=src )", out):
        m = re.match(r"src (\S+) dst (\S+)\s+proto (\S+) spi (0x[0-9a-f]+)", block)
        if not m:
            continue
        algo = re.search(r"(?m)^\s*(aead \S+|enc \S+)", block)
        life = re.search(r"(?m)^\s*(\d+)\(bytes\), (\d+)\(packets\)", block)
        states.append((m.group(1), m.group(2), m.group(3), m.group(4), algo.group(1) if algo else "",
                       int(life.group(1)) if life else -1))
    return states, out


def pool_drop_counter(lab, ns):
    """Packets counted by Bulwark's `ip saddr <netops pool> counter drop` (pool without IPsec)."""
    rs = json.loads(lab.nsx(ns, "nft", "-j", "list", "chain", "inet", "bulwark", "forward").stdout)
    for item in rs.get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        exprs = rule.get("expr", [])
        text = json.dumps(exprs)
        if '"drop"' in text and '"10.250.0.0"' in text and '"len": 25' in text and "ipsec" not in text:
            for e in exprs:
                if "counter" in e:
                    return int(e["counter"]["packets"])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bulwarkctl")
    ap.add_argument("--policy", default=os.path.join(HERE, "vpn-lab.yaml"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("FAIL: needs root (network namespaces)")
        return 1
    # Debian's tools first, for this process and everything the lab starts (`python3` for the
    # servers and probes): a pyenv shim ahead in PATH costs ~16 s per Python start under TCG.
    os.environ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", "")
    if os.environ.get("BULWARK_IN_VM") != "1":
        print("note: not started by tests/kernel/run-in-kernel.sh; this kernel must have ESP")
    # Fail with the reason, never skip: this test exists to prove kernel ESP.
    probe_ns = "bvkprobe%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", probe_ns], capture_output=True)
    p = subprocess.run(["ip", "-n", probe_ns, "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2",
                        "proto", "esp", "spi", "0x100", "mode", "tunnel", "aead", "rfc4106(gcm(aes))",
                        "0x" + "11" * 20, "128"], capture_output=True, text=True)
    subprocess.run(["ip", "netns", "del", probe_ns], capture_output=True)
    if p.returncode != 0:
        print("FAIL: this kernel has no ESP (ip xfrm state add ... proto esp: %s); run under "
              "tests/kernel/run-in-kernel.sh" % (p.stderr.strip() or p.returncode))
        return 1

    t = T.VpnLab(os.path.abspath(a.bulwarkctl), os.path.abspath(a.policy), timeout=240)
    try:
        run(t)
    except Exception as e:  # the lab's own errors (LabError, timeouts): a failed check with the reason
        check("lab setup/commands", False, "%s: %s" % (type(e).__name__, str(e)[:2000]))
    finally:
        if any(not ok for _, ok in RESULTS):
            print("---- gw charon log (tail) ----\n" + t.gw.tail(40))
        t.lab.close()
    failed = [n for n, ok in RESULTS if not ok]
    print("%d checks, %d failed%s" % (len(RESULTS), len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


def run(t):
    L = t.lab
    t0 = time.monotonic()
    t.pki("init")
    t.pki("gateway")
    out = os.path.join(L.dir, "issued-alice")
    t.pki("issue", "alice", "--group", "netops", "--out", out)
    t_pki = time.monotonic() - t0

    use_kernel_esp(t.gw)
    t.gw.start(timeout=90)  # generous: charon's start under TCG on a busy host took up to ~15 s
    loaded = t.gw.swanctl("--stats").stdout
    check("gw charon runs kernel-netlink, not kernel-libipsec",
          "kernel-netlink" in loaded and "kernel-libipsec" not in loaded, loaded)
    p = t.bctl("vpn", "apply", t.policy, "--vici", t.gw.uri, "--pki", t.pki_dir)
    check("vpn apply (no --libipsec) loads the config over VICI",
          p.returncode == 0 and "load-conn bulwark-admin-netops" in p.stdout, p.stdout + p.stderr)
    fw = t.bctl("apply", "--direct", "--only", "firewall", t.policy, ns=t.ns_gw, timeout=120)
    check("bulwarkctl apply --direct loads the firewall in gw", fw.returncode == 0, fw.stdout + fw.stderr)
    ruleset = L.nsx(t.ns_gw, "nft", "list", "ruleset").stdout
    check("the firewall has the kernel-IPsec path for netops' pool",
          re.search(r"ip saddr 10\.250\.0\.0/25 meta ipsec exists oifname vmap", ruleset) is not None, ruleset)

    # ---- without the tunnel: dropped ----
    adm = L.charon("adm1", t.ns_adm[0])
    use_kernel_esp(adm)
    adm.start(timeout=90)
    ok, out = probe(L, t.ns_adm[0], "10.99.0.11", 2)
    check("mgmt unreachable without the tunnel", not ok, out)

    # ---- alice's tunnel, kernel ESP ----
    client_conn(adm, "alice", os.path.join(L.dir, "issued-alice", "alice.crt"),
                os.path.join(L.dir, "issued-alice", "alice.key"), os.path.join(t.pki_dir, "ca.crt"))
    # Trace the pool's packets through the gateway's ruleset: a witness table of the test's
    # own (prerouting, before Bulwark's chains) sets nftrace; `nft monitor trace` records
    # which rule of Bulwark's forward chain decided.
    L.nsx(t.ns_gw, "nft", "-f", "-", input="table ip bwtrace {\n chain pre {\n"
          "  type filter hook prerouting priority -350; policy accept;\n"
          "  ip saddr %s meta nftrace set 1\n }\n}\n" % POOL)
    trace_log = os.path.join(L.dir, "trace.log")
    L.spawn(t.ns_gw, ["nft", "monitor", "trace"], "trace.log")
    t1 = time.monotonic()
    ok, out = t.initiate(adm, "alice", timeout=60)
    t_ike = time.monotonic() - t1
    check("alice's tunnel comes up (kernel ESP)", ok, out)
    print("     IKE_SA + CHILD_SA: %.2f s wall for swanctl --initiate (TCG); pki: %.2f s" % (t_ike, t_pki))
    vip = t.vip(adm, "alice")
    check("alice got a virtual IP from netops' pool " + POOL,
          vip is not None and vip.startswith("10.250.0.") and int(vip.split(".")[3]) < 128, str(vip))
    ok, out = probe(L, t.ns_adm[0], "10.99.0.11", 5)
    check("alice reaches mgmt through the tunnel (the server sees her virtual IP)",
          ok and vip is not None and vip in out, out)

    gw_states, gw_raw = xfrm_states(L, t.ns_gw)
    cl_states, _ = xfrm_states(L, t.ns_adm[0])
    esp = [s for s in gw_states if s[2] == "esp"]
    check("ip xfrm state in gw: two ESP SAs (in and out) between 192.0.2.1 and 192.0.2.2, AES-GCM",
          len(esp) == 2 and {(s[0], s[1]) for s in esp} == {("192.0.2.1", "192.0.2.2"), ("192.0.2.2", "192.0.2.1")}
          and all("rfc4106(gcm(aes))" in s[4] for s in esp), gw_raw)
    check("the gateway's kernel SAs carried the traffic (bytes in both directions)",
          len(esp) == 2 and all(s[5] > 0 for s in esp), gw_raw)
    check("ip xfrm state in the client namespace: two ESP SAs",
          len([s for s in cl_states if s[2] == "esp"]) == 2, str(cl_states))
    for s in esp:
        print("     gw xfrm: %s -> %s %s spi %s %s, %d bytes" % (s[0], s[1], s[2], s[3], s[4], s[5]))
    links = L.nsx(t.ns_gw, "ip", "-o", "link", "show").stdout
    check("no libipsec TUN (ipsec0) in gw: the iifname path cannot have matched", "ipsec0" not in links, links)

    # the trace: Bulwark's forward rule with `meta ipsec exists` decided for the pool's packet
    deadline = time.time() + 5
    trace = ""
    while time.time() < deadline:
        trace = T.read(trace_log)
        if re.search(r"inet bulwark forward rule .*meta ipsec exists.*\(verdict", trace):
            break
        time.sleep(0.2)
    hit = [ln for ln in trace.splitlines() if re.search(r"inet bulwark forward rule .*meta ipsec exists.*\(verdict", ln)]
    check("nft trace: the packet from the virtual IP was admitted by Bulwark's `meta ipsec exists` rule",
          len(hit) > 0, trace[-1500:])
    if hit:
        print("     trace: " + re.sub(r"^trace id \S+ ", "", hit[0]).strip())
    check("nft trace: no pool packet went through the pool-without-IPsec drop",
          not re.search(r"inet bulwark forward rule ip saddr 10\.250\.0\.0/25 counter .*\(verdict drop\)", trace),
          trace[-1500:])

    # ---- the same source in clear, no tunnel: Bulwark's ruleset drops it ----
    adm.swanctl("--terminate", "--ike", "alice", "--timeout", "10", check=False, timeout=20)
    seen = len(T.read(trace_log))
    before = pool_drop_counter(L, t.ns_gw)
    L.nsx(t.ns_adm[0], "ip", "addr", "replace", "%s/32" % vip, "dev", "a-wan")
    ok, out = probe(L, t.ns_adm[0], "10.99.0.11", 2, src=vip)
    time.sleep(1)
    after = pool_drop_counter(L, t.ns_gw)
    clear = T.read(trace_log)[seen:]
    drops = [ln for ln in clear.splitlines()
             if re.search(r"inet bulwark \S+ (rule .*\(verdict drop\)|policy drop)", ln)]
    check("the virtual IP in clear (no ESP) does not reach mgmt", not ok, out)
    check("nft trace: Bulwark's ruleset dropped the clear packet from the virtual IP, and no "
          "`meta ipsec exists` rule admitted it",
          len(drops) > 0 and "meta ipsec exists" not in clear, clear[-1500:])
    if drops:
        print("     trace: " + re.sub(r"^trace id \S+ ", "", drops[0]).strip())
    print("     pool-without-IPsec drop counter: %s -> %s packets" % (before, after))


if __name__ == "__main__":
    sys.exit(main())
