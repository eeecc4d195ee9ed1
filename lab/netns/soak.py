#!/usr/bin/python3
"""The soak (issue 21): `lab/lab load --soak`, one load hold of D seconds with the gateway's
everyday life happening to it on a schedule (`schedule()`), and what that did.

    apply      every 60 s: the load's policy change (one rule more, `bulwarkctl apply --confirm
               120` + `confirm`) and back (the policy directory again), through bulwarkd
    drift      every 300 s: a foreign `nft add rule` into the gateway's table inet bulwark; the
               daemon must repair it (its audit's `drift-repaired`, and nft no longer lists it)
    charon     every 900 s (with `lab/lab vpn up`): the gateway's charon stopped and started
               again, configured again as `vpn up` does (`bulwarkctl vpn apply --vici`: in the
               one-gateway lab the charon is the lab's, not bulwarkd's), and every admin's tunnel
               up again (drop the dead one, initiate: ha.vpn_reconnect)
    kill       once, at D/2: `kill -9` of bulwarkd, then the same command line again as
               systemd's Restart=on-failure would (gateway_daemon.launch); it must adopt its
               table ("startup: in sync, nothing to apply"; `adopted()` for the health checks,
               whose targets are configured again) while the streams go on

A schedule shorter than a period still gets one of each: a period is at most D/2 (apply), D*2/3
(drift) or D*3/4 (charon), and nothing starts in the last 15 % of the hold, so that the
recovery is inside it. The actions run one after another on one thread.

Throughout the hold: GET /metrics once a second (flood.SCRAPER, one long-lived scraper in the
gateway namespace; failures while bulwarkd is down after the kill are counted apart), an events
subscriber (`bulwarkctl events`, reconnecting after the kill; events counted by type), and every
10 s bulwarkd's VmRSS and open fds (/proc/PID/status, /proc/PID/fd). After the hold, the lines
bulwarkd wrote to its log during it (the lab's stand-in for the journal) are sorted into routine
lines, warnings (a backend that missed its health checks, a loop held long by a busy machine:
reported, not failed) and errors (`log_errors()`).

RSS and fds are judged per bulwarkd process (the kill starts a new one), on the fewest of each
apply period (a sample during an apply sees its working set and sockets): each after the
warm-up (5 minutes, or the first 20 % of the hold when that is shorter, from the hold's start or
the restart) within +-10 % of the first of them (`flat()`).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import flood  # lab/netns/flood.py: SCRAPER
import gateway_daemon
import topology
from backend_failure import _comm, _pct
from flood import _unix

PERIODS = {"apply": 60.0, "drift": 300.0, "charon": 900.0}
MIN_SHARE = {"apply": 1 / 2, "drift": 2 / 3, "charon": 3 / 4}  # the longest period, as a share of D
OFFSETS = {"apply": 0.5, "drift": 0.25, "charon": 0.35}  # first of each at OFFSET x its period
QUIET_END = 0.15   # nothing starts in the last 15 % of the hold
SAMPLE_S = 10.0
FLAT = 0.10
FOREIGN_RULE = "ip saddr 100.64.0.99 counter accept"  # an address nothing in the lab uses
# bulwarkd's own lines that say nothing went wrong (gateway/daemon/main.cpp's log())
ROUTINE = re.compile(r"^bulwarkd: (startup: |ready: |stopping |web view: |remote control: TLS |metrics on |"
                     r"health: check [^;]* -> up)")
# about the network or the machine, not a fault of bulwarkd's: a backend that missed its health
# checks (bulwarkd moves the VIP, as it should) and a loop held long by a busy machine
WARNING = re.compile(r"^bulwarkd: (health: check [^;]* -> down|event loop held \d+ ms by )")
ERROR_WORDS = re.compile(r"error|fail|cannot|can't|refus|denied|disabled|abort|exception|terminat|invalid|"
                         r"lost|timed? ?out|No such|segfault|assert", re.IGNORECASE)


def warmup_s(duration: float) -> float:
    """5 minutes, or the first 20 % of a shorter hold."""
    return min(300.0, 0.2 * duration)


def schedule(duration: float) -> list[tuple[float, str]]:
    """(seconds into the hold, action) in time order; the kill once at D/2."""
    out = [(duration / 2, "kill")]
    for kind, period in PERIODS.items():
        p = min(period, duration * MIN_SHARE[kind])
        t = p * OFFSETS[kind]
        while t < duration * (1 - QUIET_END):
            out.append((round(t, 1), kind))
            t += p
    return sorted(out)


def flat(samples: list[tuple[float, float]], start: float, warm: float, floor_s: float = 0) -> dict:
    """samples: (t, value) of one process from `start` on. The first sample at or after
    start + warm is the baseline; every later one must be within +-FLAT of it. With floor_s,
    the values judged are the fewest of each floor_s window from the warm-up on: the soak
    passes the apply period, because a sample taken during an apply sees its working set
    (RSS ~2 MB more for the ~10 s of an apply under 5,000 streams, given back by the
    malloc_trim after it) and its connections and netlink sockets (2-3 fds more of ~14);
    a leak raises the floor, they do not."""
    after = [(t, v) for t, v in samples if t >= start + warm]
    if after and floor_s:
        windows: dict = {}
        for t, v in after:
            k = int((t - start - warm) // floor_s)
            windows[k] = min(windows.get(k, (t, v)), (t, v), key=lambda x: x[1])
        after = sorted(windows.values())
    if not after:
        return {"baseline": None, "end": samples[-1][1] if samples else None, "samples": 0, "ok": True,
                "note": "no sample after the warm-up"}
    base = after[0][1]
    dev = max(abs(v - base) for _, v in after)
    return {"baseline": base, "end": after[-1][1], "min": min(v for _, v in after), "max": max(v for _, v in after),
            "max_dev_percent": round(100 * dev / base, 1) if base else None, "samples": len(after),
            "ok": dev <= FLAT * base}


def log_errors(lines: list[str], expected: tuple = ()) -> tuple[list[str], list[str]]:
    """(errors, warnings) among bulwarkd's log lines. An error: not a routine line nor a warning
    (WARNING), and an error word in it; `expected` substrings (what the schedule causes on
    purpose) are neither."""
    lines = [ln for ln in lines if ln.strip() and not ROUTINE.match(ln) and not any(x in ln for x in expected)]
    warnings = [ln for ln in lines if WARNING.match(ln)]
    return [ln for ln in lines if not WARNING.match(ln) and ERROR_WORDS.search(ln)], warnings


def adopted(startup: str) -> bool:
    """Whether bulwarkd's startup says it adopted the firewall as it found it: "in sync, nothing to
    apply", or the firewall in sync beside the health checks (the process's own state: their
    targets are always configured again after a restart). The DNAT maps count too: a restarted
    bulwarkd keeps the backends the killed one had chosen (dnat_health.h, found()), so a VIP the
    killed process had moved to lb2 stays there."""
    kinds = dict(part.partition(": ")[::2] for part in startup.split("; "))
    if startup == "in sync, nothing to apply":
        return True
    if not set(kinds) <= {"firewall", "health"} or "firewall" not in kinds:
        return False
    return kinds["firewall"] == "in sync"


def _objects(lines) -> list:
    """The JSON objects among lines (a process's output, a log), the rest passed over."""
    out = []
    for ln in lines:
        try:
            j = json.loads(ln)
        except json.JSONDecodeError:
            continue
        if isinstance(j, dict):
            out.append(j)
    return out


class SoakRun:
    def __init__(self, state: dict, duration: float, paths, apply_change, apply_back, save_state, say):
        """apply_change/apply_back: the load's policy change and the policy directory again, each
        a callable returning bulwarkctl's summary (raising on failure)."""
        self.state, self.duration, self.paths, self.say = state, duration, paths, say
        self.apply_change, self.apply_back, self.save_state = apply_change, apply_back, save_state
        self.gw = state["ns"]["gw"]
        self.plan = schedule(duration)
        self.apply_period = min(PERIODS["apply"], duration * MIN_SHARE["apply"])
        self.vpn = state.get("vpn") if (state.get("vpn") or {}).get("gw") else None
        if not self.vpn:  # no admin VPN up: nothing of charon's to restart
            self.plan = [(t, k) for t, k in self.plan if k != "charon"]
        self.t0 = None
        self.done: list = []       # (t into the hold, action, ok, detail dict)
        self.scrapes: list = []
        self.samples: list = []    # (t into the hold, pid, rss_kb, fds)
        self.events: dict = {}
        self.subscriber = {"connects": 0, "disconnects": []}
        self.kill = {}
        self.stop_flag = threading.Event()
        self.threads: list = []
        self.scraper = self.events_proc = None
        self.events_alive_at_end = False
        self.log_offset = paths.log.stat().st_size if paths.log.exists() else 0

    # ------------------------------------------------------------------ start, threads
    def tick(self, hold_t0: float):
        if self.t0 is not None:
            return
        self.t0 = hold_t0
        self.scraper = subprocess.Popen(["ip", "netns", "exec", self.gw, flood.PY, "-c", flood.SCRAPER,
                                         gateway_daemon.METRICS, str(self.duration + 5)],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                        start_new_session=True)
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._read_scraper, self._subscribe, self._sample, self._run_plan)]
        for t in self.threads:
            t.start()
        counts = {k: sum(1 for _, x in self.plan if x == k) for k in ("apply", "drift", "charon", "kill")}
        self.say(f"  >> soak for {self.duration:g}s: {counts['apply']} applies (change and back), {counts['drift']} "
                 f"foreign nft edits, {counts['charon']} charon restarts, {counts['kill']} kill -9 of bulwarkd at "
                 f"{self.duration / 2:g}s; /metrics every 1 s, an events subscriber, RSS/fds every {SAMPLE_S:g} s")

    def now(self) -> float:
        return time.monotonic() - self.t0

    def _read_scraper(self):
        for line in self.scraper.stdout:
            for j in _objects([line]):
                j["t"] -= self.t0
                self.scrapes.append(j)

    def _subscribe(self):
        """`bulwarkctl events` for the whole hold: a connect is a subscriber started, a disconnect
        its exit (while bulwarkd is down after the kill, each retry, every 0.5 s, exits at once)."""
        while not self.stop_flag.is_set():
            p = subprocess.Popen([self.state["ctl"], "--socket", str(self.paths.socket), "events"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
            self.events_proc = p
            self.subscriber["connects"] += 1
            for line in p.stdout:
                for j in _objects([line]):
                    k = j.get("event", "?")
                    self.events[k] = self.events.get(k, 0) + 1
            p.wait()
            if self.stop_flag.is_set():
                break
            self.subscriber["disconnects"].append(self.now())
            self.stop_flag.wait(0.5)

    def bulwarkd_pid(self) -> int | None:
        for pid in topology.ns_pids(self.gw):
            if _comm(pid) == "bulwarkd":
                return pid
        return None

    def _sample(self):
        while not self.stop_flag.is_set():
            pid = self.bulwarkd_pid()
            if pid:
                try:
                    rss = next(int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
                               if ln.startswith("VmRSS:"))
                    self.samples.append((round(self.now(), 1), pid, rss, len(os.listdir(f"/proc/{pid}/fd"))))
                except (OSError, StopIteration):
                    pass
            self.stop_flag.wait(SAMPLE_S)

    def _run_plan(self):
        for at, kind in self.plan:
            if self.stop_flag.wait(max(0.0, at - self.now())):
                return
            t = self.now()
            try:
                detail = getattr(self, "_" + kind)()
                ok = detail.pop("ok", True)
            except Exception as e:  # a failed action is a figure, and the soak goes on
                ok, detail = False, {"error": f"{type(e).__name__}: {str(e).strip()[-300:]}"}
            detail["took_s"] = round(self.now() - t, 2)
            self.done.append((round(t, 1), kind, ok, detail))
            self.say(f"  >> soak {t:6.1f}s {kind}: {'ok' if ok else 'FAILED'} {json.dumps(detail)}")

    # ------------------------------------------------------------------ the actions
    def _apply(self) -> dict:
        t = time.monotonic()
        self.apply_change()
        t1 = time.monotonic()
        self.apply_back()
        return {"change_s": round(t1 - t, 2), "back_s": round(time.monotonic() - t1, 2)}

    def _nft(self, *args, check=True) -> subprocess.CompletedProcess:
        cp = subprocess.run(["ip", "netns", "exec", self.gw, "nft", *args], capture_output=True, text=True, timeout=30)
        if check and cp.returncode != 0:
            raise RuntimeError(f"nft {' '.join(args)}: {cp.stderr.strip()}")
        return cp

    def _drift(self) -> dict:
        wall = time.time()
        t = time.monotonic()
        self._nft("add", "rule", "inet", "bulwark", "forward", *FOREIGN_RULE.split())
        deadline = t + 30
        rec = None
        while rec is None and time.monotonic() < deadline:
            time.sleep(0.1)
            rec = next((e for e in self._audit() if e.get("event") == "drift-repaired" and
                        _unix(e.get("time", "")) >= wall - 1), None)
        listing = self._nft("list", "chain", "inet", "bulwark", "forward", check=False).stdout
        gone = "100.64.0.99" not in listing
        return {"ok": rec is not None and gone, "repaired_s": round(time.monotonic() - t, 2) if rec else None,
                "foreign_rule_gone": gone, "summary": (rec or {}).get("summary")}

    def _audit(self) -> list:
        try:
            return _objects((self.paths.state_dir / "audit.log").read_text().splitlines()[-50:])
        except OSError:
            return []

    def _tunnels(self) -> int | None:
        cp = subprocess.run([self.state["ctl"], "--json", "tunnels", "--vici", self.vpn["gw"]["uri"]],
                            capture_output=True, text=True, timeout=15)
        try:
            return len(json.loads(cp.stdout)) if cp.returncode == 0 else None
        except json.JSONDecodeError:
            return None

    def _charon(self) -> dict:
        import charon  # lab/netns/charon.py
        import ha      # lab/netns/ha.py: vpn_reconnect
        groups = self.vpn["groups"]
        before = self._tunnels()
        t = time.monotonic()
        charon.stop_session(self.state["pids"]["vpn/gw-charon"])
        c = charon.Charon(self.vpn["dir"], "gw", self.gw).start()
        self.state["pids"]["vpn/gw-charon"] = c.pid
        self.save_state(self.state)
        # configured again as `lab/lab vpn up` did: the lab's charon, not bulwarkd's, here
        subprocess.run([self.state["ctl"], "vpn", "apply", self.state["policy"], "--vici", c.uri, "--pki",
                        str(Path(self.vpn["dir"]) / "pki"), "--libipsec"], capture_output=True, text=True,
                       timeout=60, check=True)
        t_conf = time.monotonic() - t
        back = ha.vpn_reconnect(self.state, groups, t, limit=60)
        after = self._tunnels()
        up = sum(1 for r in back.values() if r["reconnect_s"] is not None)
        return {"ok": before == len(groups) and after == len(groups) and up == len(groups),
                "tunnels_before": before, "tunnels_after": after, "restarted_configured_s": round(t_conf, 2),
                "reconnect_s": {g: r["reconnect_s"] for g, r in back.items()}}

    def _kill(self) -> dict:
        pid = self.bulwarkd_pid()
        if not pid:
            raise RuntimeError("no bulwarkd in the gateway namespace")
        offset = self.paths.log.stat().st_size
        wall = time.time()
        self.kill = {"t": self.now(), "pid": pid}
        os.kill(pid, signal.SIGKILL)
        while topology._alive(pid) and self.now() - self.kill["t"] < 10:
            time.sleep(0.02)
        t = time.monotonic()
        d = self.state["daemon"]
        new = gateway_daemon.launch(d["bulwarkd"], self.state["ctl"], self.gw, self.paths)
        self.kill.update(t_ready=self.now(), new_pid=new)
        self.state["pids"]["gateway/bulwarkd"] = new
        self.save_state(self.state)
        with open(self.paths.log, errors="replace") as f:
            f.seek(offset)
            said = [ln.rstrip() for ln in f if ln.startswith("bulwarkd: startup: ")]
        rec = next((e for e in reversed(self._audit()) if e.get("event") == "startup" and
                    _unix(e.get("time", "")) >= wall - 1), {})
        fw = [ln for c in rec.get("detail", {}).get("changes", []) if c.get("kind") == "firewall"
              for ln in c.get("changes", [])]
        started = said[-1][len("bulwarkd: startup: "):] if said else ""
        return {"ok": bool(said) and adopted(started), "firewall_changes": fw, "old_pid": pid, "new_pid": new, "restart_to_ready_s": round(time.monotonic() - t, 2),
                "startup": started or None}

    # ------------------------------------------------------------------ end, report
    def stop(self):
        self.events_alive_at_end = bool(self.events_proc) and self.events_proc.poll() is None
        self.stop_flag.set()
        for p in (self.scraper, self.events_proc):
            if p and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        for t in self.threads:
            t.join(timeout=120)  # an action under way finishes (a charon restart takes the longest)

    def report(self, clients: dict, streams: int) -> dict:
        if self.t0 is None:
            return {"ok": False, "error": "the hold never began"}
        k0, k1 = self.kill.get("t"), self.kill.get("t_ready")
        down = (lambda t: k0 is not None and k0 <= t <= (k1 if k1 is not None else k0 + 60) + 2)
        ms = [x["ms"] for x in self.scrapes if "ms" in x]
        failed = [x for x in self.scrapes if "ms" not in x]
        scrape = {"asked": len(self.scrapes), "failed": sum(1 for x in failed if not down(x["t"])),
                  "failed_while_bulwarkd_down": sum(1 for x in failed if down(x["t"])),
                  "ms": {"p50": round(_pct(ms, 0.5), 1), "p99": round(_pct(ms, 0.99), 1),
                         "max": round(max(ms or [0]), 1)}}
        acts = {}
        for kind in ("apply", "drift", "charon", "kill"):
            mine = [(ok, d) for _, k, ok, d in self.done if k == kind]
            acts[kind] = {"planned": sum(1 for _, k in self.plan if k == kind), "done": len(mine),
                          "ok": sum(1 for ok, _ in mine if ok), "failed": sum(1 for ok, _ in mine if not ok)}
        acts["drift"]["repaired_s_max"] = max((d.get("repaired_s") or 0 for ok, d in
                                               ((ok, d) for _, k, ok, d in self.done if k == "drift")), default=None)
        warm = warmup_s(self.duration)
        procs = []
        for pid in dict.fromkeys(p for _, p, _, _ in self.samples):
            mine = [(t, r, f) for t, p, r, f in self.samples if p == pid]
            start = 0.0 if not procs else (k1 or mine[0][0])
            procs.append({"pid": pid, "from_s": mine[0][0], "warmup_s": warm,
                          "rss_kb": flat([(t, r) for t, r, _ in mine], start, warm, self.apply_period),
                          "fds": flat([(t, f) for t, _, f in mine], start, warm, self.apply_period),
                          "series": [[t, r, f] for t, r, f in mine]})
        try:
            with open(self.paths.log, errors="replace") as f:
                f.seek(self.log_offset)
                lines = [ln.rstrip() for ln in f]
        except OSError:
            lines = []
        errors, warnings = log_errors(lines)
        sub = dict(self.subscriber)
        unexpected = [t for t in sub["disconnects"] if not down(t)]
        sub["disconnects"] = [round(t, 2) for t in sub["disconnects"]]
        sub.update(events=dict(sorted(self.events.items())), unexpected_disconnects=len(unexpected),
                   connected_at_end=self.events_alive_at_end)
        lost = clients["dropped"]  # no revocation in the schedule: every drop is a loss
        gaps = clients.get("stream_max_gap_ms", {})
        out = {"duration_s": self.duration, "schedule": [[t, k] for t, k in self.plan],
               "streams": {"asked": streams, "established": clients["established"], "failed": clients["failed"],
                           "lost": lost, "revoked_excluded": 0, "stream_max_gap_ms_p99": gaps.get("p99"),
                           "max_gap_ms": clients["max_gap_ms"]},
               "actions": acts, "kill": dict(self.kill), "metrics_scrape": scrape, "events_subscriber": sub,
               "bulwarkd": procs, "log": {"lines": len(lines), "errors": len(errors), "error_lines": errors[:20],
                       "warnings": len(warnings), "warning_lines": warnings[:20]},
               "actions_log": [{"t": t, "action": k, "ok": ok, **d} for t, k, ok, d in self.done]}
        checks = {
            "streams": clients["established"] == streams and clients["failed"] == 0 and lost == 0,
            "actions": all(a["done"] == a["planned"] and a["failed"] == 0 for a in acts.values()),
            "scrape": scrape["failed"] == 0,
            "events": sub["unexpected_disconnects"] == 0 and sub["connected_at_end"],
            "rss_fds_flat": all(p["rss_kb"]["ok"] and p["fds"]["ok"] for p in procs) and bool(procs),
            "log": not errors}
        out["checks"] = checks
        out["ok"] = all(checks.values())
        return out

    def say_report(self, r: dict):
        say = self.say
        if "error" in r:
            say(f"  soak: {r['error']}")
            return
        s, a, sc, sub = r["streams"], r["actions"], r["metrics_scrape"], r["events_subscriber"]
        mark = (lambda k: "ok" if r["checks"][k] else "FAIL")
        say(f"  soak ({'PASS' if r['ok'] else 'FAIL'}) over {r['duration_s']:g}s:")
        say(f"    streams [{mark('streams')}]: {s['established']}/{s['asked']} established, {s['failed']} failed, "
            f"{s['lost']} lost (no revocation in the schedule); per-stream largest gap p99 "
            f"{s['stream_max_gap_ms_p99']} ms, largest {s['max_gap_ms']:.0f} ms")
        say(f"    actions [{mark('actions')}]: " + "; ".join(
            f"{k} {v['ok']}/{v['planned']} ok" + (f", {v['failed']} failed" if v["failed"] else "")
            for k, v in a.items()) + f"; drift repaired within {a['drift']['repaired_s_max']} s")
        k = r["kill"]
        kd = next((x for x in r["actions_log"] if x["action"] == "kill"), {})
        if k:
            say(f"    kill -9 of bulwarkd {k.get('pid')} at {k['t']:.1f}s: pid {k.get('new_pid')} ready "
                f"{(k.get('t_ready') or k['t']) - k['t']:.1f}s later; startup: {kd.get('startup')}"
                + "".join(f"\n      {c}" for c in kd.get("firewall_changes", [])))
        say(f"    /metrics [{mark('scrape')}]: {sc['asked']} scrapes, {sc['failed']} failed "
            f"(+{sc['failed_while_bulwarkd_down']} while bulwarkd was down); p50 {sc['ms']['p50']} ms, "
            f"p99 {sc['ms']['p99']} ms, max {sc['ms']['max']} ms")
        say(f"    events subscriber [{mark('events')}]: {sub['connects']} connects, {len(sub['disconnects'])} "
            f"disconnects ({sub['unexpected_disconnects']} while bulwarkd was up), connected at the end: "
            f"{sub['connected_at_end']}; events {json.dumps(sub['events'])}")
        if r["bulwarkd"]:
            say(f"    RSS and fds: the fewest of each {self.apply_period:g} s (an apply's working set and "
                f"sockets are not a leak), after the warm-up, against the first of them")
        for p in r["bulwarkd"]:
            say(f"    bulwarkd pid {p['pid']} (from {p['from_s']:g}s) [{mark('rss_fds_flat')}]: "
                + "; ".join(f"{n} {v['baseline']} after the {p['warmup_s']:g}s warm-up -> {v['end']} at the end "
                            f"(max dev {v.get('max_dev_percent')} %, {v['samples']} samples)"
                            for n, v in (("VmRSS kB", p["rss_kb"]), ("fds", p["fds"]))))
        say(f"    bulwarkd's log [{mark('log')}]: {r['log']['lines']} lines during the hold, {r['log']['errors']} errors"
            + "".join(f"\n      {ln}" for ln in r["log"]["error_lines"])
            + f"; {r['log']['warnings']} warnings (not bulwarkd's faults: health checks missed, a busy loop)"
            + "".join(f"\n      {ln}" for ln in r["log"]["warning_lines"]))
