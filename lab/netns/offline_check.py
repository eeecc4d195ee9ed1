"""Bulwark's offline evaluator (`bulwarkctl test` / `why`, over the compiled IR) asked about
the same flows the lab probed with real packets, and where the two disagree. The tools must
never disagree with real packets: `lab/lab matrix --compare-offline` and the firewall matrix
tests fail on any disagreement.

    answers, sources = offline_check.ask_offline(ctl, policy, probes)   # may run while probing
    disagree = offline_check.compare_offline(probes, answers)            # after the probes ran
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import subprocess


def ask_offline(ctl: str, policy: str, probes: list, workers: int = 8) -> tuple[list, dict]:
    """Bulwark's offline evaluator (over the compiled IR) for each probe's flow, in probe
    order: (accepted, decided_by) or (None, error text); plus how many answers came from
    where. One `bulwarkctl --json test` evaluates every expectation's flows in one process;
    the flows it did not pick (e.g. the other address family of `internet`) are asked one by
    one with `bulwarkctl why` — the same evaluator, a process each (about a second each
    under QEMU TCG). Independent of the packets, so it may run while they are sent."""
    known = {}
    try:
        cp = subprocess.run([ctl, "--json", "test", policy], capture_output=True, text=True, timeout=120)
        for e in json.loads(cp.stdout).get("expectations", []):
            for q in e.get("probes", []):
                known[(q["src"], q["dst"], q["probe"])] = (bool(q["accepted"]), q["decided_by"])
    except (subprocess.TimeoutExpired, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        known = {}  # then every flow through `why`

    def ask(p):
        hit = known.get((p.src_addr, p.dst_addr, f"{p.proto}/{p.port}"))
        if hit is not None:
            return hit
        try:
            cp = subprocess.run([ctl, "--json", "why", p.src_addr, p.dst_addr, f"{p.proto}/{p.port}",
                                 "-p", policy], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return None, "error: bulwarkctl why timed out"
        if cp.returncode != 0:
            return None, f"error: {cp.stderr.strip()[:200]}"
        verdict = json.loads(cp.stdout)
        return bool(verdict["accepted"]), verdict["decided_by"]
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:
        answers = list(ex.map(ask, probes))
    from_test = sum(1 for p in probes if (p.src_addr, p.dst_addr, f"{p.proto}/{p.port}") in known)
    return answers, {"test": from_test, "why": len(probes) - from_test}


def compare_offline(probes: list, answers: list) -> list:
    """[(probe, what the evaluator said)] where it disagrees with the real packets."""
    out = []
    for p, (accepted, why) in zip(probes, answers):
        if p.outcome == "not-run":
            continue
        if accepted is None:
            out.append((p, why))
        elif accepted != (p.observed == "open"):
            out.append((p, ("accepted" if accepted else "dropped") + f" by {why}"))
    return out

