#!/usr/bin/python3
"""lab/netns/no_firewall.py (`lab/lab load --no-firewall`): the baseline table it builds from
the kernel's listing of Bulwark's table keeps the NAT and nothing that filters.

    no_firewall_test.py BULWARKCTL

In a network namespace of its own (unshare --net): `bulwarkctl render` of campus.yaml into the
kernel, then the swap as the lab makes it (one nft transaction), then nft's own listing: one
table, its NAT base chains only (prerouting dnat, postrouting snat) and the map and set they
name with the kernel's elements; no filter hook, no chain that drops. A policy without NAT is
refused with a clear error. Exit 0 pass, 1 fail, 77 not root.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lab" / "netns"))
import no_firewall  # noqa: E402

FAILED = []


def check(what, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        FAILED.append(what)


def in_netns(script: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "--net", "sh", "-c", script], input=stdin, capture_output=True, text=True,
                          timeout=60)


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (a network namespace)")
        return 77
    ctl = sys.argv[1]
    rendered = subprocess.run([ctl, "render", str(REPO / "policies/examples/campus.yaml")], capture_output=True,
                              text=True, check=True).stdout
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "fw.nft").write_text(rendered)
        # The kernel's listing, the swap, and the listing after it, in one namespace.
        cp = in_netns(f'nft -f {d}/fw.nft && nft -s list table inet bulwark > {d}/listing && '
                      f'python3 -c "import sys; sys.path.insert(0, \'{REPO}/lab/netns\'); import no_firewall; '
                      f'print(no_firewall.nat_only(open(\'{d}/listing\').read()))" > {d}/kept && '
                      f'(echo "delete table inet bulwark"; cat {d}/kept) | nft -f - && nft -j list ruleset')
        check("the swap is one nft transaction the kernel takes", cp.returncode == 0, cp.stderr[-1500:])
        if cp.returncode != 0:
            return 1
        items = json.loads(cp.stdout)["nftables"]
        tables = [i["table"] for i in items if "table" in i]
        chains = [i["chain"] for i in items if "chain" in i]
        sets = [i.get("set") or i.get("map") for i in items if "set" in i or "map" in i]
        check("one table left: inet lab_nofw", [(t["family"], t["name"]) for t in tables] == [("inet", "lab_nofw")],
              tables)
        check("its chains are the NAT base chains alone",
              sorted((c["name"], c.get("type"), c.get("hook")) for c in chains) ==
              [("postrouting_nat", "nat", "postrouting"), ("prerouting_nat", "nat", "prerouting")], chains)
        check("with the map and set they name, elements as the kernel had them",
              sorted(s["name"] for s in sets) == ["dnat4_vip-http", "snat_servers-out_saddr4"] and
              all(s.get("elem") for s in sets), sets)
        rules = [i["rule"] for i in items if "rule" in i]
        text = json.dumps(rules)
        check("its rules DNAT the VIP's three ports and SNAT the servers, and drop nothing",
              text.count('"dnat"') == 3 and text.count('"masquerade"') == 1 and '"drop"' not in text and
              '"reject"' not in text, text[:1500])
    try:
        no_firewall.nat_only("table inet bulwark {\n\tchain forward {\n\t\ttype filter hook forward priority 0; "
                             "policy drop;\n\t}\n}\n")
        check("a table without NAT is refused", False, "no error")
    except no_firewall.NoFirewallError as e:
        check("a table without NAT is refused, saying so", "no NAT chain" in str(e), str(e))
    print(f"FAIL: {len(FAILED)} check(s) failed" if FAILED else "PASS")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
