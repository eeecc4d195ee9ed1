#!/usr/bin/python3
"""A DNAT backend that dies during `lab/lab load` (`--kill-backend-at S HOST`), and its figures.

The policy DNATs the VIP to several backends with a health check (campus.yaml: lb1, then lb2
while lb1 fails `lb-https`). S seconds into the hold every nginx process of HOST is SIGKILLed
(a crash: the kernel resets or closes what they held). Then:

    streams on the backend   its established connections on the stream port at the kill
                             (`ss` in its namespace: the backend's own count, not the client's)
    dropped, reconnected     the stream clients' drop and reconnect events after the kill
                             (bulwark-stream-clients --reconnect-ms: a player that retries);
                             reconnect time = drop -> first byte again, p50/p99/max
    new connections          a new HTTP connection to the VIP every 1/rate s from the internet
                             (probe.py churn); the answer names the load balancer (X-Bulwark-LB),
                             so "the first new connection answered by another backend" is seen
                             from the outside: new_conn_s is the kill -> that answer

After the load the backend's nginx is started again (restore()), so the lab is whole.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import topology

PY = "/usr/bin/python3"
PROBE = str(Path(__file__).resolve().parent / "probe.py")


def _pct(v: list, p: float) -> float:
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def established_on(ns: str, port: int) -> int | None:
    """Established TCP connections with local port `port` in namespace ns (None: ss failed)."""
    cp = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                        capture_output=True, text=True, timeout=30)
    return sum(1 for line in cp.stdout.splitlines() if line.strip()) if cp.returncode == 0 else None


class ConnWatch:
    """New HTTP connections to the VIP from the internet namespace at `rate` per second for at
    most `seconds` (probe.py churn): the load's new connections per second, and which backend
    answered each (X-Bulwark-LB)."""

    def __init__(self, state: dict, vip: str, rate: float, seconds: float, http_port: int = 80):
        self.state, self.vip, self.rate, self.seconds, self.http_port = state, vip, rate, seconds, http_port
        self.conns: list = []        # (t, outcome, ms, by)
        self.watch_summary = None
        self.proc = None
        self.reader = None

    def start(self):
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.state["ns"]["inet"], PY, PROBE, "churn",
                                      "--dst", self.vip, "--port", str(self.http_port), "--rate", str(self.rate),
                                      "--seconds", str(self.seconds), "--timeout", "2", "--events"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                j = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "summary" in j:
                self.watch_summary = j["summary"]
            elif "t" in j:
                self.conns.append((j["t"], j["outcome"], j["ms"], j.get("by")))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.reader:
            self.reader.join(timeout=5)

    def report(self, t0: float, t1: float) -> dict:
        """What the connections started in [t0, t1) came to."""
        out: dict = {}
        for t, outcome, _ms, _by in self.conns:
            if t0 <= t < t1:
                out[outcome] = out.get(outcome, 0) + 1
        n = sum(out.values())
        return {"rate": self.rate, "attempts": n, "per_s": round(n / max(1e-9, t1 - t0), 1), "outcomes": out}


class BackendKill:
    """Kills HOST's nginx `kill_at` s into the hold; `watch` (a ConnWatch, running from the start
    of the load to its end) sees when new connections to the VIP work again."""

    def __init__(self, state: dict, host: str, kill_at: float, watch: ConnWatch, stream_port: int, say):
        self.state, self.host, self.kill_at, self.watch, self.say = state, host, kill_at, watch, say
        self.stream_port, self.rate = stream_port, watch.rate
        self.ns = state["ns"]["h:" + host]
        self.t_kill = None
        self.on_backend = self.on_others = None
        self.killed_pids: list = []
        self.drops: list = []        # (stream, at)
        self.reconnects: list = []   # (stream, at, ms)
        self.error = None

    # --- the stream clients' events ---------------------------------------------------------
    def client_event(self, j: dict) -> bool:
        if "drop" in j:
            self.drops.append((j["drop"]["stream"], j["drop"]["at"]))
        elif "reconnect" in j:
            r = j["reconnect"]
            self.reconnects.append((r["stream"], r["at"], r["ms"]))
            return True
        return False  # drops are everyone's (a failover counts them too)

    # --- the kill -----------------------------------------------------------------------------
    def tick(self, hold_t0: float):
        if self.t_kill is not None or time.monotonic() - hold_t0 < self.kill_at:
            return
        self.on_backend = established_on(self.ns, self.stream_port)
        others = [self.state["ns"]["h:" + h] for h, s in self.state["services"]["hosts"].items()
                  if s.get("nginx") == "lb" and h != self.host]
        self.on_others = sum(established_on(n, self.stream_port) or 0 for n in others)
        self.t_kill = time.monotonic()
        for pid in topology.ns_pids(self.ns):
            if _comm(pid) == "nginx":
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.killed_pids.append(pid)
                except ProcessLookupError:
                    pass
        if not self.killed_pids:
            self.error = f"no nginx process in {self.ns} to kill"
        self.say(f"  >> killed {self.host}'s nginx ({len(self.killed_pids)} processes, SIGKILL) "
                 f"{self.kill_at:g}s into the hold; it held {self.on_backend} streams (other load balancers: "
                 f"{self.on_others})")

    # --- figures --------------------------------------------------------------------------------
    def report(self, t_end: float) -> dict:
        if self.t_kill is None:
            return {"error": self.error or "the hold ended before the kill", "host": self.host}
        tk = self.t_kill
        dropped = {s: at for s, at in self.drops if at >= tk - 0.05}
        back: dict = {}
        for s, at, ms in self.reconnects:
            if s in dropped and at >= dropped[s] and s not in back:
                back[s] = ms
        ms = list(back.values())
        conns = list(self.watch.conns)
        before = [c for c in conns if c[0] < tk and c[1] == "open"]
        after = sorted(c for c in conns if c[0] >= tk)
        first = next((c for c in after if c[1] == "open" and c[3] not in (None, self.host)), None)
        failed = sum(1 for c in after if c[1] != "open" and (first is None or c[0] < first[0]))
        via = {}
        for c in after:
            if c[1] == "open":
                via[c[3]] = via.get(c[3], 0) + 1
        return {"host": self.host, "kill_at_s": self.kill_at, "error": self.error,
                "streams_on_backend": self.on_backend, "streams_on_other_backends": self.on_others,
                "streams_dropped": len(dropped), "streams_reconnected": len(back),
                "streams_not_back": len(dropped) - len(back),
                "reconnect_ms": {"p50": round(_pct(ms, 0.5)), "p99": round(_pct(ms, 0.99)),
                                 "max": round(max(ms or [0]))},
                "new_conn_s": round(first[0] + first[2] / 1000 - tk, 3) if first else None,
                "new_conn_via": first[3] if first else None,
                "new_conn_failed_meanwhile": failed, "new_conn_rate": self.rate,
                "new_conn_before_kill_via": sorted({c[3] for c in before if c[3]}),
                "new_conns_after_kill_by": via}

    def restore(self, restart) -> float:
        """The backend's nginx again (restart() starts it and waits until it serves); seconds."""
        t = time.monotonic()
        restart(self.host)
        return time.monotonic() - t
