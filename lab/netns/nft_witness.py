#!/usr/bin/python3
"""nft as the independent witness of what Bulwark put in the kernel.

Bulwark programs table inet bulwark over netlink (libnftnl); nothing in that path uses nft.
This module asks nft itself, for a namespace whose table Bulwark programmed:

1. Does the table equal what nft makes of `bulwarkctl render`? The render is loaded with
   `nft -f` into a scratch namespace of its own, and both tables are listed with
   `nft -j list table inet bulwark`. Handles are dropped, counters zeroed, and the elements of
   dynamic and timeout sets (meters, `ct count`: filled by the packet path, state rather than
   policy) left out; everything else must be equal: set types and flags, every element and its verdict
   (`goto` vs `jump`), every rule's statements, comments, chain hooks and policies.
2. Can nft load its own listing back? `nft list ruleset` of the namespace goes through
   `nft -c -f -` (check only) in the scratch namespace. Operators back up and debug with
   these two commands, so they must work on Bulwark's table.

    problems = nft_witness.check(ns, render_text=..., )        # [] = both hold
    nft_witness.check(ns, ctl="build/dev/gateway/bulwarkctl", policy="campus.yaml")
    nft_witness.assert_holds(ns, ctl=..., policy=...)          # raises WitnessError

The scratch namespace is named `wit<pid>x<n>` and removed before returning, also on failure.
Command line (exit 0 holds, 1 does not, 2 cannot check):

    nft_witness.py --ns NS (--render FILE | --ctl BULWARKCTL --policy PATH)

Used by `lab/lab up` after bulwarkd's startup reconcile, and by the firewall's netns tests
(the witness test over every example and generated policies, the behaviour test after each
apply, the matrices after theirs, the VLAN one in the kernel group): the lab imports it from
here, the tests too.
"""
from __future__ import annotations

import argparse
import difflib
import itertools
import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager

TABLE = ("inet", "bulwark")
TIMEOUT = 120  # nft on a 50,000-element table takes seconds, never minutes
_serial = itertools.count()


class WitnessError(Exception):
    pass


def _run(argv, *, input=None, timeout=TIMEOUT, check=True) -> subprocess.CompletedProcess:
    try:
        cp = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WitnessError(f"timed out after {timeout}s: {' '.join(argv)}") from None
    if check and cp.returncode != 0:
        raise WitnessError(f"{' '.join(argv)} -> exit {cp.returncode}: {cp.stderr.strip()[-1500:]}")
    return cp


def _in_ns(ns: str | None, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv] if ns else argv


@contextmanager
def scratch_namespace():
    """An empty network namespace of our own for nft to load into; always removed."""
    name = f"wit{os.getpid()}x{next(_serial)}"
    _run(["ip", "netns", "add", name])
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def render(ctl: str, policy: str) -> str:
    """`bulwarkctl render POLICY`: what the kernel must hold, as an nft script."""
    return _run([ctl, "render", str(policy)]).stdout


def list_table_json(ns: str | None) -> dict | None:
    """nft -j list table inet bulwark in `ns`; None when the table does not exist."""
    cp = _run(_in_ns(ns, ["nft", "-j", "list", "table", *TABLE]), check=False)
    if cp.returncode != 0:
        if "No such file or directory" in cp.stderr:
            return None
        raise WitnessError(f"nft -j list table inet bulwark in {ns}: {cp.stderr.strip()[-800:]}")
    return json.loads(cp.stdout)


def list_table_text(ns: str | None) -> str:
    cp = _run(_in_ns(ns, ["nft", "list", "table", *TABLE]), check=False)
    return re.sub(r"\s*# handle \d+", "", cp.stdout)


def _strip(value):
    """Drop handles, zero counter values, recursively."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "handle":
                continue
            if k == "counter" and isinstance(v, dict) and "packets" in v:
                out[k] = {"packets": 0, "bytes": 0}
                continue
            out[k] = _strip(v)
        return out
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def normalise(listing: dict) -> dict:
    """A `nft -j list table` document → {"table", "sets", "chains", "rules"} keyed by name,
    without handles, counter values or the packet path's state."""
    out = {"table": None, "sets": {}, "chains": {}, "rules": {}}
    for obj in listing.get("nftables", []):
        (kind, body), = obj.items()
        if kind == "metainfo":
            continue
        body = _strip(body)
        if kind == "table":
            out["table"] = body
        elif kind in ("set", "map"):
            flags = body.get("flags", [])
            if isinstance(flags, str):
                flags = [flags]
            elems = body.get("elem") or []
            per_connection = any(isinstance(e, dict) and "ct count" in (e.get("elem") or {}) for e in elems)
            if "dynamic" in flags or "timeout" in flags or per_connection:
                # filled by meters / ct count: state, not policy. The per-source SYN meters are
                # `update @synflood4 { ip saddr limit ... }` on sets nft lists with the timeout
                # flag only (no "dynamic"), and they fill with every new source's first SYN; the
                # `ct count` sets carry neither flag in the listing, their elements hold a count.
                body.pop("elem", None)
            out["sets"][f"{kind} {body['name']}"] = body
        elif kind == "chain":
            out["chains"][body["name"]] = body
        elif kind == "rule":
            out["rules"].setdefault(body["chain"], []).append(body)
        else:
            out.setdefault(kind, {})[json.dumps(body, sort_keys=True)] = body
    return out


def compare(kernel: dict | None, expected: dict | None) -> list[str]:
    """Differences between two normalised tables, one line each (empty: equal)."""
    if kernel is None or expected is None:
        if kernel is None and expected is None:
            return []
        return ["table inet bulwark is " + ("missing from the kernel" if kernel is None
                                            else "in the kernel but not in the render")]
    problems = []
    if kernel["table"] != expected["table"]:
        problems.append(f"table: kernel {kernel['table']} vs render {expected['table']}")
    for what in ("sets", "chains"):
        for name in sorted(set(kernel[what]) | set(expected[what])):
            k, e = kernel[what].get(name), expected[what].get(name)
            if k is None:
                problems.append(f"{what[:-1]} {name}: missing from the kernel")
            elif e is None:
                problems.append(f"{what[:-1]} {name}: in the kernel only")
            elif k != e:
                problems.append(f"{what[:-1]} {name}: kernel {json.dumps(k, sort_keys=True)[:400]} "
                                f"vs render {json.dumps(e, sort_keys=True)[:400]}")
    for chain in sorted(set(kernel["rules"]) | set(expected["rules"])):
        k, e = kernel["rules"].get(chain, []), expected["rules"].get(chain, [])
        for i in range(max(len(k), len(e))):
            a = k[i] if i < len(k) else None
            b = e[i] if i < len(e) else None
            if a != b:
                problems.append(f"chain {chain} rule {i + 1}: "
                                f"kernel {json.dumps(a, sort_keys=True)[:400]} "
                                f"vs render {json.dumps(b, sort_keys=True)[:400]}")
    return problems


def check(ns: str, *, render_text: str | None = None, ctl: str | None = None,
          policy: str | None = None, reload_listing: bool = True, context: int = 3) -> list[str]:
    """Both witness checks for the table Bulwark programmed in `ns`. Returns the problems,
    each one line (a text diff of the two listings follows the first table difference)."""
    if render_text is None:
        if not (ctl and policy):
            raise WitnessError("check() needs render_text, or ctl and policy")
        render_text = render(ctl, policy)
    kernel_json = list_table_json(ns)
    problems: list[str] = []
    with scratch_namespace() as scratch:
        _run(_in_ns(scratch, ["nft", "-f", "-"]), input=render_text)
        expected_json = list_table_json(scratch)
        diff = compare(normalise(kernel_json) if kernel_json else None,
                       normalise(expected_json) if expected_json else None)
        if diff:
            problems += [f"nft -j list table inet bulwark differs from nft -f of the render: {d}"
                         for d in diff]
            text = difflib.unified_diff(list_table_text(scratch).splitlines(),
                                        list_table_text(ns).splitlines(),
                                        "nft -f render", f"kernel ({ns})", n=context, lineterm="")
            problems += ["  " + line for line in itertools.islice(text, 80)]
        if reload_listing:
            # Into an empty ruleset, as an operator restores a backup: checked against the
            # render's table, every element would collide with itself ("File exists").
            _run(_in_ns(scratch, ["nft", "flush", "ruleset"]))
            listing = _run(_in_ns(ns, ["nft", "list", "ruleset"])).stdout
            cp = _run(_in_ns(scratch, ["nft", "-c", "-f", "-"]), input=listing, check=False)
            if cp.returncode != 0:
                problems.append("nft list ruleset | nft -c -f - fails: " +
                                " | ".join(cp.stderr.strip().splitlines()[:6]))
    return problems


def assert_holds(ns: str, **kw) -> None:
    problems = check(ns, **kw)
    if problems:
        raise WitnessError("nft as witness: the kernel does not hold what render says\n" +
                           "\n".join(problems[:120]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ns", required=True, help="the namespace whose table Bulwark programmed")
    ap.add_argument("--render", help="an nft script (bulwarkctl render output)")
    ap.add_argument("--ctl", help="bulwarkctl, to render --policy")
    ap.add_argument("--policy")
    a = ap.parse_args(argv)
    try:
        text = open(a.render).read() if a.render else None
        problems = check(a.ns, render_text=text, ctl=a.ctl, policy=a.policy)
    except (WitnessError, OSError, json.JSONDecodeError) as e:
        print(f"nft_witness: cannot check: {e}", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    verdict = "holds" if not problems else "DOES NOT HOLD"
    print(f"nft_witness: {verdict} for table inet bulwark in {a.ns}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
