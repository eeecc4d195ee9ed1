"""Private strongSwan charons in network namespaces, for Bulwark's admin-VPN tests.

The charon itself (private mount namespace with its own /run, explicit plugin list with
kernel-libipsec, the VICI socket at a path reachable from the root namespace) is
lab/netns/charon.py, shared with the lab's admin VPN (lab/lab vpn up).
Everything is named <prefix><pid>-..., bounded in time, and removed by Lab.close() (also on
signals and at interpreter exit). Processes are stopped by the pid we started, never by name.
"""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "lab", "netns"))
import charon as shared  # noqa: E402  (lab/netns/charon.py: the charon the lab uses too)

CHARON = shared.CHARON
PLUGINS = shared.PLUGINS
PKI_PLUGINS = "random drbg openssl pem pkcs1 pkcs8 x509 gmp curve25519 sha1 sha2 revocation"
LabError = shared.CharonError


def run(cmd, check=True, timeout=30, env=None, input=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and p.returncode != 0:
        raise LabError("%s -> %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


class Charon(shared.Charon):
    """lab/netns/charon.py's charon, its process owned by this Lab (stopped by close())."""

    def __init__(self, lab, name, ns, loglevel=1):
        super().__init__(lab.dir, name, ns, loglevel)
        self.lab = lab

    def start(self, timeout=15):
        try:
            return super().start(timeout)
        finally:
            if self.proc is not None:
                self.lab.procs.append(self.proc)


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
