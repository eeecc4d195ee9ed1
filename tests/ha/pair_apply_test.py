#!/usr/bin/python3
"""One policy, both nodes: `bulwarkctl apply` on one node of the HA pair applies to both (lab/lab
up --ha, two real bulwarkd with keepalived and conntrackd; policies/examples/campus-ha as shipped,
with gateway.control and each node's `control` address; the lab's CA issues the node certificates).

    pair_apply_test.py BULWARKCTL TOOLS_DIR [--keep]

Checks, in one lab (prefix "pat<pid>", removed on exit, also on failure). The witness is each
node's kernel: `nft -j list table inet bulwark` in its namespace, never bulwarkd's word alone.
  1. plan on node A shows both nodes' plans; apply on A: both nodes at the same revision and
     policy hash (each node's status), the change in both kernels;
  2. a bad policy: refused with file:line:col, non-zero exit, neither kernel changes;
  3. a pair out of sync (B applied --local-only): alerted on B (audit, metric, status); an
     apply on A is refused (the peer runs another revision) and changes nothing; with
     --resync-peer both reach the same revision, and the alert ends;
  4. commit-confirm covers both: --confirm without a confirm -> both roll back; with
     `bulwarkctl confirm` on the other node -> both keep it; `rollback N` on B rolls both back;
     `rollback N` while a pair apply awaits confirmation abandons it on both, then applies N
     on both under one new revision;
  5. reload: a changed policy dir on A reloaded = a pair apply of it (both kernels, one
     revision, audited as a reload, in sync); the same dir on B reloaded by SIGHUP changes
     nothing on either node;
  6. the peer's kernel refuses its half (peer-status passes; B's input hook is full, so the
     firewall's replacement batch fails in B's kernel): the error names the peer and the
     kernel's reason, both kernels (nft -j), links and revisions are as before, and both
     nodes' audits record it;
  7. the peer's control port silently dropped (SYN lost): the apply and a reload fail within
     the bounds with a clear error and nothing changes; reload --local-only reloads A alone;
     certificates: one from another CA with
     the peer's name is refused at the handshake, an admin certificate may not call peer-*, a
     peer certificate with the wrong node name gets no role, another pair protocol is refused;
  8. the peer's bulwarkd stopped: clear error, nothing changes; --local-only still applies.
Exit 0 pass, 1 a check failed, 2 the lab broke, 77 skipped (not root, no keepalived/conntrackd).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LAB = REPO / "lab" / "lab"
sys.path.insert(0, str(REPO / "lab" / "netns"))
import topology  # noqa: E402  (lab/netns: the lab's own module, product code)

PY = "/usr/bin/python3"
FAILED = []
NODES = ("edge1-a", "edge1-b")
CONTROL = {"edge1-a": "10.99.0.2", "edge1-b": "10.99.0.3"}


def check(what, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        FAILED.append(what)


def sh(*argv, timeout=60, **kw):
    return subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=timeout, **kw)


def lab(*args, timeout=120, check_rc=True):
    cp = sh(PY, LAB, *args, timeout=timeout)
    if check_rc and cp.returncode != 0:
        print(cp.stdout[-3000:], cp.stderr[-3000:], sep="\n")
        raise SystemExit(2)
    return cp


CAMPUS_HA = REPO / "policies/examples/campus-ha"


def write_policy(d: Path, extra_port: int | None = None, broken: bool = False, extra_rule: bool = False) -> Path:
    """A variant of campus-ha: `extra_port` adds tcp/PORT to the agents service (set elements:
    an incremental update), `extra_rule` adds a rule (a new rule: a replacement of the table)."""
    campus = (CAMPUS_HA / "campus.yaml").read_text()
    if extra_port:
        campus = campus.replace("tcp/9100, tcp/9104", f"tcp/9100, tcp/9104, tcp/{extra_port}", 1)
    if broken:
        campus = campus.replace("to: [mysql1, mysql2]", "to: [mysql1, mysql9]", 1)
    if extra_rule:
        campus = campus.replace("\nrules:\n", "\nrules:\n  - name: pat-extra\n    from: bastion\n    to: wowza\n"
                                "    services: [rtmp]\n    action: allow\n", 1)
    d.mkdir(parents=True, exist_ok=True)
    (d / "campus.yaml").write_text(campus)
    (d / "ha.yaml").write_text((CAMPUS_HA / "ha.yaml").read_text())
    return d


class Pair:
    def __init__(self, prefix, ctl):
        self.prefix, self.ctl = prefix, ctl
        self.ns = {"edge1-a": f"{prefix}-gw", "edge1-b": f"{prefix}-gw2"}
        self.root = Path(f"/var/lib/bulwark-lab/{prefix}-ha")

    def sock(self, node):
        return self.root / node / "control.sock"

    def ctl_(self, node, *args, timeout=60):
        return sh(self.ctl, "--socket", self.sock(node), *args, timeout=timeout)

    def status(self, node):
        cp = self.ctl_(node, "--json", "status", timeout=15)
        return json.loads(cp.stdout) if cp.returncode == 0 else {}

    def nft(self, node):
        """The kernel's table as nft reads it (-s: without counters, which traffic moves)."""
        cp = sh("ip", "netns", "exec", self.ns[node], "nft", "-j", "-s", "list", "table", "inet", "bulwark")
        return json.loads(cp.stdout)["nftables"] if cp.returncode == 0 else []

    def ports(self, node):
        """The agents ports the kernel holds: set mgmt-ops_svc's tcp elements (nft -j)."""
        out = set()
        for o in self.nft(node):
            s = o.get("set")
            if not s or s.get("name") != "mgmt-ops_svc":
                continue
            for e in s.get("elem", []):
                parts = e.get("concat", []) if isinstance(e, dict) else []
                if len(parts) == 2 and parts[0] in ("tcp", 6):
                    out.add(parts[1])
        return out

    def links(self, node):
        """The node's links and addresses as the kernel has them (ip -j -br addr)."""
        cp = sh("ip", "-n", self.ns[node], "-j", "-br", "addr")
        return json.loads(cp.stdout) if cp.returncode == 0 else None

    def history(self, node):
        cp = self.ctl_(node, "--json", "history", "--limit", "50", timeout=15)
        body = json.loads(cp.stdout) if cp.returncode == 0 else {}
        return {r["revision"] if "revision" in r else r.get("number"): r for r in body.get("revisions", [])}

    def policy_dir(self, node):
        return self.root / node / "policy"

    def audit(self, node):
        f = self.root / node / "state" / "audit.log"
        return [json.loads(x) for x in f.read_text().splitlines() if x.strip()] if f.exists() else []

    def metrics(self, node):
        time.sleep(0.3)  # a scrape may be served a snapshot up to 250 ms old (MetricsEndpoint::kMaxAge)
        cp = sh("ip", "netns", "exec", self.ns[node], PY, "-c",
                "import urllib.request,sys;sys.stdout.write(urllib.request.urlopen("
                "'http://127.0.0.1:9469/metrics',timeout=5).read().decode())", timeout=20)
        return cp.stdout

    def wait(self, what, fn, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.2)
        return fn()

    def bulwarkd_pid(self, node):
        for pid in topology.ns_pids(self.ns[node]):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "bulwarkd":
                    return pid
            except OSError:
                pass
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ctl")
    ap.add_argument("tools")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    for b in ("/usr/sbin/nginx", "/usr/sbin/keepalived", "/usr/sbin/conntrackd"):
        if not os.access(b, os.X_OK):
            print(f"SKIP: {b} missing (tools/install-deps.sh)")
            return 77
    prefix = f"pat{os.getpid() % 100000}"
    tmp = tempfile.TemporaryDirectory()
    try:
        return run(a, prefix, Path(tmp.name))
    finally:
        if not a.keep:
            lab("down", "--prefix", prefix, check_rc=False)
        tmp.cleanup()


def run(a, prefix, tmp):
    t0 = time.monotonic()
    # campus-ha as shipped: its gateway.control and the nodes' control addresses make the pair.
    lab("up", "--ha", "--policy", CAMPUS_HA, "--prefix", prefix, "--ctl", a.ctl, "--tools", a.tools)
    p = Pair(prefix, a.ctl)
    A, B = NODES
    print(f"lab up in {time.monotonic() - t0:.1f}s", flush=True)

    def in_sync(node):
        st = p.status(node)
        return st.get("peer", {}).get("in_sync") and st

    st = p.wait("in sync", lambda: in_sync(A) and in_sync(B), 15)
    check("both nodes see the peer in sync at the start (status: peer revision, role, hash)",
          bool(st) and p.status(A)["peer"].get("role") == "backup" and p.status(B)["peer"].get("role") == "master",
          json.dumps({n: p.status(n).get("peer") for n in NODES})[:800])

    # --- 1. plan and apply on A: both nodes -------------------------------------------------
    v2 = write_policy(tmp / "v2", extra_port=9107)
    cp = p.ctl_(A, "plan", v2)
    check("plan on A shows A's plan and B's plan", cp.returncode == 0 and "node edge1-a (this node)" in cp.stdout
          and "node edge1-b (peer)" in cp.stdout and cp.stdout.count("{ tcp . 9107 }") == 2, cp.stdout + cp.stderr)
    out = cp.stdout
    check("... led by the change in policy terms, once for the pair (tcp/9107 newly allowed)",
          out.count("Policy change") == 1 and "newly allowed" in out and "tcp/9107" in out
          and out.index("Policy change") < out.index("node edge1-a (this node)"), out[:1500])
    t = time.monotonic()
    cp = p.ctl_(A, "apply", v2)
    applied_s = time.monotonic() - t
    check("apply on A succeeds for both", cp.returncode == 0 and "on its peer edge1-b" in cp.stdout,
          cp.stdout + cp.stderr)
    sa, sb = p.status(A), p.status(B)
    check("both nodes at the same revision and policy hash (each node's status)",
          sa["revision"] == sb["revision"] and sa["policy_hash"] == sb["policy_hash"] and sa["revision"] >= 2
          and sa["pending"] is None and sb["pending"] is None, f"{sa.get('revision')} {sb.get('revision')}")
    rev2, hash2 = sa["revision"], sa["policy_hash"]
    check("both kernels hold the change (nft -j in each namespace)", 9107 in p.ports(A) and 9107 in p.ports(B),
          f"{p.ports(A)} {p.ports(B)}")
    print(f"     pair apply took {applied_s:.2f}s", flush=True)

    # --- 2. a bad policy changes nothing on either node -------------------------------------
    before = (p.nft(A), p.nft(B))
    cp = p.ctl_(A, "apply", write_policy(tmp / "bad", extra_port=9107, broken=True))
    msg = cp.stdout + cp.stderr
    check("a bad policy is refused (file:line:col, non-zero exit)",
          cp.returncode != 0 and "campus.yaml:" in msg and "mysql9" in msg, msg[-800:])
    check("... and neither kernel nor revision changed", (p.nft(A), p.nft(B)) == before
          and p.status(A)["revision"] == rev2 and p.status(B)["revision"] == rev2)

    # --- 3. out of sync: alert, refusal, resync --------------------------------------------
    v3 = write_policy(tmp / "v3", extra_port=9108)
    cp = p.ctl_(B, "apply", "--only", "firewall", v3)
    check("--only on a pair's node without --local-only is refused (a pair applies whole policies)",
          cp.returncode == 2 and "local_only" in cp.stderr and 9108 not in p.ports(B), cp.stdout + cp.stderr)
    cp = p.ctl_(B, "apply", "--local-only", v3)
    check("--local-only applies on B alone", cp.returncode == 0 and 9108 in p.ports(B) and 9108 not in p.ports(A),
          cp.stdout + cp.stderr)
    alert = p.wait("alert", lambda: [e for e in p.audit(B) if e["event"] == "ha-peer-out-of-sync"], 15)
    check("B alerts: the pair is out of sync (audit event)", bool(alert), json.dumps(p.status(B).get("peer")))
    st = p.status(B).get("peer", {})
    check("... status says so (peer revision, in_sync false)",
          st.get("in_sync") is False and st.get("revision") == rev2 and st.get("alert") is True, json.dumps(st))
    m = p.metrics(B)
    check("... and the metric: bulwark_ha_peer_in_sync 0, bulwark_ha_peer_revision",
          'bulwark_ha_peer_in_sync{peer="edge1-a"} 0' in m and f'bulwark_ha_peer_revision{{peer="edge1-a"}} {rev2}' in m,
          "\n".join(x for x in m.splitlines() if "peer" in x))
    before = (p.nft(A), p.nft(B))
    cp = p.ctl_(A, "apply", v2)
    msg = cp.stdout + cp.stderr
    check("an apply on A while B runs another revision is refused with the reason",
          cp.returncode != 0 and "out of sync" in msg and "edge1-b" in msg and "nothing was changed on either node" in msg,
          msg[-600:])
    check("... and changes nothing on either node", (p.nft(A), p.nft(B)) == before)
    cp = p.ctl_(A, "apply", "--resync-peer", v2)
    sa, sb = p.status(A), p.status(B)
    check("--resync-peer brings both to one revision and hash", cp.returncode == 0 and sa["revision"] == sb["revision"]
          and sa["policy_hash"] == sb["policy_hash"] == hash2 and 9108 not in p.ports(B) and 9107 in p.ports(B),
          (cp.stdout + cp.stderr)[-600:])
    back = p.wait("in sync", lambda: [e for e in p.audit(B) if e["event"] == "ha-peer-in-sync"], 15)
    check("... and the alert ends (ha-peer-in-sync)", bool(back))

    # --- 4. commit-confirm covers both ------------------------------------------------------
    rev_before = p.status(A)["revision"]
    cp = p.ctl_(A, "apply", "--confirm", "3", v3)
    check("apply --confirm 3 on A: both nodes hold it, pending",
          cp.returncode == 0 and 9108 in p.ports(A) and 9108 in p.ports(B)
          and p.status(A)["pending"] is not None and p.status(B)["pending"] is not None, (cp.stdout + cp.stderr)[-600:])
    rolled = p.wait("rollback", lambda: 9108 not in p.ports(A) and 9108 not in p.ports(B)
                    and p.status(A)["pending"] is None and p.status(B)["pending"] is None, 10)
    sa, sb = p.status(A), p.status(B)
    check("no confirm: both roll back (kernels and revisions)", bool(rolled) and sa["revision"] == sb["revision"]
          == rev_before and sa["policy_hash"] == sb["policy_hash"] == hash2, f"{sa.get('revision')} {sb.get('revision')}")
    cp = p.ctl_(A, "apply", "--confirm", "30", v3)
    cc = p.ctl_(B, "confirm")
    time.sleep(0.5)
    sa, sb = p.status(A), p.status(B)
    check("confirm on the other node confirms both", cp.returncode == 0 and cc.returncode == 0
          and sa["pending"] is None and sb["pending"] is None and sa["revision"] == sb["revision"]
          and 9108 in p.ports(A) and 9108 in p.ports(B), (cc.stdout + cc.stderr)[-400:])

    # --- 4b. rollback N on either node rolls both back ---------------------------------------
    cp = p.ctl_(B, "rollback", str(rev2))
    sa, sb = p.status(A), p.status(B)
    check("rollback N on B re-applies revision N's policy on both nodes (kernels, revisions, hash)",
          cp.returncode == 0 and "on its peer edge1-a" in cp.stdout and 9108 not in p.ports(A)
          and 9108 not in p.ports(B) and 9107 in p.ports(A) and sa["revision"] == sb["revision"] > rev2
          and sa["policy_hash"] == sb["policy_hash"] == hash2, (cp.stdout + cp.stderr)[-600:])
    cp = p.ctl_(A, "rollback", "999")
    check("... a revision that does not exist is refused and changes nothing",
          cp.returncode != 0 and p.status(A)["revision"] == sa["revision"] == p.status(B)["revision"],
          (cp.stdout + cp.stderr)[-300:])
    rev3 = sa["revision"]

    # --- 4c. rollback N while a pair apply awaits confirmation: out on both ------------------
    cp = p.ctl_(A, "apply", "--confirm", "60", v3)
    pend = p.status(A)["pending"]
    check("apply --confirm 60 on A: both nodes hold it, pending", cp.returncode == 0 and pend is not None
          and p.status(B)["pending"] is not None and 9108 in p.ports(B), (cp.stdout + cp.stderr)[-400:])
    pend_rev = pend["revision"] if isinstance(pend, dict) else pend
    cp = p.ctl_(B, "rollback", str(rev2))
    sa, sb = p.status(A), p.status(B)
    check("rollback N on B during the pending pair apply: the pending revision abandoned on both, N applied on both",
          cp.returncode == 0 and sa["pending"] is None and sb["pending"] is None and 9108 not in p.ports(A)
          and 9108 not in p.ports(B) and 9107 in p.ports(A) and 9107 in p.ports(B)
          and sa["policy_hash"] == sb["policy_hash"] == hash2, (cp.stdout + cp.stderr)[-600:])
    check("... under one new revision on both", sa["revision"] == sb["revision"] == pend_rev + 1,
          f"pending {pend_rev}, now {sa.get('revision')} / {sb.get('revision')}")
    ha_, hb_ = p.history(A), p.history(B)
    check("... the abandoned revision is rolled-back in both histories",
          ha_.get(pend_rev, {}).get("status") == "rolled-back" and hb_.get(pend_rev, {}).get("status") == "rolled-back",
          f"{ha_.get(pend_rev)} {hb_.get(pend_rev)}")
    rev3, hash3 = sa["revision"], sa["policy_hash"]

    # --- 5. reload: a changed policy dir goes to both nodes ---------------------------------
    v5 = write_policy(tmp / "v5", extra_port=9110)
    for f in ("campus.yaml", "ha.yaml"):
        (p.policy_dir(A) / f).write_text((v5 / f).read_text())
    cp = p.ctl_(A, "reload")
    sa, sb = p.status(A), p.status(B)
    check("reload on A of a changed policy dir: a pair apply of it (both kernels, one revision and hash)",
          cp.returncode == 0 and "on its peer edge1-b" in cp.stdout and 9110 in p.ports(A) and 9110 in p.ports(B)
          and sa["revision"] == sb["revision"] == rev3 + 1 and sa["policy_hash"] == sb["policy_hash"] != hash3
          and sa["pending"] is None and sb["pending"] is None, (cp.stdout + cp.stderr)[-600:])
    rev5, hash5 = sa["revision"], sa["policy_hash"]
    ev = [e for e in p.audit(A) if e["event"] == "reload" and e.get("revision") == rev5]
    check("... audited as a reload on A (with the pair), as the peer's apply on B",
          bool(ev) and any(e["event"] == "apply" and e.get("revision") == rev5 and "HA peer" in e.get("who", "")
                           for e in p.audit(B)), json.dumps(p.audit(A)[-3:])[:600])
    ok = p.wait("in sync", lambda: p.status(A).get("peer", {}).get("in_sync") and p.status(B).get("peer", {})
                .get("in_sync"), 12)
    m = p.metrics(B)
    check("... and the pair stays in sync (status, bulwark_ha_peer_in_sync 1)",
          bool(ok) and 'bulwark_ha_peer_in_sync{peer="edge1-a"} 1' in m,
          "\n".join(x for x in m.splitlines() if "peer_in_sync" in x))
    for f in ("campus.yaml", "ha.yaml"):
        (p.policy_dir(B) / f).write_text((v5 / f).read_text())
    log_b = p.root / B / "bulwarkd.log"
    reloads = log_b.read_text(errors="replace").count("bulwarkd: reload: ")
    before = (p.nft(A), p.nft(B), max(p.history(A)), max(p.history(B)))
    os.kill(p.bulwarkd_pid(B), signal.SIGHUP)
    seen = p.wait("reloaded", lambda: log_b.read_text(errors="replace").count("bulwarkd: reload: ") > reloads, 10)
    sa, sb = p.status(A), p.status(B)
    after = (p.nft(A), p.nft(B), max(p.history(A)), max(p.history(B)))
    check("SIGHUP on B with the same dir (the running revision): nothing changes on either node",
          bool(seen) and after == before and sa["revision"] == sb["revision"] == rev5,
          f"reloaded {bool(seen)}, revisions {sa.get('revision')} {sb.get('revision')}, latest {before[2:]} -> "
          f"{after[2:]}, nft equal {after[:2] == before[:2]}")

    # --- 6. the peer's kernel fails its half -------------------------------------------------
    peer_kernel_failure(p, tmp, rev5, hash5)

    # --- 7. bounds and certificates ---------------------------------------------------------
    rev3 = rev5
    v4 = write_policy(tmp / "v4", extra_port=9109)
    block = ("table inet pat_block {\n  chain guard {\n    type filter hook input priority -10; policy accept;\n"
             "    tcp dport 9443 drop\n  }\n}\n")
    nb = sh("ip", "netns", "exec", p.ns[B], "nft", "-f", "-", input=block)
    if nb.returncode != 0:
        print(nb.stderr)
        raise SystemExit(2)
    before = (p.nft(A), p.nft(B))
    t = time.monotonic()
    cp = p.ctl_(A, "apply", v4)
    took = time.monotonic() - t
    msg = cp.stdout + cp.stderr
    print(f"     refused after {took:.2f}s: {msg.strip().splitlines()[-1][:200] if msg.strip() else ''}", flush=True)
    check("peer port silently dropped: refused within the connect bound, with the reason",
          cp.returncode != 0 and "unreachable" in msg and "edge1-b" in msg and "--local-only" in msg and took < 10,
          f"{took:.1f}s {msg[-500:]}")
    check("... and nothing changed", (p.nft(A), p.nft(B)) == before and p.status(A)["revision"] == rev3)
    for f in ("campus.yaml", "ha.yaml"):
        (p.policy_dir(A) / f).write_text((v4 / f).read_text())
    t = time.monotonic()
    cp = p.ctl_(A, "reload")
    took = time.monotonic() - t
    msg = cp.stdout + cp.stderr
    check("a reload of a changed dir with the peer unreachable: refused within the bound, with the way out",
          cp.returncode != 0 and "unreachable" in msg and "reload --local-only" in msg
          and "nothing was changed on either node" in msg and took < 10, f"{took:.1f}s {msg[-500:]}")
    check("... nothing changed, audited (reload-rejected)", (p.nft(A), p.nft(B)) == before
          and p.status(A)["revision"] == rev3 and any(e["event"] == "reload-rejected" for e in p.audit(A)))
    sh("ip", "netns", "exec", p.ns[B], "nft", "delete", "table", "inet", "pat_block")
    v6 = write_policy(tmp / "v6", extra_port=9112)
    for f in ("campus.yaml", "ha.yaml"):
        (p.policy_dir(A) / f).write_text((v6 / f).read_text())
    cp = p.ctl_(A, "reload", "--local-only")
    check("reload --local-only: A alone (audited as local only)",
          cp.returncode == 0 and 9112 in p.ports(A) and 9112 not in p.ports(B)
          and any(e["event"] == "reload" and "local only: not on peer edge1-b" in e["who"] for e in p.audit(A)),
          (cp.stdout + cp.stderr)[-400:])
    rev3 = p.status(A)["revision"]

    certs(p, tmp)

    # --- 8. the peer's bulwarkd stopped -----------------------------------------------------
    pid = p.bulwarkd_pid(B)
    if pid:
        os.kill(pid, signal.SIGTERM)
        p.wait("stopped", lambda: p.bulwarkd_pid(B) is None, 15)
    before_a = p.nft(A)
    cp = p.ctl_(A, "apply", v4)
    msg = cp.stdout + cp.stderr
    check("peer bulwarkd down: clear error, non-zero exit",
          cp.returncode != 0 and "peer edge1-b (10.99.0.3:9443) unreachable" in msg, msg[-500:])
    check("... nothing changed on A", p.nft(A) == before_a and p.status(A)["revision"] == rev3)
    cp = p.ctl_(A, "apply", "--local-only", v4)
    check("... --local-only applies on A alone", cp.returncode == 0 and 9109 in p.ports(A), (cp.stdout + cp.stderr)[-400:])

    print(f"{'PASS' if not FAILED else 'FAIL'} in {time.monotonic() - t0:.1f}s" + (f": {FAILED}" if FAILED else ""))
    return 0 if not FAILED else 1


def fill_input_hook(p: Pair, node: str) -> int:
    """Fill the node's input hook up to the kernel's limit (net/netfilter/core.c: at most 1024
    hook entries per hook) with empty base chains of a table of the test's own: a replacement of
    table inet bulwark, which registers its new base chains before the old ones go (one batch),
    then fails in the kernel (E2BIG) while everything that is there keeps working. The most
    that fit, found by bisection (each try is one atomic batch)."""
    def fits(n):
        body = "".join(f"  chain c{i} {{ type filter hook input priority {i % 200}; policy accept; }}\n"
                       for i in range(n))
        cp = sh("ip", "netns", "exec", p.ns[node], "nft", "-f", "-", input=f"table inet pat_fill {{\n{body}}}\n")
        if cp.returncode == 0:
            sh("ip", "netns", "exec", p.ns[node], "nft", "delete", "table", "inet", "pat_fill")
        return cp.returncode == 0
    # At most 1024 in all; the hook's other entries (conntrack, NAT, bulwark's own) are a few:
    # search the top 64 first, all of it only if even that is too many.
    lo, hi = (960, 1024) if fits(960) else (0, 959)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    fits_ok = fits(lo)  # (and leave it there)
    body = "".join(f"  chain c{i} {{ type filter hook input priority {i % 200}; policy accept; }}\n" for i in range(lo))
    cp = sh("ip", "netns", "exec", p.ns[node], "nft", "-f", "-", input=f"table inet pat_fill {{\n{body}}}\n")
    if not fits_ok or cp.returncode != 0 or lo < 10:
        print(f"could not fill the input hook ({lo}): {cp.stderr}")
        raise SystemExit(2)
    return lo


def peer_kernel_failure(p: Pair, tmp: Path, rev: int, policy_hash: str):
    A, B = NODES
    t = time.monotonic()
    filled = fill_input_hook(p, B)
    print(f"     B's input hook filled with {filled} base chains of table inet pat_fill "
          f"({time.monotonic() - t:.1f}s)", flush=True)
    try:
        vk = write_policy(tmp / "vk", extra_port=9110, extra_rule=True)
        cp = p.ctl_(A, "plan", vk)
        check("a new rule: both plans replace the table (not an element update)",
              cp.returncode == 0 and cp.stdout.count("one atomic replacement of the table") == 2, cp.stdout[-800:])
        before = {n: (p.nft(n), p.links(n), p.status(n)["revision"], p.status(n)["policy_hash"]) for n in NODES}
        audit_len = {n: len(p.audit(n)) for n in NODES}
        st = p.status(A).get("peer", {})
        check("... peer-status passes (in sync, reachable)", st.get("in_sync") is True and st.get("reachable") is True,
              json.dumps(st))
        cp = p.ctl_(A, "apply", vk)
        msg = cp.stdout + cp.stderr
        check("the peer's kernel refuses its half: non-zero exit, the error names the peer and the kernel's reason",
              cp.returncode != 0 and "peer edge1-b (10.99.0.3:9443) failed to apply it" in msg and "firewall" in msg
              and "nothing was changed on either node" in msg, msg[-800:])
        after = {n: (p.nft(n), p.links(n), p.status(n)["revision"], p.status(n)["policy_hash"]) for n in NODES}
        for n in NODES:
            check(f"... {n} exactly as before (nft -j, links and addresses, revision, policy hash)",
                  after[n] == before[n] and after[n][2] == rev and after[n][3] == policy_hash,
                  f"revision {after[n][2]}, nft equal {after[n][0] == before[n][0]}, links equal "
                  f"{after[n][1] == before[n][1]}")
        new_a = p.audit(A)[audit_len[A]:]
        new_b = p.audit(B)[audit_len[B]:]
        check("... audited on A (apply-rejected, naming the peer and its reason)",
              any(e["event"] == "apply-rejected" and "peer edge1-b" in e["summary"] and "firewall" in e["summary"]
                  for e in new_a), json.dumps(new_a)[:600])
        check("... and on B (apply-failed: the kernel's reason)",
              any(e["event"] == "apply-failed" and "firewall" in json.dumps(e) for e in new_b), json.dumps(new_b)[:600])
    finally:
        sh("ip", "netns", "exec", p.ns[B], "nft", "delete", "table", "inet", "pat_fill")


# A client that speaks the control protocol itself (Python's ssl: TLS 1.3, a client
# certificate), from B's namespace (its control address: the only source A's firewall opens
# the port to), so it can send what bulwarkctl never would.
PEER_CLIENT = r"""
import json, socket, ssl, sys
ca, cert, key, server, line = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
try:
    with socket.create_connection((server, 9443), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="vpn.campus.example.edu") as s:
            s.sendall(line.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    print(buf.decode().strip() or "EOF")
except (ssl.SSLError, OSError) as e:
    print("TLSERROR " + str(e))
"""


def certs(p: Pair, tmp: Path):
    A, B = NODES
    pki = p.root / "pki"
    pw = tmp / "pw"
    pw.write_text("lab-test-password\n")
    # Another CA whose node certificate carries B's name and the peer group.
    other = tmp / "other-pki"
    sh(p.ctl, "pki", "--dir", other, "init", "--ca-name", "Bulwark lab CA other")
    sh(p.ctl, "pki", "--dir", other, "gateway", "--local-id", "vpn.campus.example.edu")
    sh(p.ctl, "pki", "--dir", other, "issue", B, "--group", "bulwark-peer", "--password-file", pw)
    sh(p.ctl, "pki", "--dir", pki, "issue", "alice", "--group", "netops", "--password-file", pw)

    def call(cert_dir: Path, name: str, line: dict):
        cp = sh("ip", "netns", "exec", p.ns[B], PY, "-c", PEER_CLIENT, pki / "ca.crt", cert_dir / f"{name}.crt",
                cert_dir / f"{name}.key", CONTROL[A], json.dumps(line), timeout=20)
        return (cp.stdout + cp.stderr).strip()

    before = p.nft(A)
    status = {"id": 1, "op": "peer-status", "peer_protocol": 1, "node": B}
    out = call(other / "issued" / B, B, status)
    check("a peer certificate from another CA is refused at the handshake",
          out.startswith("TLSERROR") or out == "EOF", out[:300])
    out = call(pki / "issued" / "alice", "alice", status)
    check("an admin certificate may not call peer-status (denied)", '"denied"' in out and "other node only" in out,
          out[:300])
    out = call(pki / "issued" / A, A, status)
    check("a peer certificate naming the wrong node gets no role", '"denied"' in out, out[:300])
    out = call(pki / "issued" / B, B, status)
    check("B's node certificate may (peer-status answers revision and hash)",
          '"ok":true' in out and '"policy_hash"' in out, out[:300])
    out = call(pki / "issued" / B, B, {**status, "op": "peer-apply", "peer_protocol": 2, "revision": 99,
                                       "confirm": 5, "sources": [{"name": "x.yaml", "text": "segments: []\n"}]})
    check("a node speaking another pair protocol is refused", '"ok":false' in out and "pair protocol 2" in out,
          out[:300])
    check("... none of it changed A's kernel", p.nft(A) == before)


if __name__ == "__main__":
    sys.exit(main())
