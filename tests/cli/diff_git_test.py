#!/usr/bin/python3
"""bulwarkctl diff between two Git revisions of a policy, checked against the evaluator.

    diff_git_test.py BULWARKCTL EXAMPLES_DIR

Builds a throwaway Git repository holding campus.yaml with two commits (the second adds a
source to a rule, takes a service from a VPN group's access and drops a DNAT entry), then:

1. `diff HEAD~1 HEAD` exits 2 and names the changes in policy terms with file:line, and the
   effect with the rules that decide it; --markdown and --json say the same; `diff HEAD HEAD`
   and a formatting-only change (a comment, key order) exit 0; a revision that does not exist exits 1 (no shell:
   a revision with shell syntax is just a bad revision); the default is HEAD vs the working
   tree.
2. Every reported interval agrees with `bulwarkctl why` on each side (the two revisions
   checked out as files): probes at the first, middle and last address of every prefix and
   the first and last port of every service range flip exactly as reported (newly allowed:
   dropped before, accepted after; newly denied: the reverse), and probes just outside the
   reported intervals that no other reported line covers keep their fate.
"""

import ipaddress
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policy_repo import campus_repo, git, sub  # noqa: E402

BULWARKCTL, EXAMPLES = sys.argv[1], Path(sys.argv[2])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, cwd=None):
    p = subprocess.run([BULWARKCTL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    return p.returncode, p.stdout, p.stderr


tmp = Path(tempfile.mkdtemp(prefix="bulwark-diff-git."))
try:
    repo, policy, campus = campus_repo(tmp, EXAMPLES)
    changed = sub(campus, "    from: [web1, web2, wowza]\n    to: nas1", "    from: [web1, web2, wowza, mysql1]\n    to: nas1")
    changed = sub(changed, "        - { to: db, services: [ssh, mysql] }", "        - { to: db, services: [ssh] }")
    changed = sub(changed, "    - { name: vip-rtmp, vip: 203.0.113.10, service: rtmp, to: [lb1, lb2], check: lb-https }\n", "")
    policy.write_text(changed)
    git(repo, "commit", "-q", "-am", "change")
    rule_line = changed.splitlines().index("  - name: app-to-nas") + 1

    # 1. text, markdown, json; exit codes.
    rc, out, err = run("diff", "HEAD~1", "HEAD", "-p", str(policy))
    check(rc == 2, f"diff HEAD~1 HEAD exits 2, got {rc}: {err}")
    check(f"changed rule app-to-nas at HEAD:{policy}:{rule_line}" in out, f"the rule change with file:line in:\n{out}")
    check(re.search(r"newly allowed by app-to-nas at HEAD:\S+campus.yaml:%d" % rule_line, out) is not None,
          f"newly allowed by the rule in:\n{out}")
    check("mysql1 → nas1 nfs (tcp/2049, udp/2049, tcp/111, udp/111)" in out, f"the new flow in:\n{out}")
    check("newly denied" in out and "dba → db" in out, f"the VPN group's lost access in:\n{out}")
    check("removed DNAT entry vip-rtmp" in out or "vip-rtmp" in out, f"the DNAT entry in:\n{out}")
    rc, md, err = run("diff", "HEAD~1", "HEAD", "--markdown", "-p", str(policy))
    check(rc == 2 and md.startswith("### Policy change `HEAD~1` → `HEAD`") and "#### Effect" in md,
          f"markdown: rc {rc}\n{md}")
    rc, js, err = run("diff", "HEAD~1", "HEAD", "--json", "-p", str(policy))
    check(rc == 2, f"--json exits 2, got {rc}")
    d = json.loads(js)
    check(d["changed"] is True and d["before"] == "HEAD~1" and d["after"] == "HEAD", "json header")
    kinds = {g["kind"] for g in d["effect"]}
    check(kinds == {"newly allowed", "newly denied"}, f"json effect kinds {kinds}")
    rc, out, _ = run("diff", "HEAD", "HEAD", "-p", str(policy))
    check(rc == 0 and "No change" in out, f"diff HEAD HEAD exits 0, got {rc}:\n{out}")
    rc, out, _ = run("diff", "-p", str(policy))  # HEAD vs the clean working tree
    check(rc == 0, f"diff with a clean working tree exits 0, got {rc}")
    policy.write_text("# a comment\n" + changed.replace("{ to: db, services: [ssh] }", "{ services: [ssh], to: db }"))
    rc, out, _ = run("diff", "-p", str(policy))
    check(rc == 0 and "No change" in out, f"a formatting-only change (comment, key order): rc {rc}\n{out}")
    policy.write_text(changed)
    marker = tmp / "pwned"
    rc, out, err = run("diff", f"HEAD;touch {marker}", "HEAD", "-p", str(policy))
    check(rc == 1 and "neither a policy path nor a Git revision" in err and not marker.exists(),
          f"a revision with shell syntax: rc {rc} {err}")
    rc, out, err = run("diff", "-p", str(policy), "--", "--upload-pack=x", "HEAD")
    check(rc == 1, f"a revision that looks like an option: rc {rc} {err}")
    rc, out, err = run("diff", "no-such-branch", "-p", str(policy))
    check(rc == 1 and "no-such-branch" in err, f"a missing revision: rc {rc} {err}")
    broken = tmp / "broken.yaml"
    broken.write_text("gateway: [\n")
    rc, out, err = run("diff", str(broken), str(policy), "-p", str(policy))
    check(rc == 1 and "broken.yaml:" in err, f"a side that does not load: rc {rc} {err}")

    # 2. the effect agrees with `why` on both sides.
    old_file, new_file = tmp / "old.yaml", tmp / "new.yaml"
    old_file.write_text(campus)
    new_file.write_text(changed)

    def why(path, src, dst, svc, libipsec):
        args = ["--json", "why", src, dst, svc, "-p", str(path)] + (["--libipsec"] if libipsec else [])
        rc, out, err = run(*args)
        assert rc == 0, (args, err)
        return json.loads(out)["accepted"]

    def points(prefix):
        net = ipaddress.ip_network(prefix)
        first, last = int(net.network_address), int(net.broadcast_address)
        return sorted({first, (first + last) // 2, last})

    def ports(spec):  # "tcp/2049", "udp/1000-2000", "icmp"
        if "/" not in spec:
            return [spec] if spec in ("icmp", "icmpv6") else []
        proto, rng = spec.split("/")
        lo, _, hi = rng.partition("-")
        return sorted({f"{proto}/{lo}", f"{proto}/{hi or lo}"})

    lines = []  # (kind, family, src nets, dst nets, specs, libipsec)
    for g in d["effect"]:
        for l in g["flows"]:
            if l["ipsec_path"] == "kernel IPsec only":
                continue  # why places a VPN source on the kernel path by default; checked below
            libipsec = l["ipsec_path"] == "libipsec only"
            lines.append((g["kind"], [ipaddress.ip_network(p) for p in l["from_prefixes"]],
                          [ipaddress.ip_network(p) for p in l["to_prefixes"]], l["service_specs"], libipsec))
    check(lines, "the effect has lines to probe")

    def spec_contains(spec, svc):  # "tcp/1000-2000" holds "tcp/1500"; "icmp" holds "icmp"
        if "/" not in spec:
            return spec == svc or spec == "all services"
        proto, rng = spec.split("/")
        if "/" not in svc or svc.split("/")[0] != proto:
            return False
        lo, _, hi = rng.partition("-")
        return int(lo) <= int(svc.split("/")[1]) <= int(hi or lo)

    def covered(src, dst, svc):
        s, t = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        return any(any(s in n for n in srcs) and any(t in n for n in dsts) and any(spec_contains(x, svc) for x in specs)
                   for _, srcs, dsts, specs, _ in lines)

    probes = 0
    for kind, srcs, dsts, specs, libipsec in lines:
        want = (False, True) if kind == "newly allowed" else (True, False)
        for sn in srcs:
            for dn in dsts:
                for s in points(sn)[:3]:
                    for t in points(dn)[:3]:
                        for spec in specs:
                            for svc in ports(spec):
                                src, dst = str(ipaddress.ip_address(s)), str(ipaddress.ip_address(t))
                                got = (why(old_file, src, dst, svc, libipsec), why(new_file, src, dst, svc, libipsec))
                                probes += 1
                                check(got == want, f"{kind} {src} -> {dst} {svc}: why says {got}, diff says {want}")
                # Just outside the source interval: unchanged unless another line covers it.
                for edge in (int(sn.network_address) - 1, int(sn.broadcast_address) + 1):
                    if edge < 0 or edge >= 2 ** sn.max_prefixlen:
                        continue
                    src = str(ipaddress.IPv4Address(edge) if sn.version == 4 else ipaddress.IPv6Address(edge))
                    dst = str(dn.network_address)
                    for spec in specs:
                        for svc in ports(spec):
                            if covered(src, dst, svc):
                                continue
                            a, b = why(old_file, src, dst, svc, libipsec), why(new_file, src, dst, svc, libipsec)
                            probes += 1
                            check(a == b, f"outside {src} -> {dst} {svc}: why says {a} -> {b}, diff reports no change")
    check(probes >= 20, f"only {probes} probes")
    print(f"{probes} probes agree with why")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("ok")
