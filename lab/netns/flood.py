#!/usr/bin/python3
"""A flood at the VIP during `lab/lab load` (`--flood syn|udp|halfopen|none[:PPS] --flood-at S
--flood-for S`), and what it did to the streams and to the gateway's management (issue 21).

The flood comes from the internet namespace, where the stream clients are, by
bulwark-flood (lab/tools/flood.cpp) on a raw socket, bounded by --flood-for (at most 60 s here)
and allowed to send only to the policy's VIPs:

    syn        TCP SYNs to VIP:PORT (the streams' port), at PPS (0: as fast as it goes), from
               random sources of the benchmark range 198.18.0.0/15 outside the clients' own
               --sources (a SYN-ACK to a client address would be answered with a RST by the
               internet namespace, closing the half-open entry the flood is meant to leave).
    udp        UDP to random ports of the VIP that the policy does not name (closed ports).
    halfopen   SYNs as `syn`, exactly --flood-count of them (default 200,000) at PPS (default
               20,000): each is DNATed to the load balancer, whose SYN-ACK goes back to a
               spoofed address the internet namespace does not have and forwards nowhere (no
               route, no forwarding). So each leaves one half-open (SYN_RECV, 60 s) entry in
               the gateway's conntrack, unless the firewall or a full table drops it; the
               report says how many entries there were at the peak.
    none       no packets, everything else the same: the baseline for the same window.

From the flood's start to 2 s after its end, once a second: `bulwarkctl status` over the
control socket, `bulwarkctl tunnels --vici` (with the admin VPN up: the tunnels charon lists), and
GET /metrics plus nf_conntrack_count from inside the gateway namespace (one
long-lived scraper there, so that no process start is in the latency). The streams' side: the
per-stream largest gap among the gaps that start in the flood window (the clients' gap events
over 1.5 chunk periods; a stream without one had its largest gap under that bound, which it
counts as), and the streams dropped in it. `--flood-baseline FILE` (the --json-out of the same
load with `--flood none`) adds the ratio of the two p99s: issue 21's goal is <= 1.2.
"""
from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import gateway_daemon
from backend_failure import _pct

PY = "/usr/bin/python3"
MODES = ("syn", "udp", "halfopen", "none")
MAX_SECONDS = 60           # the lab's bound on a flood (the tool's own is 600 s)
HALFOPEN_COUNT = 200000
HALFOPEN_PPS = 20000

# Runs in the gateway namespace: once a second GET /metrics (timed) and nf_conntrack_count,
# one JSON line each, for argv[2] seconds.
SCRAPER = r"""
import json, sys, time, urllib.request
url, end = "http://%s/metrics" % sys.argv[1], time.monotonic() + float(sys.argv[2])
def read(p):
    try:
        return int(open(p).read())
    except (OSError, ValueError):
        return None
while time.monotonic() < end:
    t = time.monotonic()
    out = {"t": t, "ct": read("/proc/sys/net/netfilter/nf_conntrack_count")}
    try:
        body = urllib.request.urlopen(url, timeout=5).read().decode()
        out["ms"] = (time.monotonic() - t) * 1000
        for line in body.splitlines():
            k, _, v = line.partition(" ")
            if k in ("bulwark_conntrack_pressure", "bulwark_conntrack_pressure_events_total", "bulwark_conntrack_limit"):
                out[k] = float(v)
    except Exception as e:
        out["error"] = type(e).__name__
    print(json.dumps(out), flush=True)
    time.sleep(max(0.0, t + 1 - time.monotonic()))
"""


class FloodError(Exception):
    pass


def parse(spec: str) -> tuple[str, int | None]:
    """'syn', 'udp:50000', 'halfopen:20000', 'none' -> (mode, pps or None)."""
    mode, _, pps = spec.partition(":")
    if mode not in MODES or (pps and not pps.isdigit()):
        raise FloodError(f"--flood {spec}: one of {', '.join(MODES)}, optionally :PPS")
    return mode, int(pps) if pps else None


class FloodRun:
    def __init__(self, state: dict, spec: str, at: float, seconds: float, count: int | None, vips: list,
                 vip: str, port: int, sources: str, udp_open: set, paths, metrics_addr: str, say):
        self.mode, pps = parse(spec)
        if not 0 < seconds <= MAX_SECONDS:
            raise FloodError(f"--flood-for: 1..{MAX_SECONDS} s")
        if at < 0:
            raise FloodError("--flood-at: seconds into the hold, >= 0")
        self.state, self.at, self.seconds, self.say = state, at, seconds, say
        self.pps = pps if pps is not None else (HALFOPEN_PPS if self.mode == "halfopen" else 0)
        self.count = (count or HALFOPEN_COUNT) if self.mode == "halfopen" else None
        self.vip, self.port, self.paths, self.metrics_addr = vip, port, paths, metrics_addr
        tool = Path(state["tools"]) / "bulwark-flood"
        self.argv = None
        if self.mode != "none":
            if not os.access(tool, os.X_OK):
                raise FloodError(f"{tool} missing: build the bulwark-flood target")
            self.argv = [str(tool), "--mode", "udp" if self.mode == "udp" else "syn", "--dst", vip,
                         "--duration", str(int(seconds)), "--rate", str(self.pps), "--exclude", sources]
            for v in vips:  # the only addresses it may send to: the lab's own VIPs
                self.argv += ["--allow", f"{v}/32"]
            if self.mode == "udp":
                for p in sorted(udp_open):
                    self.argv += ["--open-port", str(p)]
            else:
                self.argv += ["--port", str(port)]
            if self.count:
                self.argv += ["--count", str(self.count)]
            cp = subprocess.run(self.argv + ["--check"], capture_output=True, text=True, timeout=10)
            if cp.returncode != 0:
                raise FloodError(f"bulwark-flood refused: {cp.stderr.strip()}")
        self.t_start = None
        self.proc = self.scraper = None
        self.tool_summary = None
        self.scrapes: list = []    # the scraper's lines
        self.status: list = []     # (t, ms or None, error)
        self.tunnels: list = []    # (t, ms or None, tunnels listed)
        self.vici = ((state.get("vpn") or {}).get("gw") or {}).get("uri")  # with `lab/lab vpn up`
        self.gaps: list = []       # (proc, stream, start, ms)
        self.drops: list = []      # (proc, stream, at)
        self.threads: list = []
        self.stop_flag = threading.Event()

    def gap_threshold_ms(self, chunk_ms: int) -> int:
        return int(chunk_ms * 1.5)

    def client_event(self, j: dict, proc: int):
        if "gap" in j:
            self.gaps.append((proc, j["gap"]["stream"], j["gap"]["start"], j["gap"]["ms"]))
        elif "drop" in j:
            self.drops.append((proc, j["drop"]["stream"], j["drop"]["at"]))

    def tick(self, hold_t0: float):
        if self.t_start is not None or time.monotonic() - hold_t0 < self.at:
            return
        self.t_start = time.monotonic()
        inet, gw = self.state["ns"]["inet"], self.state["ns"]["gw"]
        self.scraper = subprocess.Popen(["ip", "netns", "exec", gw, PY, "-c", SCRAPER, self.metrics_addr,
                                         str(self.seconds + 2)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, start_new_session=True)
        if self.argv:
            self.proc = subprocess.Popen(["ip", "netns", "exec", inet, *self.argv], stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._read_scraper, self._status_loop)]
        for t in self.threads:
            t.start()
        self.say(f"  >> flood {self.mode}" + (f" at {self.pps or 'max'} pps" if self.argv else " (baseline: none sent)")
                 + (f", {self.count} SYNs" if self.count else "") + f" for at most {self.seconds:g}s")

    def _read_scraper(self):
        for line in self.scraper.stdout:
            try:
                self.scrapes.append(json.loads(line))
            except json.JSONDecodeError:
                pass

    def _status_loop(self):
        end = self.t_start + self.seconds + 2
        while time.monotonic() < end and not self.stop_flag.is_set():
            t = time.monotonic()
            try:
                cp = gateway_daemon.ctl(self.state["ctl"], self.paths, "status", timeout=5, check=False)
                ok = cp.returncode == 0
                self.status.append((t, (time.monotonic() - t) * 1000 if ok else None,
                                    None if ok else f"exit {cp.returncode}"))
            except Exception as e:  # a timeout: management did not answer
                self.status.append((t, None, type(e).__name__))
            if self.vici:  # the admin VPN's charon over VICI: the tunnels it lists
                t1 = time.monotonic()
                try:
                    cp = subprocess.run([self.state["ctl"], "--json", "tunnels", "--vici", self.vici],
                                        capture_output=True, text=True, timeout=5)
                    rows = json.loads(cp.stdout) if cp.returncode == 0 else None
                    self.tunnels.append((t1, (time.monotonic() - t1) * 1000 if rows is not None else None,
                                         len(rows or [])))
                except (subprocess.TimeoutExpired, json.JSONDecodeError):
                    self.tunnels.append((t1, None, 0))
            self.stop_flag.wait(max(0.0, t + 1 - time.monotonic()))

    def stop(self):
        """After the load (or on its failure): the flood's summary, the probes stopped."""
        if self.proc:
            if self.proc.poll() is None:  # the load ended first (or failed): the tool still prints its summary
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                out, err = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                out, err = self.proc.communicate(timeout=5)
            for line in out.splitlines():
                try:
                    self.tool_summary = json.loads(line)["flood"]
                except (json.JSONDecodeError, KeyError):
                    pass
            if self.tool_summary is None:
                self.tool_summary = {"error": err.strip()[-300:] or f"exit {self.proc.returncode}"}
        self.stop_flag.set()
        if self.scraper and self.scraper.poll() is None:
            os.killpg(self.scraper.pid, signal.SIGTERM)
            self.scraper.wait(timeout=5)
        for t in self.threads:
            t.join(timeout=10)

    def report(self, streams: int, chunk_ms: int, baseline: dict | None) -> dict:
        if self.t_start is None:
            return {"mode": self.mode, "error": "the hold ended before --flood-at"}
        # the window is the one asked for (also for halfopen, whose SYNs may all be out sooner: the
        # entries they leave stay), so that a baseline run with --flood none measures the same
        t0, t1 = self.t_start, self.t_start + self.seconds
        bound = self.gap_threshold_ms(chunk_ms)
        per: dict = {}
        for p, s, start, ms in self.gaps:
            if t0 <= start < t1:
                per[(p, s)] = max(per.get((p, s), 0.0), ms)
        v = list(per.values()) + [float(bound)] * max(0, streams - len(per))
        lost = {(p, s) for p, s, at in self.drops if t0 <= at < t1}
        st_ms = [ms for _, ms, _ in self.status if ms is not None]
        sc_ms = [x["ms"] for x in self.scrapes if "ms" in x]
        cts = [x["ct"] for x in self.scrapes if x.get("ct") is not None]
        limit = next((int(x["bulwark_conntrack_limit"]) for x in self.scrapes if "bulwark_conntrack_limit" in x), None)
        out = {"mode": self.mode, "pps_asked": self.pps, "count_asked": self.count, "at_s": self.at,
               "seconds": round(t1 - t0, 2), "tool": self.tool_summary,
               "packets_sent": (self.tool_summary or {}).get("sent", 0),
               "achieved_pps": (self.tool_summary or {}).get("pps", 0),
               "conntrack_peak": max(cts or [0]), "conntrack_max": limit,
               "conntrack_peak_percent": round(100 * max(cts or [0]) / limit, 1) if limit else None,
               "pressure_seen": any(x.get("bulwark_conntrack_pressure") == 1 for x in self.scrapes),
               "pressure_events": self._pressure_events(),
               "streams_dropped": len(lost), "gap_bound_ms": bound, "streams_with_gap": len(per),
               "gap_ms": {"p50": round(_pct(v, 0.5)), "p99": round(_pct(v, 0.99)), "max": round(max(v or [0]))},
               "management": {
                   "status": {"asked": len(self.status), "failed": sum(1 for _, ms, _ in self.status if ms is None),
                              "ms": {"p50": round(_pct(st_ms, 0.5), 1), "max": round(max(st_ms or [0]), 1)}},
                   "metrics": {"asked": len(self.scrapes), "failed": sum(1 for x in self.scrapes if "ms" not in x),
                               "ms": {"p50": round(_pct(sc_ms, 0.5), 1), "max": round(max(sc_ms or [0]), 1)}}}}
        if self.vici:
            tu_ms = [ms for _, ms, _ in self.tunnels if ms is not None]
            out["management"]["tunnels"] = {
                "asked": len(self.tunnels), "failed": sum(1 for _, ms, _ in self.tunnels if ms is None),
                "listed": {"min": min((n for _, _, n in self.tunnels), default=0),
                           "max": max((n for _, _, n in self.tunnels), default=0)},
                "ms": {"p50": round(_pct(tu_ms, 0.5), 1), "max": round(max(tu_ms or [0]), 1)}}
        if baseline:
            b = baseline.get("flood", {}).get("gap_ms", {}).get("p99")
            out["baseline_gap_p99_ms"] = b
            out["gap_p99_ratio"] = round(out["gap_ms"]["p99"] / b, 2) if b else None
        return out

    def _pressure_events(self) -> list:
        """The daemon's conntrack-pressure events from its audit log since the flood began."""
        log = self.paths.state_dir / "audit.log"
        wall0 = time.time() - (time.monotonic() - self.t_start)
        out = []
        try:
            lines = log.read_text().splitlines()[-200:]
        except OSError:
            return out
        for line in lines:
            try:
                j = json.loads(line)
            except json.JSONDecodeError:
                continue
            if j.get("event", "").startswith("conntrack-pressure") and _unix(j.get("time", "")) >= wall0 - 1:
                out.append({"event": j["event"], "time": j["time"], "summary": j.get("summary")})
        return out


def _unix(iso: str) -> float:
    try:
        return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
