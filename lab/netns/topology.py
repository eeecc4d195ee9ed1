#!/usr/bin/python3
"""Real-namespace topology for a Bulwark policy: the gateway, its segments, hosts and an internet.

    topology.py up POLICY --prefix P [--ctl BULWARKCTL] [--json]
    topology.py down --prefix P
    topology.py status --prefix P [--json]

Everything lives in network namespaces named "P-..."; nothing is created in, or changed in,
the namespace this runs in (every `ip` call is `ip -n NS ...`, veth peers are created directly
in their target namespace):

    P-gw              the gateway: ip_forward on (v4 and v6). One veth per segment, named as
                      Bulwark names the segment's interface ("<trunk>.<vlan>", e.g. "eth1.10",
                      or the segment's plain `interface`), carrying the segment's gateway
                      addresses; the uplink (gateway.uplink, e.g. "eth0") on the transfer net
                      with a default route to P-inet.
    P-s-<segment>     a Linux bridge "br0" joining the gateway's veth ("gw") and the hosts.
    P-h-<host>        one per host: "eth0" on the segment bridge, the host's addresses,
                      default routes via the segment gateway (v4 and v6 where present).
    P-a-<n>           an address literal of an `expect:` entry that lies inside a segment but
                      belongs to no host gets a namespace of its own, like a host.
    P-inet            the internet: "eth0" on the transfer net (198.51.100.7 and
                      2001:db8:ffff:100::7 by default), plus every address literal of the
                      expectations that lies outside the segments; routes to every segment
                      subnet and every DNAT VIP via the gateway. Routes to the private
                      segments too, on purpose: a neighbour on the uplink can send anything,
                      and in the matrix it must be the firewall, not routing, that denies.

What the 802.1Q trunk really does (tags on "eth1") is the VLAN module's business under QEMU; this
kernel has no 8021q, so here each "eth1.<vlan>" is a plain veth with that name.

The segments come from `bulwarkctl --json show POLICY` (validated, canonical); what that JSON does
not carry (gateway uplink/trunk, host addresses, services, DNAT VIPs, VPN groups, expectations)
is read from the YAML with PyYAML (Debian's python3-yaml), all scalars as strings.

`up` first tears down leftovers of the same prefix. `down` finds every namespace named "P-*",
ends the processes still inside them (by pid; they can only have been started there by the lab)
and deletes them, so it also cleans up after a crash. Prefixes are short ([A-Za-z][A-Za-z0-9]{0,11}),
e.g. "bw" + pid; interface names do not contain the prefix, so its length never hits IFNAMSIZ.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CTL = REPO / "build" / "dev" / "gateway" / "bulwarkctl"
PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,11}$")
IFNAME_RE = re.compile(r"^[^/:\s]{1,15}$")
CMD_TIMEOUT = 30.0  # seconds, for any single ip/bulwarkctl invocation

DEFAULT_TRANSFER4 = "198.51.100.0/24"
DEFAULT_TRANSFER6 = "2001:db8:ffff:100::/64"
GW_HOST_ID = 1      # gateway's address on the transfer net: .1 / ::1
INET_HOST_ID = 7    # internet's address on the transfer net: .7 / ::7


class LabError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------
@dataclass
class Family:
    subnet: ipaddress._BaseNetwork
    gateway: ipaddress._BaseAddress | None


@dataclass
class Segment:
    name: str
    zone: str
    ifname: str          # the gateway-side interface name, as Bulwark names it
    vlan: int | None
    mtu: int
    v4: Family | None
    v6: Family | None
    hosts: list[str] = field(default_factory=list)

    def families(self):
        return [f for f in (self.v4, self.v6) if f is not None]

    def contains(self, addr) -> bool:
        return any(addr.version == f.subnet.version and addr in f.subnet for f in self.families())


@dataclass
class Host:
    name: str
    segment: str
    addrs: list
    synthetic: bool = False  # an expectation's address literal, not a policy host
    key: str = ""            # namespace suffix


@dataclass
class Model:
    policy: str
    gateway_name: str
    uplink: str
    trunk: str
    segments: dict[str, Segment]
    hosts: dict[str, Host]
    zones: dict[str, list[str]]            # zone -> segment names
    services: dict[str, list[str]]         # service -> ["tcp/80", "udp/1000-2000", "icmp"]
    vips: list                             # DNAT VIP addresses
    vpn_groups: dict[str, str]             # group -> pool
    expectations: list[dict]               # raw, as strings
    transfer4: ipaddress.IPv4Network
    transfer6: ipaddress.IPv6Network
    inet_extra: list = field(default_factory=list)  # extra addresses P-inet carries

    @property
    def gw_uplink4(self):
        return self.transfer4[GW_HOST_ID]

    @property
    def gw_uplink6(self):
        return self.transfer6[GW_HOST_ID]

    @property
    def inet4(self):
        return self.transfer4[INET_HOST_ID]

    @property
    def inet6(self):
        return self.transfer6[INET_HOST_ID]

    def segment_of(self, addr) -> Segment | None:
        for s in self.segments.values():
            if s.contains(addr):
                return s
        return None

    def host_by_addr(self, addr) -> Host | None:
        for h in self.hosts.values():
            if addr in h.addrs:
                return h
        return None

    def gateway_addrs(self) -> list:
        out = [self.gw_uplink4, self.gw_uplink6]
        for s in self.segments.values():
            out += [f.gateway for f in s.families() if f.gateway is not None]
        return out

    def inet_addrs(self) -> list:
        return [self.inet4, self.inet6] + list(self.inet_extra)


def ns_names(model: Model, prefix: str) -> dict[str, str]:
    """role -> namespace name. Roles: gw, inet, s:<segment>, h:<host>."""
    out = {"gw": f"{prefix}-gw", "inet": f"{prefix}-inet"}
    for s in model.segments:
        out["s:" + s] = f"{prefix}-s-{s}"
    for h in model.hosts.values():
        out["h:" + h.name] = f"{prefix}-{h.key}"
    return out


def _run(argv, *, input=None, timeout=CMD_TIMEOUT, check=True) -> subprocess.CompletedProcess:
    try:
        cp = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout:.0f}s: {' '.join(map(str, argv))}") from e
    if check and cp.returncode != 0:
        raise LabError(f"failed ({cp.returncode}): {' '.join(map(str, argv))}\n{cp.stderr.strip()}")
    return cp


def _ctl_path(ctl: str | None) -> str:
    c = ctl or os.environ.get("BULWARK_CTL") or str(DEFAULT_CTL)
    if not (os.path.isfile(c) and os.access(c, os.X_OK)):
        found = shutil.which(c)
        if not found:
            raise LabError(f"bulwarkctl not found at '{c}' (use --ctl or $BULWARK_CTL)")
        c = found
    return c


def _yaml_docs(policy: Path) -> list[dict]:
    try:
        import yaml  # Debian python3-yaml
    except ImportError as e:  # pragma: no cover
        raise LabError("PyYAML missing: apt-get install python3-yaml (use /usr/bin/python3)") from e
    files = [policy] if policy.is_file() else sorted(
        p for p in policy.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
    docs = []
    for f in files:
        # BaseLoader: every scalar stays a string (no YAML 1.1 booleans, no sexagesimal
        # integers out of IPv6 addresses like 1:2:3:4:5:6:7:8).
        text = f.read_text()
        d = yaml.load(text, Loader=yaml.BaseLoader)
        if not isinstance(d, dict):
            continue
        # remember where each expectation was written, for the matrix's report
        node = yaml.compose(text, Loader=yaml.BaseLoader)
        lines = []
        for k, v in getattr(node, "value", []):
            if getattr(k, "value", None) == "expect" and isinstance(v, yaml.SequenceNode):
                lines = [item.start_mark.line + 1 for item in v.value]
        for e, line in zip(_as_list(d.get("expect")), lines):
            if isinstance(e, dict):
                e["__where__"] = f"{f.name}:{line}"
        docs.append(d)
    return docs


def _as_list(v) -> list:
    if v is None or v == "":
        return []
    return v if isinstance(v, list) else [v]


def _literal(text: str):
    """An address literal (or a /32, /128 prefix) -> ip_address; anything else -> None."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        n = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return n.network_address if n.num_addresses == 1 else None


def load_model(policy: str, ctl: str | None = None, transfer4: str = DEFAULT_TRANSFER4,
               transfer6: str = DEFAULT_TRANSFER6) -> Model:
    ppath = Path(policy).resolve()
    if not ppath.exists():
        raise LabError(f"{policy}: no such file or directory")
    cp = _run([_ctl_path(ctl), "--json", "show", str(ppath)], check=False)
    try:
        shown = json.loads(cp.stdout)
    except json.JSONDecodeError:
        shown = None
    if cp.returncode != 0 or not isinstance(shown, dict):
        raise LabError(f"`bulwarkctl --json show {policy}` failed ({cp.returncode}):\n"
                       f"{cp.stdout.strip()}\n{cp.stderr.strip()}")

    docs = _yaml_docs(ppath)
    gw = next((d["gateway"] for d in docs if isinstance(d.get("gateway"), dict)), {})
    gw = shown.get("gateway", gw) or {}  # prefer bulwarkctl's view if it ever prints one
    uplink, trunk = gw.get("uplink", ""), gw.get("trunk", "")
    if not uplink:
        raise LabError("the policy has no gateway.uplink")

    def merged(key):
        out = []
        for d in docs:
            out += [x for x in _as_list(d.get(key)) if isinstance(x, dict)]
        return out

    yaml_hosts = {h.get("name"): h for h in merged("hosts")}
    segments: dict[str, Segment] = {}
    hosts: dict[str, Host] = {}
    for js in shown.get("segments", []):
        fams = {}
        for fam in ("ipv4", "ipv6"):
            if fam in js:
                g = js[fam].get("gateway") or None
                fams[fam] = Family(ipaddress.ip_network(js[fam]["subnet"], strict=False),
                                   ipaddress.ip_address(g) if g else None)
        vlan = js.get("vlan")
        if vlan is not None:
            if not trunk:
                raise LabError(f"segment {js['name']} has a VLAN but the gateway has no trunk")
            ifname = f"{trunk}.{vlan}"
        else:
            ifname = js.get("interface", "")
        if not IFNAME_RE.match(ifname):
            raise LabError(f"segment {js['name']}: bad interface name '{ifname}'")
        seg = Segment(js["name"], js.get("zone", js["name"]), ifname, vlan, int(js.get("mtu", 1500)),
                      fams.get("ipv4"), fams.get("ipv6"))
        segments[seg.name] = seg
        for hj in js.get("hosts", []):
            name = hj["name"] if isinstance(hj, dict) else hj
            src = hj if isinstance(hj, dict) and "addresses" in hj else yaml_hosts.get(name, {})
            addrs = [ipaddress.ip_address(a) for a in _as_list(src.get("addresses"))]
            seg.hosts.append(name)
            hosts[name] = Host(name, seg.name, addrs, key=f"h-{name}")

    zones: dict[str, list[str]] = {}
    for s in segments.values():
        zones.setdefault(s.zone, []).append(s.name)

    services = {}
    for s in merged("services"):
        services[s.get("name")] = [str(p) for p in _as_list(s.get("ports"))]

    vips = []
    for d in docs:
        nat = d.get("nat")
        if isinstance(nat, dict):
            for r in _as_list(nat.get("dnat")):
                if isinstance(r, dict) and r.get("vip"):
                    a = ipaddress.ip_address(r["vip"])
                    if a not in vips:
                        vips.append(a)

    vpn_groups = {}
    for d in docs:
        vpn = d.get("vpn")
        if isinstance(vpn, dict):
            for g in _as_list(vpn.get("groups")):
                if isinstance(g, dict):
                    vpn_groups[g.get("name")] = g.get("pool", "")

    model = Model(str(ppath), gw.get("name", ""), uplink, trunk, segments, hosts, zones, services,
                  vips, vpn_groups, merged("expect"),
                  ipaddress.IPv4Network(transfer4), ipaddress.IPv6Network(transfer6))

    # The transfer nets must not collide with anything in the policy.
    for t in (model.transfer4, model.transfer6):
        for s in segments.values():
            for f in s.families():
                if f.subnet.version == t.version and f.subnet.overlaps(t):
                    raise LabError(f"transfer net {t} overlaps segment {s.name} ({f.subnet}); "
                                   "pick another with --transfer4/--transfer6")
        for g, pool in vpn_groups.items():
            try:
                p = ipaddress.ip_network(pool, strict=False)
            except ValueError:
                continue
            if p.version == t.version and p.overlaps(t):
                raise LabError(f"transfer net {t} overlaps VPN pool {g} ({p})")

    # Address literals in expectations: inside a segment but nobody's -> a namespace of its
    # own; outside every segment (and not a VIP / a VPN pool address) -> on P-inet.
    n = 0
    for e in model.expectations:
        for side in ("from", "to"):
            a = _literal(str(e.get(side, "")))
            if a is None or a in vips or model.host_by_addr(a) or a in model.gateway_addrs():
                continue
            if a in model.inet_addrs():
                continue
            seg = model.segment_of(a)
            if seg is not None:
                n += 1
                h = Host(f"@{a}", seg.name, [a], synthetic=True, key=f"a-{n}")
                hosts[h.name] = h
                seg.hosts.append(h.name)
            elif not _in_vpn_pool(model, a):
                model.inet_extra.append(a)
    return model


def _in_vpn_pool(model: Model, a) -> bool:
    for pool in model.vpn_groups.values():
        try:
            if a in ipaddress.ip_network(pool, strict=False):
                return True
        except ValueError:
            pass
    return False


# --------------------------------------------------------------------------------------------
# namespaces
# --------------------------------------------------------------------------------------------
def check_prefix(prefix: str) -> str:
    if not PREFIX_RE.match(prefix):
        raise LabError(f"bad prefix '{prefix}': want [A-Za-z][A-Za-z0-9]{{0,11}}, e.g. bw{os.getpid()}")
    return prefix


def list_namespaces(prefix: str) -> list[str]:
    cp = _run(["ip", "-j", "netns", "list"], check=False)
    names = []
    try:
        names = [n["name"] for n in json.loads(cp.stdout or "[]")]
    except (json.JSONDecodeError, KeyError, TypeError):
        names = [line.split()[0] for line in cp.stdout.splitlines() if line.strip()]
    if os.path.isdir("/run/netns"):  # also half-created ones `ip netns list` may miss
        names += os.listdir("/run/netns")
    return sorted({n for n in names if n.startswith(prefix + "-")})


def ns_pids(ns: str) -> list[int]:
    cp = _run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in cp.stdout.split() if x.isdigit()]


def _ip_batch(ns: str | None, lines: list[str]):
    argv = ["ip"] + (["-n", ns] if ns else []) + ["-b", "-"]
    _run(argv, input="\n".join(lines) + "\n")


def _ns_sh(ns: str, script: str):
    _run(["ip", "netns", "exec", ns, "sh", "-c", script])


def down(prefix: str, quiet: bool = False) -> list[str]:
    """Remove every namespace named "<prefix>-*", ending the processes left inside first."""
    check_prefix(prefix)
    names = list_namespaces(prefix)
    pids = sorted({p for ns in names for p in ns_pids(ns)} - {os.getpid()})
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
        live = [p for p in pids if _alive(p)]
        if not live:
            break
        for p in live:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(p) for p in live):
            time.sleep(0.05)
    if names:
        cp = _run(["ip", "-force", "-b", "-"], input="".join(f"netns del {n}\n" for n in names),
                  check=False)
        left = list_namespaces(prefix)
        if left:
            raise LabError(f"could not delete namespaces {left}: {cp.stderr.strip()}")
    if not quiet and names:
        print(f"down: removed {len(names)} namespaces {prefix}-*", file=sys.stderr)
    return names


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _plen(seg: Segment, a) -> int:
    for f in seg.families():
        if f.subnet.version == a.version and a in f.subnet:
            return f.subnet.prefixlen
    return 32 if a.version == 4 else 128


def _addr_cmd(a, plen: int, dev: str) -> str:
    return f"addr add {a}/{plen} dev {dev}" + (" nodad" if a.version == 6 else "")


def up(model: Model, prefix: str) -> dict[str, str]:
    """Build the topology; returns role -> namespace. Tears down leftovers of the prefix first."""
    check_prefix(prefix)
    down(prefix, quiet=True)
    ns = ns_names(model, prefix)
    try:
        _ip_batch(None, [f"netns add {n}" for n in ns.values()])
        # No DAD anywhere (addresses usable at once, link-locals too); the gateway forwards.
        nodad = ("for f in all default; do echo 0 > /proc/sys/net/ipv6/conf/$f/accept_dad; "
                 "echo 0 > /proc/sys/net/ipv6/conf/$f/accept_ra; done")
        for role, n in ns.items():
            extra = ""
            if role == "gw":
                extra = ("; echo 1 > /proc/sys/net/ipv4/ip_forward"
                         "; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding")
            _ns_sh(n, nodad + extra)

        gw, inet = ns["gw"], ns["inet"]
        # gateway: uplink to the internet, one veth per segment
        lines = ["link set lo up",
                 f"link add {model.uplink} type veth peer name eth0 netns {inet}",
                 _addr_cmd(model.gw_uplink4, model.transfer4.prefixlen, model.uplink),
                 _addr_cmd(model.gw_uplink6, model.transfer6.prefixlen, model.uplink),
                 f"link set {model.uplink} up"]
        for s in model.segments.values():
            sns = ns["s:" + s.name]
            lines.append(f"link add {s.ifname} mtu {s.mtu} type veth peer name gw mtu {s.mtu} "
                         f"netns {sns}")
            for f in s.families():
                if f.gateway is not None:
                    lines.append(_addr_cmd(f.gateway, f.subnet.prefixlen, s.ifname))
            lines.append(f"link set {s.ifname} up")
        lines += [f"route add default via {model.inet4} dev {model.uplink}",
                  f"route add default via {model.inet6} dev {model.uplink}"]
        _ip_batch(gw, lines)

        # segment bridges and their hosts
        for s in model.segments.values():
            sns = ns["s:" + s.name]
            lines = ["link set lo up", "link add br0 type bridge stp_state 0 mcast_snooping 0",
                     "link set gw master br0", "link set gw up"]
            for i, hname in enumerate(s.hosts):
                lines += [f"link add p{i} mtu {s.mtu} type veth peer name eth0 mtu {s.mtu} "
                          f"netns {ns['h:' + hname]}",
                          f"link set p{i} master br0", f"link set p{i} up"]
            lines += [f"link set br0 mtu {s.mtu}", "link set br0 up"]
            _ip_batch(sns, lines)
            for hname in s.hosts:
                h = model.hosts[hname]
                lines = ["link set lo up", "link set eth0 up"]
                lines += [_addr_cmd(a, _plen(s, a), "eth0") for a in h.addrs]
                for f in s.families():
                    if f.gateway is not None and any(a.version == f.subnet.version for a in h.addrs):
                        lines.append(f"route add default via {f.gateway} dev eth0")
                _ip_batch(ns["h:" + hname], lines)

        # the internet
        lines = ["link set lo up", "link set eth0 up",
                 _addr_cmd(model.inet4, model.transfer4.prefixlen, "eth0"),
                 _addr_cmd(model.inet6, model.transfer6.prefixlen, "eth0")]
        lines += [_addr_cmd(a, 32 if a.version == 4 else 128, "eth0") for a in model.inet_extra]
        dests = []
        for s in model.segments.values():
            dests += [f.subnet for f in s.families()]
        dests += [ipaddress.ip_network(v) for v in model.vips]
        seen = set()
        for d in dests:
            if d in seen:
                continue
            seen.add(d)
            via = model.gw_uplink4 if d.version == 4 else model.gw_uplink6
            lines.append(f"route add {d} via {via} dev eth0")
        _ip_batch(inet, lines)
    except BaseException:
        try:
            down(prefix, quiet=True)
        except LabError as e:
            print(f"cleanup after failed up: {e}", file=sys.stderr)
        raise
    return ns


def describe(model: Model, prefix: str) -> dict:
    ns = ns_names(model, prefix)
    return {
        "prefix": prefix,
        "policy": model.policy,
        "gateway": {"netns": ns["gw"], "uplink": model.uplink,
                    "addresses": [str(model.gw_uplink4), str(model.gw_uplink6)]},
        "internet": {"netns": ns["inet"],
                     "addresses": [str(a) for a in model.inet_addrs()]},
        "segments": [{"name": s.name, "netns": ns["s:" + s.name], "interface": s.ifname,
                      "vlan": s.vlan, "mtu": s.mtu,
                      "gateways": [str(f.gateway) for f in s.families() if f.gateway]}
                     for s in model.segments.values()],
        "hosts": [{"name": h.name, "netns": ns["h:" + h.name], "segment": h.segment,
                   "addresses": [str(a) for a in h.addrs], "synthetic": h.synthetic}
                  for h in model.hosts.values()],
        "vips": [str(v) for v in model.vips],
    }


def status(prefix: str, as_json: bool) -> int:
    names = list_namespaces(prefix)
    info = []
    for n in names:
        cp = _run(["ip", "-n", n, "-j", "addr"], check=False)
        try:
            links = json.loads(cp.stdout or "[]")
        except json.JSONDecodeError:
            links = []
        info.append({"netns": n, "pids": ns_pids(n), "links": [
            {"name": l.get("ifname"), "state": l.get("operstate"), "mtu": l.get("mtu"),
             "addresses": [f"{a['local']}/{a['prefixlen']}" for a in l.get("addr_info", [])
                           if a.get("scope") != "link"]}
            for l in links if l.get("ifname") != "lo"]})
    if as_json:
        print(json.dumps({"prefix": prefix, "namespaces": info}, indent=2))
    else:
        if not names:
            print(f"no namespaces {prefix}-*")
        for i in info:
            print(f"{i['netns']}" + (f"  pids {i['pids']}" if i["pids"] else ""))
            for l in i["links"]:
                print(f"    {l['name']:<16} {l['state']:<8} mtu {l['mtu']:<5} {' '.join(l['addresses'])}")
    return 0 if names else 3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up", help="build the topology for POLICY")
    u.add_argument("policy")
    u.add_argument("--prefix", required=True)
    u.add_argument("--ctl", help="bulwarkctl (default: $BULWARK_CTL or build/dev/gateway/bulwarkctl)")
    u.add_argument("--transfer4", default=DEFAULT_TRANSFER4)
    u.add_argument("--transfer6", default=DEFAULT_TRANSFER6)
    u.add_argument("--json", action="store_true", help="print what was built as JSON")
    d = sub.add_parser("down", help="remove every namespace <prefix>-*")
    d.add_argument("--prefix", required=True)
    s = sub.add_parser("status", help="list namespaces <prefix>-* and their addresses")
    s.add_argument("--prefix", required=True)
    s.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `topology.py status | head` is fine
    try:
        check_prefix(a.prefix)
        if a.cmd == "up":
            model = load_model(a.policy, a.ctl, a.transfer4, a.transfer6)
            t0 = time.monotonic()
            up(model, a.prefix)
            dt = time.monotonic() - t0
            if a.json:
                print(json.dumps(describe(model, a.prefix), indent=2))
            else:
                d = describe(model, a.prefix)
                print(f"up: {len(ns_names(model, a.prefix))} namespaces {a.prefix}-* in {dt:.2f}s "
                      f"(gateway {d['gateway']['netns']}, internet {d['internet']['netns']} "
                      f"{', '.join(d['internet']['addresses'])})")
                for h in d["hosts"]:
                    print(f"    {h['netns']:<28} {h['segment']:<10} {' '.join(h['addresses'])}")
            return 0
        if a.cmd == "down":
            down(a.prefix)
            return 0
        return status(a.prefix, a.json)
    except LabError as e:
        print(f"topology: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
