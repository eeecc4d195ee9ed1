"""A policy's `expect:` assertions as probes through the namespace lab: which namespace sends
what to which address and port, and what it should observe; the table of results.

    pl = probe_plan.plan(topology.load_model(policy, ctl), expect_open=False)
    ... run pl.probes (probe.py batch), set each probe's .outcome ...
    probe_plan.print_table(pl, False)

Used by `lab/lab matrix` (against the running lab) and by the firewall matrix tests (a lab of
their own per run). `Probe.outcome` is probe.py's outcome line ("open 3ms", "timeout ...").
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import topology  # lab/netns/topology.py

# probe.py outcomes that mean "no connection", the way a drop or a reject shows up. Anything
# else that is not "open" (bad-echo, probe crashed, bind failed ...) is a lab error, never a deny.
CLOSED_OUTCOMES = {"timeout", "refused", "unreachable", "reset"}


# --------------------------------------------------------------------------------------------
# planning: expectations -> probes
# --------------------------------------------------------------------------------------------
@dataclass
class End:
    label: str
    role: str | None          # namespace role ("h:web1", "inet", "gw"); None for a VIP
    addrs: list
    kind: str = "host"        # host | internet | vip | gateway
    segment: str | None = None


@dataclass
class Probe:
    where: str
    frm: str
    to: str
    service: str
    proto: str
    port: int
    src_role: str
    src_addr: str
    dst_addr: str
    expect_open: bool
    note: str = ""
    outcome: str = "not-run"

    @property
    def observed(self) -> str:
        """open | closed (what a firewall's drop or reject looks like) | error (the lab broke)."""
        word = self.outcome.split()[0]
        if word == "open":
            return "open"
        if word in CLOSED_OUTCOMES:
            return "closed"
        return "error"

    @property
    def ok(self) -> bool:
        return self.observed == ("open" if self.expect_open else "closed")


@dataclass
class Skip:
    where: str
    frm: str
    to: str
    service: str
    verdict: str
    reason: str
    vpn: bool = False


@dataclass
class Plan:
    probes: list[Probe] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    tcp: set = field(default_factory=set)
    udp: set = field(default_factory=set)
    server_roles: set = field(default_factory=set)


class Unprobeable(Exception):
    def __init__(self, reason, vpn=False):
        super().__init__(reason)
        self.vpn = vpn


def ports_of(model, service: str) -> list[tuple[str, int]]:
    """A service reference -> [(proto, port)]; ranges give their first and last port."""
    if service == "any":
        raise Unprobeable("service 'any' has no port to probe")
    specs = model.services.get(service)
    if specs is None:
        if re.match(r"^[a-z0-9]+(/[0-9]+(-[0-9]+)?)?$", service):
            specs = [service]
        else:
            raise Unprobeable(f"unknown service '{service}'")
    out, other = [], []
    for spec in specs:
        proto, _, ports = spec.partition("/")
        if proto not in ("tcp", "udp"):
            other.append(spec)
            continue
        if not ports:
            raise Unprobeable(f"{spec}: no port to probe")
        a, _, b = ports.partition("-")
        for p in sorted({int(a), int(b or a)}):
            out.append((proto, p))
    if not out:
        raise Unprobeable(f"only {', '.join(other)}: the probe speaks tcp and udp")
    return out


def resolve(model, text: str, side: str) -> list[End]:
    if text == "any":
        raise Unprobeable("'any' names no single place to probe")
    if text == "internet":
        return [End("internet", "inet", [model.inet4, model.inet6], "internet")]
    if text in model.vpn_groups:
        raise Unprobeable(f"VPN group '{text}': needs the VPN lab", vpn=True)
    if text in model.hosts:
        h = model.hosts[text]
        return [End(text, "h:" + text, list(h.addrs), "host", h.segment)]
    segs = None
    if text in model.segments:
        segs = [text]
    elif text in model.zones:
        segs = model.zones[text]
    if segs is not None:
        ends = [End(f"{text}/{h}", "h:" + h, list(model.hosts[h].addrs), "host", s)
                for s in segs for h in model.segments[s].hosts if not model.hosts[h].synthetic]
        if not ends:
            raise Unprobeable(f"'{text}' has no hosts to probe")
        return ends
    a = topology._literal(text)
    if a is not None:
        if a in model.vips:
            if side == "from":
                raise Unprobeable(f"{a} is a DNAT VIP: nothing sends from it")
            seg = model.segment_of(a)
            return [End(text, None, [a], "vip", seg.name if seg else None)]
        h = model.host_by_addr(a)
        if h is not None:
            return [End(text, "h:" + h.name, [a], "host", h.segment)]
        if a in model.gateway_addrs():
            return [End(text, "gw", [a], "gateway")]
        if a in model.inet_addrs():
            return [End(text, "inet", [a], "internet")]
        if topology._in_vpn_pool(model, a):
            raise Unprobeable(f"{a} is in a VPN pool: needs the VPN lab", vpn=True)
        raise Unprobeable(f"nothing in the lab owns {a}")
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise Unprobeable(f"unknown endpoint '{text}'") from None
    ends = [End(f"{text}/{h.name}", "h:" + h.name, [x for x in h.addrs if x in net], "host", h.segment)
            for h in model.hosts.values() if any(x in net for x in h.addrs)]
    if not ends:
        raise Unprobeable(f"no host of the lab lies in {net}")
    return ends


def plan(model, expect_open: bool) -> Plan:
    pl = Plan()
    # servers listen on every port any service names (ranges: first and last)
    for name in model.services:
        try:
            for proto, port in ports_of(model, name):
                (pl.tcp if proto == "tcp" else pl.udp).add(port)
        except Unprobeable:
            pass
    for i, e in enumerate(model.expectations, 1):
        where = e.get("__where__", f"expect[{i}]")
        frm, to, svc = str(e.get("from", "")), str(e.get("to", "")), str(e.get("service", ""))
        verdict = str(e.get("verdict", "deny"))
        try:
            ports = ports_of(model, svc)
            srcs, dsts = resolve(model, frm, "from"), resolve(model, to, "to")
        except Unprobeable as u:
            pl.skips.append(Skip(where, frm, to, svc, verdict, str(u), u.vpn))
            continue
        before = len(pl.probes)
        for s in srcs:
            for d in dsts:
                for sa in s.addrs:
                    for da in d.addrs:
                        if sa.version != da.version:
                            continue
                        note = ""
                        want = verdict == "allow"
                        if expect_open:
                            want = d.kind != "vip"
                        if d.kind == "vip":
                            note = "VIP: DNAT" if not expect_open else "VIP without DNAT: nobody owns it"
                        elif s.segment and s.segment == d.segment:
                            note = "same segment: switched, the gateway is not on the path"
                        for proto, port in ports:
                            pl.probes.append(Probe(where, s.label, d.label, svc, proto, port, s.role,
                                                   str(sa), str(da), want, note))
                            (pl.tcp if proto == "tcp" else pl.udp).add(port)
                        if d.role:
                            pl.server_roles.add(d.role)
        if len(pl.probes) == before:
            pl.skips.append(Skip(where, frm, to, svc, verdict,
                                 "no address family in common between the two ends"))
    # servers: every host (also for the VIP's DNAT target) and the internet
    pl.server_roles |= {"h:" + h for h in model.hosts} | {"inet"}
    return pl


def print_table(pl: Plan, expect_open: bool):
    rows = [("WHERE", "FROM", "TO", "SERVICE", "PORT", "EXPECTED", "OBSERVED", "RESULT", "NOTE")]
    for p in pl.probes:
        words = {"open": "open", "closed": "closed", "error": "ERROR"}
        if not expect_open:
            words = {"open": "allow", "closed": "deny", "error": "ERROR"}
        exp = words["open" if p.expect_open else "closed"]
        obs_word = words[p.observed]
        detail = p.outcome if p.observed != "open" else p.outcome.split()[-1]
        ok = "OK" if p.ok else "MISMATCH"
        if p.outcome == "not-run":
            ok = "NOT-RUN"
        to = p.to if p.to == p.dst_addr else f"{p.to} ({p.dst_addr})"
        frm = p.frm if p.frm == p.src_addr else f"{p.frm} ({p.src_addr})"
        rows.append((p.where, frm, to, p.service, f"{p.proto}/{p.port}", exp,
                     f"{obs_word} [{detail}]", ok, p.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    for s in pl.skips:
        print(f"SKIP  {s.where}  {s.frm} -> {s.to} {s.service} ({s.verdict}): {s.reason}")

