"""Private strongSwan charons in network namespaces, for Bulwark's admin-VPN tests.

Each charon runs inside its own network namespace AND its own mount namespace (unshare -m)
with a private directory bind-mounted over /run, because charon's pid file is hard-coded
to /var/run/charon.pid. STRONGSWAN_CONF points it at a private strongswan.conf that:
  * loads an explicit plugin list: kernel-libipsec (userspace ESP over the TUN ipsec0,
    since this kernel has no ESP) BEFORE kernel-netlink (routes, virtual IPs), plus kdf;
  * puts the VICI socket at <instance>/run/charon.vici (a path: reachable from the root
    namespace, so bulwarkctl/swanctl drive the charon from outside).
Everything is named <prefix><pid>-..., bounded in time, and removed by Lab.close() (also on
signals and at interpreter exit). Processes are stopped by the pid we started, never by name.
"""
import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time

CHARON = os.environ.get("CHARON", "/usr/lib/ipsec/charon")
PLUGINS = ("random nonce drbg openssl aes sha1 sha2 hmac kdf gcm gmp curve25519 chapoly x509 pem "
           "pkcs1 pkcs8 pubkey constraints revocation kernel-libipsec kernel-netlink socket-default vici")
PKI_PLUGINS = "random drbg openssl pem pkcs1 pkcs8 x509 gmp curve25519 sha1 sha2 revocation"


class LabError(Exception):
    pass


def run(cmd, check=True, timeout=30, env=None, input=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and p.returncode != 0:
        raise LabError("%s -> %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


class Charon:
    def __init__(self, lab, name, ns, loglevel=1):
        self.lab, self.name, self.ns = lab, name, ns
        self.dir = os.path.join(lab.dir, name)
        self.run_dir = os.path.join(self.dir, "run")
        self.socket = os.path.join(self.run_dir, "charon.vici")
        self.uri = "unix://" + self.socket
        self.conf = os.path.join(self.dir, "strongswan.conf")
        self.log = os.path.join(self.dir, "charon.log")
        self.swanctl_dir = os.path.join(self.dir, "swanctl")
        self.proc = None
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
  retransmit_tries = 2
  retransmit_timeout = 1.0
  # a restarted gateway must be found again quickly by the client
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

    def start(self, timeout=15):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        out = open(os.path.join(self.dir, "charon.stdout"), "a")
        script = 'mount --bind "$1" /run || exit 99; STRONGSWAN_CONF="$2" exec "$3"'
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "unshare", "-m", "--propagation", "private",
             "sh", "-c", script, "sh", self.run_dir, self.conf, CHARON],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.lab.procs.append(self.proc)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise LabError("charon[%s] exited with %s; log:\n%s" % (self.name, self.proc.returncode, self.tail()))
            if os.path.exists(self.socket) and self.swanctl("--stats", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise LabError("charon[%s]: VICI socket not ready after %ss\n%s" % (self.name, timeout, self.tail()))

    def stop(self):
        if self.proc is not None:
            self.lab.stop_proc(self.proc)
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def swanctl(self, *args, check=True, timeout=30):
        env = dict(os.environ, STRONGSWAN_CONF=self.conf, SWANCTL_DIR=self.swanctl_dir)
        return run(["swanctl"] + list(args) + ["--uri", self.uri], check=check, timeout=timeout, env=env)

    def tail(self, n=40):
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"


class Lab:
    """Namespaces, veths, charons, helper processes; all removed by close()."""

    def __init__(self, prefix="bvpn", timeout=300):
        self.tag = "%s%d" % (prefix, os.getpid())
        self.dir = tempfile.mkdtemp(prefix="bulwark-vpn-lab.")
        self.namespaces, self.procs, self.charons = [], [], []
        self.closed = False
        atexit.register(self.close)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGALRM, self._on_alarm)
        signal.alarm(timeout)  # the whole lab is bounded

    def _on_signal(self, signum, frame):
        self.close()
        os._exit(128 + signum)

    def _on_alarm(self, signum, frame):
        print("LAB WATCHDOG: time limit exceeded", flush=True)
        self.close()
        os._exit(124)

    # ------------------------------------------------------------- topology
    def netns(self, short):
        name = "%s-%s" % (self.tag, short)
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        self.nsx(name, "ip", "link", "set", "lo", "up")
        self.nsx(name, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                 "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        return name

    def veth(self, ns_a, if_a, addr_a, ns_b, if_b, addr_b):
        run(["ip", "-n", ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b])
        for ns, ifn, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
            for a in ([addr] if isinstance(addr, str) else (addr or [])):
                if a:
                    self.nsx(ns, "ip", "addr", "add", a, "dev", ifn)
            self.nsx(ns, "ip", "link", "set", ifn, "up")

    def nsx(self, ns, *cmd, check=True, timeout=30, input=None):
        return run(["ip", "netns", "exec", ns] + list(cmd), check=check, timeout=timeout, input=input)

    def spawn(self, ns, cmd, log_name):
        out = open(os.path.join(self.dir, log_name), "a")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + list(cmd), stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def spawn_root(self, cmd, log_name, env=None):
        out = open(os.path.join(self.dir, log_name), "a")
        p = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.procs.append(p)
        return p

    def charon(self, name, ns, loglevel=1):
        c = Charon(self, name, ns, loglevel)
        self.charons.append(c)
        return c

    # ------------------------------------------------------------- pki (strongswan-pki)
    def pki(self, *args, input=None):
        conf = os.path.join(self.dir, "pki.conf")
        if not os.path.exists(conf):
            with open(conf, "w") as f:
                f.write("pki {\n  load = %s\n}\n" % PKI_PLUGINS)
        env = dict(os.environ, STRONGSWAN_CONF=conf)
        p = subprocess.run(["pki"] + list(args), capture_output=True, timeout=30, env=env, input=input)
        if p.returncode != 0:
            raise LabError("pki %s -> %d: %s" % (" ".join(args), p.returncode, p.stderr.decode(errors="replace")))
        return p.stdout

    # ------------------------------------------------------------- teardown
    def stop_proc(self, p, grace=5.0):
        if p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)  # the session we started (ip netns exec → unshare → charon)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)

    def close(self):
        if self.closed:
            return
        self.closed = True
        signal.alarm(0)
        for p in reversed(self.procs):
            try:
                self.stop_proc(p)
            except Exception:  # keep tearing down
                pass
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if os.environ.get("KEEP_LAB") == "1":
            print("lab dir kept: %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
