"""A private strongSwan charon in a network namespace, for the lab (lab/lab vpn) and the admin-VPN
tests (which build their own topology on this).

Each charon runs inside its network namespace AND its own mount namespace (unshare -m) with a
private directory bind-mounted over /run, because charon's pid file is hard-coded to
/var/run/charon.pid. STRONGSWAN_CONF points it at a private strongswan.conf that:
  * loads an explicit plugin list: kernel-libipsec (userspace ESP over the TUN ipsec0, since
    this kernel has no ESP) BEFORE kernel-netlink (routes, virtual IPs), plus kdf;
  * puts the VICI socket at <dir>/run/charon.vici (a path: reachable from the root namespace,
    so bulwarkctl/swanctl drive the charon from outside).
The process is started in a session of its own; stop() ends that session (the pid we started,
never a name). A charon left behind by a crash dies with its namespace's other processes
(`lab/lab down`, topology.down: every pid in the prefix's namespaces).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import topology  # lab/netns/topology.py: _alive

CHARON = os.environ.get("CHARON", "/usr/lib/ipsec/charon")
LIBIPSEC_PLUGIN = "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"
PLUGINS = ("random nonce drbg openssl aes sha1 sha2 hmac kdf gcm gmp curve25519 chapoly x509 pem "
           "pkcs1 pkcs8 pubkey constraints revocation kernel-libipsec kernel-netlink socket-default vici")
# The proposals an admin client offers: what Bulwark's gateway config accepts (vpn/: IKE
# aes256gcm16-prfsha384-x25519, ESP aes256gcm16-x25519).
IKE_PROPOSALS = "aes256gcm16-prfsha384-x25519"
ESP_PROPOSALS = "aes256gcm16-x25519"


class CharonError(Exception):
    pass


def missing() -> str | None:
    """What this machine lacks to run a lab charon (None: nothing)."""
    import shutil
    for tool in ("swanctl", "ip", "unshare"):
        if not shutil.which(tool):
            return f"{tool} (tools/packages.txt: strongswan-swanctl, iproute2, util-linux)"
    if not os.access(CHARON, os.X_OK):
        return f"{CHARON} (strongswan-charon)"
    if not os.path.exists(LIBIPSEC_PLUGIN):
        return "the kernel-libipsec plugin (libcharon-extra-plugins)"
    return None


def _run(cmd, check=True, timeout=30, env=None):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise CharonError(f"timed out after {timeout}s: {' '.join(cmd)}") from e
    if check and p.returncode != 0:
        raise CharonError("%s -> %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def stop_session(pid: int, grace: float = 5.0, proc: subprocess.Popen | None = None):
    """End the session we started as `pid` (ip netns exec -> unshare -> sh -> charon): TERM,
    then KILL after `grace` seconds."""
    def alive():
        if proc is not None:
            return proc.poll() is None
        return topology._alive(pid)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if not alive():
            return
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and alive():
            time.sleep(0.05)


class Charon:
    """One charon: its directory (config, run dir with the VICI socket, swanctl dir, log)."""

    def __init__(self, base_dir: str, name: str, ns: str, loglevel: int = 1):
        self.name, self.ns = name, ns
        self.dir = os.path.join(os.path.realpath(str(base_dir)), name)
        if self.dir == "/run" or self.dir.startswith("/run/"):
            # charon sees its run dir AS /run: anything under the real /run is hidden from it
            raise CharonError(f"{self.dir}: a charon's directory cannot be under /run (it is mounted over /run)")
        self.run_dir = os.path.join(self.dir, "run")
        self.socket = os.path.join(self.run_dir, "charon.vici")
        self.uri = "unix://" + self.socket
        self.conf = os.path.join(self.dir, "strongswan.conf")
        self.log = os.path.join(self.dir, "charon.log")
        self.swanctl_dir = os.path.join(self.dir, "swanctl")
        self.proc: subprocess.Popen | None = None
        self.conns: dict[str, str] = {}
        for d in (self.run_dir, self.swanctl_dir, os.path.join(self.swanctl_dir, "x509"),
                  os.path.join(self.swanctl_dir, "x509ca"), os.path.join(self.swanctl_dir, "private"),
                  os.path.join(self.swanctl_dir, "x509crl")):
            os.makedirs(d, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("""charon {
  load_modular = no
  load = %(plugins)s
  install_routes = yes
  install_virtual_ip = yes
  # a restarted gateway must be found again quickly by the client
  retransmit_tries = 2
  retransmit_timeout = 1.0
  filelog {
    lab {
      path = %(log)s
      time_format = %%T
      time_add_ms = yes
      append = yes
      flush_line = yes
      default = %(lvl)d
      esp = 0
      knl = 1
    }
  }
  plugins {
    vici {
      socket = unix://%(sock)s
    }
  }
}
swanctl {
  socket = unix://%(sock)s
}
""" % {"plugins": PLUGINS, "log": self.log, "sock": self.socket, "lvl": loglevel})

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout: float = 15) -> "Charon":
        """Start charon (detached: it outlives this process until stop() or the namespace's
        teardown) and wait until its VICI socket answers."""
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        with open(os.path.join(self.dir, "charon.stdout"), "a") as out:
            script = 'mount --bind "$1" /run || exit 99; STRONGSWAN_CONF="$2" exec "$3"'
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, "unshare", "-m", "--propagation", "private",
                 "sh", "-c", script, "sh", self.run_dir, self.conf, CHARON],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise CharonError("charon[%s] exited with %s; log:\n%s" % (self.name, self.proc.returncode, self.tail()))
            if os.path.exists(self.socket) and self.swanctl("--stats", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise CharonError("charon[%s]: VICI socket not ready after %ss\n%s" % (self.name, timeout, self.tail()))

    def stop(self):
        if self.proc is not None:
            stop_session(self.proc.pid, proc=self.proc)
            self.proc = None

    def restart(self) -> "Charon":
        self.stop()
        return self.start()

    def swanctl(self, *args, check=True, timeout=30):
        env = dict(os.environ, STRONGSWAN_CONF=self.conf, SWANCTL_DIR=self.swanctl_dir)
        return _run(["swanctl"] + list(args) + ["--uri", self.uri], check=check, timeout=timeout, env=env)

    def tail(self, n=40) -> str:
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    # ------------------------------------------------------------- an admin client
    def add_client_conn(self, user: str, cert: str, key: str, ca: str, gateway_addr: str, gateway_id: str,
                        remote_ts: str, ike_id: str | None = None, group: str = ""):
        """Load an IKEv2 client connection named `user` (certificate auth, asks for a virtual
        IP, UDP-encapsulated ESP for kernel-libipsec) next to the ones loaded before."""
        import shutil
        shutil.copy(ca, os.path.join(self.swanctl_dir, "x509ca", "ca.crt"))
        shutil.copy(cert, os.path.join(self.swanctl_dir, "x509", user + ".crt"))
        shutil.copy(key, os.path.join(self.swanctl_dir, "private", user + ".key"))
        self.conns[user] = """  %(u)s {
    version = 2
    remote_addrs = %(gw)s
    vips = 0.0.0.0
    encap = yes
    proposals = %(ike)s
    local {
      auth = pubkey
      certs = %(u)s.crt
      id = "%(id)s"
    }
    remote {
      auth = pubkey
      id = %(gwid)s
    }
    children {
      %(u)s {
        remote_ts = %(ts)s
        esp_proposals = %(esp)s
        start_action = none
      }
    }
  }
""" % {"u": user, "id": ike_id or ("CN=%s, OU=%s" % (user, group)), "ts": remote_ts, "gw": gateway_addr,
            "gwid": gateway_id, "ike": IKE_PROPOSALS, "esp": ESP_PROPOSALS}
        conf = os.path.join(self.swanctl_dir, "swanctl.conf")
        with open(conf, "w") as f:
            f.write("connections {\n%s}\n" % "".join(self.conns.values()))
        self.swanctl("--load-all", "--noprompt", "--file", conf)

    def initiate(self, user: str, timeout: int = 15) -> tuple[bool, str]:
        p = self.swanctl("--initiate", "--ike", user, "--child", user, "--timeout", str(timeout), check=False,
                         timeout=timeout + 10)
        return p.returncode == 0, p.stdout[-600:] + p.stderr[-300:]

    def virtual_ip(self, user: str) -> str | None:
        import re
        p = self.swanctl("--list-sas", "--ike", user, "--raw", check=False)
        m = re.search(r"local-vips=\[([0-9.]+)", p.stdout)
        return m.group(1) if m else None
