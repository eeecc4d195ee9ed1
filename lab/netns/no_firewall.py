"""`lab/lab load --no-firewall`: the same load through the same gateway with Bulwark's
filtering out of the path, the baseline the firewall's cost is measured against.

What stays: the NAT the deployment cannot work without (the VIP's DNAT to its backend, the
servers' SNAT), taken from the kernel's own listing of table inet bulwark (`nft -s list`: its
NAT chains and the maps and sets they name, as they are now, health-checked backend
included), in a table of its own, `inet lab_nofw`. What goes: every filter chain (forward,
input, output, the per-zone-pair chains, the anti-spoofing), so the packets meet conntrack and
NAT only. Conntrack itself stays (NAT needs it).

bulwarkd would repair the missing table at once, so it is stopped (SIGSTOP) for the load and
continued afterwards; then `bulwarkctl reload` has it write its table again and the lab's own
table is deleted in the same minute. The swap is one `nft -f` transaction each way.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess

import nft_witness

TABLE = "lab_nofw"


class NoFirewallError(Exception):
    pass


def _nft(ns: str, *args, stdin: str | None = None) -> str:
    cp = subprocess.run(["ip", "netns", "exec", ns, "nft", *args], input=stdin, capture_output=True, text=True,
                        timeout=60)
    if cp.returncode != 0:
        raise NoFirewallError(f"nft {' '.join(args)} in {ns}: {cp.stderr.strip()[-800:]}")
    return cp.stdout


def _blocks(table_text: str) -> list[tuple[str, str, str]]:
    """The table's members as (kind, name, text): kind is set, map, chain, flowtable ..."""
    lines = table_text.splitlines()
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^\t(set|map|chain|flowtable|counter|quota|limit|ct \w+) (\S+) \{\s*$", lines[i])
        if not m:
            i += 1
            continue
        depth, j = 0, i
        while j < len(lines):
            depth += lines[j].count("{") - lines[j].count("}")
            if depth == 0:
                break
            j += 1
        out.append((m.group(1), m.group(2), "\n".join(lines[i:j + 1])))
        i = j + 1
    return out


def nat_only(table_text: str) -> str:
    """From `nft -s list table inet bulwark`: a table inet lab_nofw holding only its NAT base
    chains (type nat) and the sets and maps those chains name."""
    members = _blocks(table_text)
    chains = [(n, t) for k, n, t in members if k == "chain" and re.search(r"\btype nat hook\b", t)]
    if not chains:
        raise NoFirewallError("table inet bulwark has no NAT chain: nothing to keep (is the firewall applied?)")
    if any(re.search(r"\b(jump|goto)\b", t) for _, t in chains):
        raise NoFirewallError("a NAT chain jumps to another chain: not a shape this baseline handles")
    named = {ref for _, t in chains for ref in re.findall(r"@([A-Za-z0-9_.-]+)", t)}
    sets = [t for k, n, t in members if k in ("set", "map") and n in named]
    missing = named - {n for k, n, _ in members if k in ("set", "map")}
    if missing:
        raise NoFirewallError(f"the NAT chains name sets that are not in the table: {', '.join(sorted(missing))}")
    return f"table inet {TABLE} {{\n" + "\n".join(sets + [t for _, t in chains]) + "\n}\n"


class NoFirewall:
    """with NoFirewall(gw_ns, daemon_pid, reload): Bulwark's filtering out of the path."""

    def __init__(self, gw_ns: str, daemon_pid: int, reload, say):
        self.ns, self.pid, self.reload, self.say = gw_ns, daemon_pid, reload, say
        self.kept = None
        self.before = None  # the firewall before the load (nft -j): the one written back must equal it

    def __enter__(self) -> "NoFirewall":
        self.before = nft_witness.list_table_json(self.ns)
        self.kept = nat_only(_nft(self.ns, "-s", "list", "table", "inet", "bulwark"))
        os.kill(self.pid, signal.SIGSTOP)
        try:
            _nft(self.ns, "-f", "-", stdin=f"delete table inet bulwark\n{self.kept}")
        except NoFirewallError:
            os.kill(self.pid, signal.SIGCONT)
            raise
        n = self.kept.count("\n\tchain ")
        self.say(f"      no firewall: bulwarkd stopped (SIGSTOP), table inet bulwark replaced by inet {TABLE} "
                 f"with only its {n} NAT chain(s) and the maps/sets they name: no filtering, conntrack and NAT only")
        return self

    def __exit__(self, *exc) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.reload()  # bulwarkd writes its table again (it finds it missing)
        _nft(self.ns, "delete", "table", "inet", TABLE)
        # nft, not bulwarkd, says the firewall is back as it was (the witness's normalisation:
        # no handles, counters or the meters' elements, which are traffic, not configuration).
        diff = nft_witness.compare(nft_witness.normalise(nft_witness.list_table_json(self.ns) or {}),
                                   nft_witness.normalise(self.before))
        if diff:
            raise NoFirewallError("the table bulwarkd wrote back differs from the one before the load: " +
                                  "; ".join(diff[:3]))
        self.say(f"      firewall back: bulwarkctl reload wrote table inet bulwark again (nft -j list: as before "
                 f"the load), inet {TABLE} deleted")
