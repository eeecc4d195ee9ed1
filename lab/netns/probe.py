#!/usr/bin/python3
"""TCP/UDP reachability probe for the namespace lab (stdlib only, bounded in time).

    probe.py serve --tcp 22,80,443 --udp 53,123 [--max-seconds 900]
        Listen on every address (IPv4 0.0.0.0 and IPv6 ::) of the namespace it runs in.
        TCP: echo what arrives, close at EOF. UDP: echo every datagram back, from the address
        it was sent to (so hosts with several addresses answer correctly). Prints "ready"
        once every socket is bound; exits on SIGTERM/SIGINT or after --max-seconds.

    probe.py connect --proto tcp|udp --dst ADDR --port N [--timeout 1.0] [--src ADDR]
        Exit 0 if the TCP handshake completes and a short payload comes back unchanged (UDP:
        an echo reply arrives), 1 otherwise. Prints one line: the outcome ("open", "timeout",
        "refused", "unreachable", "reset", "bad-echo", "error") and the elapsed time.
        Never runs longer than --timeout (plus process start).
        --mode (TCP only) says what "open" means when a real service, not the echo server,
        listens: echo (default: the payload comes back), http (a `GET /` gets "HTTP/1.x 200"),
        https (the same over TLS, certificate not verified: the lab's is self-signed),
        stream (after "PLAY 64000\n" at least one byte of the stream arrives: the lab's stream
        source, directly or through the load balancer's relay). A reply of the wrong kind is
        "bad-reply", none in time after the handshake "no-reply": lab errors, never a deny.

    probe.py batch [--threads 16] [--timeout 1.0] < probes.jsonl
        The same for many probes from one namespace at once (what the matrix runner uses, to
        start one process per namespace instead of one per probe): JSON lines in
        {"id", "proto", "dst", "port", "timeout"?, "src"?, "mode"?}, JSON lines out
        {"id", "outcome", "ms"}.

    probe.py churn --dst ADDR --port N --rate R --seconds S [--timeout 1.0] [--events]
        New HTTP connections at R per second for S seconds (a `GET /` each, then close; in
        threads, so a slow one does not hold the next back): the lab's "new connections per
        second" beside its streams, and its witness of which backend answers a VIP (the lab's
        load balancers name themselves in an X-Bulwark-LB header). With --events one JSON line
        per connection, {"t": CLOCK_MONOTONIC at its start, "outcome", "ms", "by": the header or
        null}; at the end {"summary": {"attempts", "open", "outcomes": {...}}}.
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import selectors
import signal
import socket
import struct
import sys
import time

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # not exported by Python 3.11
MAX_TCP_CONNS = 512
TCP_IDLE = 5.0  # seconds a connection may stay silent before the server closes it


def _ports(text: str) -> list[int]:
    out = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        if "-" in part:
            a, b = (int(x) for x in part.split("-", 1))
            if b - a > 64:
                raise SystemExit(f"probe: port range {part} too wide (max 65 ports)")
            out += range(a, b + 1)
        else:
            out.append(int(part))
    for p in out:
        if not 0 < p < 65536:
            raise SystemExit(f"probe: bad port {p}")
    return sorted(set(out))


# --------------------------------------------------------------------------------------------
# serve
# --------------------------------------------------------------------------------------------
def _listen(family, kind, port):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if kind == socket.SOCK_DGRAM:
        if family == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    s.bind(("0.0.0.0" if family == socket.AF_INET else "::", port))
    if kind == socket.SOCK_STREAM:
        s.listen(128)
    s.setblocking(False)
    return s


def _udp_echo(s: socket.socket):
    for _ in range(64):  # bounded per wake-up
        try:
            data, anc, _flags, peer = s.recvmsg(65535, socket.CMSG_SPACE(20))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        cmsg = []
        for level, kind, blob in anc:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(blob) >= 12:
                _ifindex, _spec, dst = struct.unpack("=I4s4s", blob[:12])
                cmsg = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, dst, bytes(4)))]
            elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(blob) >= 20:
                dst = blob[:16]
                cmsg = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, dst + struct.pack("=I", 0))]
        try:
            s.sendmsg([data], cmsg, 0, peer)
        except OSError:
            pass


def serve(args) -> int:
    tcp, udp = _ports(args.tcp), _ports(args.udp)
    if not tcp and not udp:
        print("probe: serve needs --tcp and/or --udp ports", file=sys.stderr)
        return 2
    stop = {"flag": False}

    def on_signal(_sig, _frm):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sel = selectors.DefaultSelector()
    families = [socket.AF_INET]
    if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):
        families.append(socket.AF_INET6)
    listeners = []
    for fam in families:
        for kind, ports in ((socket.SOCK_STREAM, tcp), (socket.SOCK_DGRAM, udp)):
            for p in ports:
                try:
                    s = _listen(fam, kind, p)
                except OSError as e:
                    if fam == socket.AF_INET6 and e.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                        continue
                    print(f"probe: cannot listen on {'tcp' if kind == socket.SOCK_STREAM else 'udp'}"
                          f"/{p} ({'v6' if fam == socket.AF_INET6 else 'v4'}): {e}", file=sys.stderr)
                    return 1
                listeners.append(s)
                sel.register(s, selectors.EVENT_READ, ("listen" if kind == socket.SOCK_STREAM else "udp"))
    print(f"ready tcp={','.join(map(str, tcp))} udp={','.join(map(str, udp))}", flush=True)

    conns: dict[socket.socket, float] = {}  # connection -> last activity
    deadline = time.monotonic() + args.max_seconds
    while not stop["flag"] and time.monotonic() < deadline:
        for key, _ev in sel.select(timeout=0.5):
            s, role = key.fileobj, key.data
            if role == "udp":
                _udp_echo(s)
            elif role == "listen":
                for _ in range(64):
                    try:
                        c, _peer = s.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    if len(conns) >= MAX_TCP_CONNS:
                        c.close()
                        continue
                    c.setblocking(False)
                    conns[c] = time.monotonic()
                    sel.register(c, selectors.EVENT_READ, "conn")
            else:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    try:
                        s.sendall(data[:65536])  # short payloads; a full buffer just fails
                        conns[s] = time.monotonic()
                        continue
                    except OSError:
                        pass
                sel.unregister(s)
                conns.pop(s, None)
                s.close()
        now = time.monotonic()
        for c in [c for c, t in conns.items() if now - t > TCP_IDLE]:
            sel.unregister(c)
            conns.pop(c, None)
            c.close()
    for s in list(conns) + listeners:
        s.close()
    return 0


# --------------------------------------------------------------------------------------------
# connect
# --------------------------------------------------------------------------------------------
def _classify(e: OSError) -> str:
    if isinstance(e, (socket.timeout, TimeoutError)) or e.errno in (errno.ETIMEDOUT, errno.EAGAIN):
        return "timeout"
    if e.errno == errno.ECONNREFUSED:
        return "refused"
    if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
        return "unreachable"
    if e.errno in (errno.ECONNRESET, errno.EPIPE):
        return "reset"
    return f"error({errno.errorcode.get(e.errno, e.errno)})"


MODES = ("echo", "http", "https", "stream")


def _recv_until(s: socket.socket, deadline: float, enough) -> bytes:
    """What arrives until enough(got), EOF, or the deadline (socket.timeout)."""
    got = b""
    while not enough(got):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        s.settimeout(left)
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def _service_reply(s: socket.socket, mode: str, deadline: float, dst: str) -> str:
    """After the TCP handshake: talk to a real service the way `mode` says -> outcome."""
    if mode == "https":
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.settimeout(max(0.01, deadline - time.monotonic()))
        s = ctx.wrap_socket(s, server_hostname=None)
    if mode in ("http", "https"):
        s.sendall(f"GET / HTTP/1.0\r\nHost: {dst}\r\nUser-Agent: bulwark-probe\r\n\r\n".encode())
        want = 12
    else:
        s.sendall(b"PLAY 64000\n")
        want = 1
    got = _recv_until(s, deadline, lambda got: len(got) >= want)
    if mode == "stream":
        return "open" if got else "bad-reply"
    return "open" if re.match(rb"^HTTP/1\.[01] 200", got) else "bad-reply"


def probe_once(proto: str, dst: str, port: int, timeout: float, src: str | None = None,
               mode: str = "echo"):
    """One probe -> (outcome, elapsed ms). Never takes longer than `timeout`."""
    start = time.monotonic()
    deadline = start + max(0.05, timeout)
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    payload = b"bulwark-probe " + os.urandom(8).hex().encode() + b"\n"
    outcome = "error"
    s = socket.socket(family, kind)
    try:
        if src:
            s.bind((src, 0))
        if kind == socket.SOCK_STREAM:
            s.settimeout(deadline - time.monotonic())
            s.connect((dst, port))
            if mode != "echo":
                try:
                    outcome = _service_reply(s, mode, deadline, dst)
                except (socket.timeout, TimeoutError):
                    outcome = "no-reply"  # the handshake completed: not a firewall drop
                return outcome, (time.monotonic() - start) * 1000
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout()
                s.settimeout(left)
                chunk = s.recv(len(payload) - len(got))
                if not chunk:
                    break
                got += chunk
            outcome = "open" if got == payload else "bad-echo"
        else:
            s.connect((dst, port))
            # resend a few times inside the deadline: the first datagram may wait for ARP/ND
            interval = max(0.05, timeout / 4)
            outcome = "timeout"
            while time.monotonic() < deadline and outcome != "open":
                s.send(payload)
                wait_until = min(deadline, time.monotonic() + interval)
                while True:
                    left = wait_until - time.monotonic()
                    if left <= 0:
                        break
                    s.settimeout(left)
                    try:
                        data = s.recv(65535)
                    except socket.timeout:
                        break
                    if data == payload:
                        outcome = "open"
                        break
    except OSError as e:
        outcome = _classify(e)
    finally:
        s.close()
    return outcome, (time.monotonic() - start) * 1000


def connect(args) -> int:
    outcome, ms = probe_once(args.proto, args.dst, args.port, args.timeout, args.src, args.mode)
    if not args.quiet:
        print(f"{outcome} {args.proto} {args.dst} {args.port} {ms:.1f}ms", flush=True)
    return 0 if outcome == "open" else 1


def batch(args) -> int:
    """Many probes from one namespace, in parallel threads: JSON lines in on stdin
    ({"id", "proto", "dst", "port", "timeout"?, "src"?}), one JSON line out per probe
    ({"id", "outcome", "ms"}). At most 4096 probes; each bounded by its timeout."""
    import concurrent.futures as cf
    import json
    reqs = []
    for line in sys.stdin:
        if line.strip():
            reqs.append(json.loads(line))
        if len(reqs) > 4096:
            print("probe: batch: more than 4096 probes", file=sys.stderr)
            return 2
    for r in reqs:
        if (r.get("proto") not in ("tcp", "udp") or not 0 < int(r.get("port", 0)) < 65536
                or r.get("mode", "echo") not in MODES):
            print(f"probe: batch: bad request {r}", file=sys.stderr)
            return 2

    def one(r):
        t = min(float(r.get("timeout", args.timeout)), 30.0)
        return r.get("id"), probe_once(r["proto"], r["dst"], int(r["port"]), t, r.get("src"),
                                       r.get("mode", "echo"))

    with cf.ThreadPoolExecutor(max_workers=max(1, min(args.threads, 64))) as ex:
        for rid, (outcome, ms) in ex.map(one, reqs):
            print(json.dumps({"id": rid, "outcome": outcome, "ms": round(ms, 1)}), flush=True)
    return 0


def _http_by(dst: str, port: int, timeout: float):
    """One new connection, `GET /`: (outcome, ms, X-Bulwark-LB of the answer or None)."""
    start = time.monotonic()
    deadline = start + max(0.05, timeout)
    s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_STREAM)
    outcome, by = "error", None
    try:
        s.settimeout(timeout)
        s.connect((dst, port))
        s.sendall(f"GET / HTTP/1.0\r\nHost: {dst}\r\nUser-Agent: bulwark-probe\r\n\r\n".encode())
        got = _recv_until(s, deadline, lambda got: b"\r\n\r\n" in got or len(got) >= 16384)
        outcome = "open" if re.match(rb"^HTTP/1\.[01] 200", got) else "bad-reply"
        m = re.search(rb"\r\nX-Bulwark-LB: *([A-Za-z0-9._-]{1,64})", got, re.I)
        by = m.group(1).decode() if m else None
    except (socket.timeout, TimeoutError):
        outcome = "timeout"
    except OSError as e:
        outcome = _classify(e)
    finally:
        s.close()
    return outcome, (time.monotonic() - start) * 1000, by


def churn(args) -> int:
    import concurrent.futures as cf
    import json
    import threading
    if not (0 < args.rate <= 2000 and 0 < args.seconds <= 3600 and 0 < args.timeout <= 30):
        print("probe: churn: --rate 1..2000, --seconds 1..3600, --timeout up to 30", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()
    outcomes: dict = {}

    def one():
        t0 = time.monotonic()  # when it really started (a busy pool may start it late)
        outcome, ms, by = _http_by(args.dst, args.port, args.timeout)
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if args.events:
                print(json.dumps({"t": round(t0, 4), "outcome": outcome, "ms": round(ms, 1), "by": by}), flush=True)

    period = 1.0 / args.rate
    start = time.monotonic()
    n = 0
    threads = max(4, min(64, int(args.rate * args.timeout) + 4))
    with cf.ThreadPoolExecutor(max_workers=threads) as ex:
        while not stop.is_set():
            due = start + n * period
            now = time.monotonic()
            if due - start >= args.seconds:
                break
            if due > now:
                stop.wait(due - now)
                continue
            ex.submit(one)
            n += 1
    with lock:
        print(json.dumps({"summary": {"attempts": n, "open": outcomes.get("open", 0), "outcomes": outcomes}}),
              flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="TCP/UDP reachability probe for the namespace lab")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="listen and echo on TCP and UDP ports (all addresses)")
    s.add_argument("--tcp", default="", help="comma-separated ports or ranges (max 65 per range)")
    s.add_argument("--udp", default="", help="comma-separated ports or ranges (max 65 per range)")
    s.add_argument("--max-seconds", type=float, default=900.0,
                   help="exit after this long even if nobody stops the server (default 900)")
    c = sub.add_parser("connect", help="one probe; exit 0 if it got its echo back")
    c.add_argument("--proto", choices=("tcp", "udp"), required=True)
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--timeout", type=float, default=1.0)
    c.add_argument("--src", help="source address to bind")
    c.add_argument("--mode", choices=MODES, default="echo",
                   help="what counts as open over TCP (default echo: the payload comes back)")
    c.add_argument("--quiet", action="store_true")
    b = sub.add_parser("batch", help="many probes from stdin (JSON lines), in parallel")
    b.add_argument("--timeout", type=float, default=1.0, help="default per probe")
    b.add_argument("--threads", type=int, default=16)
    ch = sub.add_parser("churn", help="new HTTP connections at a rate, which backend answered each")
    ch.add_argument("--dst", required=True)
    ch.add_argument("--port", type=int, default=80)
    ch.add_argument("--rate", type=float, default=20, help="new connections per second (default 20)")
    ch.add_argument("--seconds", type=float, default=60)
    ch.add_argument("--timeout", type=float, default=1.0)
    ch.add_argument("--events", action="store_true", help="one JSON line per connection")
    a = ap.parse_args(argv)
    return {"serve": serve, "connect": connect, "batch": batch, "churn": churn}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
