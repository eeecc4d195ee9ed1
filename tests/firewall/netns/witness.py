#!/usr/bin/python3
"""nft as the independent witness of `bulwarkctl apply` (issue 21).

For every policy given (the examples, the schema's good policies) and for generated ones,
`bulwarkctl apply --direct --only firewall` programs table inet bulwark over netlink in a fresh
namespace of this script's own; then lab/netns/nft_witness.py asks nft whether the kernel holds
what `bulwarkctl render` says (`nft -j list table` against `nft -f` of the render in a scratch
namespace) and whether `nft list ruleset | nft -c -f -` loads. The generated policies also go
through the other paths of apply: a variant that changes only set elements (element updates),
one that adds a rule, and back to the first (table replacements), each checked the same way.
Last, a negative control: nft turns one VPN egress map element into a `jump` (what the
programmer wrote before issue 21); the witness and `bulwarkctl plan` must both report it.

    witness.py --ctl BULWARKCTL POLICY... [--generated N]

Exit 0 all held, 1 a check failed, 2 could not run, 77 not root (ctest: skipped).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "lab" / "netns"))
import nft_witness  # noqa: E402  (lab/netns/nft_witness.py)


def run(argv, timeout=120):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def generated_policy(hosts_per_segment: int, variant: int) -> str:
    """A policy of 12 segments (IPv4 and IPv6, VLANs and plain interfaces), a zone, services
    with ranges and UDP, per-rule limits, logging and reject, DNAT and SNAT, two VPN groups
    (verdict maps by egress interface). Odd variants move a few hosts' addresses (the compiled
    sets change, the chains and rules do not); variants from 2 on add a rule (structural)."""
    out = ["gateway:\n  name: gen\n  uplink: eth0\n  trunk: eth1\n", "segments:\n"]
    segs = 12
    for s in range(segs):
        where = f"vlan: {100 + s}" if s % 3 else f"interface: p{s}"
        out.append(f"  - name: seg{s}\n    {where}\n"
                   f"    ipv4: {{ subnet: 10.{s}.0.0/16, gateway: 10.{s}.0.1 }}\n"
                   f"    ipv6: {{ subnet: 2001:db8:{s:x}::/64, gateway: 2001:db8:{s:x}::1 }}\n")
    out.append("hosts:\n")
    for s in range(segs):
        for h in range(hosts_per_segment):
            last = 10 + h + (1000 if variant % 2 and h % 5 == 0 else 0)
            out.append(f"  - {{ name: h{s}x{h}, segment: seg{s}, addresses: "
                       f"[10.{s}.{last // 250}.{last % 250 + 2}, 2001:db8:{s:x}::{last:x}] }}\n")
    out.append("services:\n")
    for v in range(20):
        p = 2000 + 10 * v
        ports = f"tcp/{p}" if v % 4 else f"[tcp/{p}-{p + 5}, udp/{p}]"
        out.append(f"  - {{ name: svc{v}, ports: {ports} }}\n")
    out.append("zones:\n  - { name: core, segments: [seg0, seg1, seg2] }\n")
    out.append("rules:\n")
    for r in range(40):
        src, dst = r % segs, (r * 5 + 1) % segs
        if src == dst:
            dst = (dst + 1) % segs
        a, b = r % hosts_per_segment, (r + 1) % hosts_per_segment
        frm = f"[h{src}x{a}, h{src}x{b}]" if r % 2 else f"seg{src}"
        extra = ""
        if r % 7 == 0:
            extra = "\n    limit: { rate: 100/second, burst: 200, connections: 50 }"
        elif r % 11 == 0:
            extra = "\n    log: true"
        action = "reject" if r % 13 == 5 else "allow"
        out.append(f"  - name: r{r}\n    from: {frm}\n    to: seg{dst}\n"
                   f"    services: [svc{r % 20}]\n    action: {action}{extra}\n")
    out.append("  - { name: core-out, from: core, to: internet, services: [svc1, svc2], "
               "action: allow }\n")
    if variant >= 2:
        out.append("  - { name: added, from: seg9, to: core, services: [svc9], action: allow }\n")
    out.append("nat:\n  dnat:\n"
               "    - { name: vip1, vip: 192.0.2.10, service: svc1, to: h3x1 }\n"
               "    - { name: vip2, vip: 192.0.2.10, service: svc2, to: h3x2 }\n"
               "  snat:\n    - { name: out, from: [seg1, seg2], to: masquerade }\n")
    out.append("vpn:\n  ca: Gen CA\n  local_id: vpn.gen.example\n  groups:\n"
               "    - name: ops\n      pool: 10.250.0.0/25\n      access:\n"
               "        - { to: [seg0, seg4], services: [any] }\n"
               "        - { to: core, services: [svc3] }\n"
               "    - name: dba\n      pool: 10.250.0.128/25\n      access:\n"
               "        - { to: seg5, services: [svc4, svc5] }\n")
    return "".join(out)


class Namespace:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        cp = run(["ip", "netns", "add", self.name])
        if cp.returncode != 0:
            raise nft_witness.WitnessError(f"ip netns add {self.name}: {cp.stderr.strip()}")
        return self

    def __exit__(self, *exc):
        run(["ip", "netns", "del", self.name], timeout=30)


def apply(ctl: str, ns: str, policy: str) -> tuple[bool, str]:
    cp = run(["ip", "netns", "exec", ns, ctl, "apply", "--direct", "--only", "firewall", policy])
    said = (cp.stdout.strip() or cp.stderr.strip()).splitlines()
    return cp.returncode == 0, said[-1] if said else f"exit {cp.returncode}"


def witness(ctl: str, ns: str, policy: str, label: str, failures: list[str]) -> None:
    t0 = time.monotonic()
    problems = nft_witness.check(ns, ctl=ctl, policy=policy)
    took = time.monotonic() - t0
    verdict = "ok   {}: nft witness holds" if not problems else "FAIL {}: nft witness does not hold"
    print(f"  {verdict.format(label)} ({took:.1f} s)")
    for p in problems[:60]:
        print(f"       {p[:600]}")
    if problems:
        failures.append(label)


def negative_control(ctl: str, ns: str, policy: str, failures: list[str]) -> None:
    """The witness must see what issue 21 found: one VPN egress map element turned into a
    jump (what the programmer used to write) is a difference, and the read-back sees it too."""
    edit = ("delete element inet bulwark egress_ops { \"eth0\" }\n"
            "add element inet bulwark egress_ops { \"eth0\" : jump ops__internet }\n")
    cp = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=edit,
                        capture_output=True, text=True, timeout=30)
    if cp.returncode != 0:
        failures.append(f"negative control: nft could not edit the map: {cp.stderr.strip()}")
        return
    problems = nft_witness.check(ns, ctl=ctl, policy=policy)
    seen = any("egress_ops" in p and '"jump"' in p for p in problems)
    plan = run(["ip", "netns", "exec", ns, ctl, "plan", "--detailed-exitcode", "--only", "firewall",
                policy])
    print(f"  {'ok  ' if seen else 'FAIL'} negative control: a jump in egress_ops "
          f"{'is' if seen else 'is NOT'} a witness difference; plan exit {plan.returncode}: "
          f"{plan.stdout.strip().splitlines()[0] if plan.stdout.strip() else plan.stderr.strip()}")
    if not seen:
        failures.append("negative control: the witness missed a jump where render says goto")
    if plan.returncode != 2:
        failures.append("negative control: plan did not see the jump (exit 2 = changes)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--generated", type=int, default=40, metavar="N",
                    help="hosts per segment of the generated policies (12 segments); 0: none")
    ap.add_argument("policies", nargs="*")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("witness: needs root (network namespaces)", file=sys.stderr)
        return 77
    failures: list[str] = []
    prefix = f"fwwit{os.getpid()}"
    try:
        for i, policy in enumerate(a.policies):
            with Namespace(f"{prefix}p{i}") as ns:
                ok, said = apply(a.ctl, ns.name, policy)
                print(f"{policy}: {said}")
                if not ok:
                    failures.append(f"{policy}: apply failed")
                    continue
                witness(a.ctl, ns.name, policy, Path(policy).name, failures)
        if a.generated > 0:
            with tempfile.TemporaryDirectory(prefix="fwwit") as tmp, Namespace(f"{prefix}g") as ns:
                # One path for every variant: rule comments name the file, and a rename would
                # be a structural change of its own.
                policy = Path(tmp) / "generated.yaml"
                for variant, label in ((0, "generated"), (1, "generated, elements moved"),
                                       (3, "generated, a rule added"), (0, "generated, back")):
                    policy.write_text(generated_policy(a.generated, variant))
                    ok, said = apply(a.ctl, ns.name, str(policy))
                    print(f"{label}: {said}")
                    if not ok:
                        failures.append(f"{label}: apply failed")
                        break
                    witness(a.ctl, ns.name, str(policy), label, failures)
                negative_control(a.ctl, ns.name, str(policy), failures)
    except (nft_witness.WitnessError, subprocess.TimeoutExpired, OSError) as e:
        print(f"witness: cannot check: {e}", file=sys.stderr)
        return 2
    if failures:
        print(f"witness: {len(failures)} failed: {', '.join(failures)}")
        return 1
    print("witness: nft agrees with render for every policy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
