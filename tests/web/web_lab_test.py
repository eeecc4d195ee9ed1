#!/usr/bin/python3
"""The web view end to end: bulwarkd in the lab (campus.yaml with gateway.control and
gateway.web added, real services) and Debian's Chromium, headless, driven by chromedriver +
Selenium from the management segment's `monitoring` host.

    web_lab_test.py --daemon BULWARKD --ctl BULWARKCTL --tools DIR [--screenshots DIR]
                    [--json-out FILE] [--keep]

Checks:
  * the page loads over HTTPS with a client certificate from Bulwark's CA (imported into the
    browser's NSS database with pk12util, the CA trusted with certutil, the certificate
    picked by the AutoSelectCertificateForUrls policy); the gateway's certificate is verified
    by name (vpn.local_id mapped to 10.99.0.1); the hour of history and live updates arrive;
  * without a certificate the same URL is refused (no page);
  * Tab reaches the skip link and the section links first (keyboard);
  * during `lab/lab load` (streams internet -> VIP -> lb1 -> wowza) the bandwidth appears on
    the public (DMZ) and app segments within 2 s of the gateway's own interface counters
    (`ip -s -j link` in the gateway namespace, polled by this test) showing it;
  * a foreign `nft` edit of table inet bulwark appears in the page's changes as a drift event;
  * the service tiles: with health checks in the snapshot, stopping web1's server turns its
    tile red within the check's fall time and back; without a health-check engine in this
    build the snapshot has none, and the test says so (reported, not passed silently);
  * the page's main-thread time per update, long tasks and update-to-screen latency are
    printed (and written to --json-out for docs/performance.md).
Screenshots of the main views go to --screenshots (docs/screenshots/ in the repo).

Exit 0 passed, 1 a check failed, 2 the lab broke, 77 cannot run here (not root, no
Chromium/chromedriver/Selenium/certutil, no nginx).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "lab" / "lab"
CAMPUS = REPO / "policies" / "examples" / "campus.yaml"
WEB_ADDR, WEB_PORT = "10.99.0.1", 8443
PASSWORD = "web-lab-test"
BROWSER_HOST = "monitoring"


class Failed(Exception):
    pass


def say(msg):
    print(msg, flush=True)


def run(argv, timeout=60, check=True, **kw):
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} -> {cp.returncode}: {(cp.stderr or cp.stdout).strip()[:600]}")
    return cp


def missing_tools():
    need = {"/usr/bin/chromium": "chromium", "/usr/bin/chromedriver": "chromium-driver",
            "/usr/bin/certutil": "libnss3-tools", "/usr/bin/pk12util": "libnss3-tools",
            "/usr/sbin/nginx": "nginx-light"}
    lack = [pkg for path, pkg in need.items() if not os.path.exists(path)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        lack.append("python3-selenium")
    return sorted(set(lack))


# ---------------------------------------------------------------- the root-namespace side
class Lab:
    def __init__(self, a):
        self.a = a
        self.prefix = f"bwweb{os.getpid() % 100000}"
        self.tmp = Path(tempfile.mkdtemp(prefix="bulwark-web-lab-"))
        self.pol = self.tmp / "policy"
        self.pol.mkdir()
        self.pki = self.tmp / "pki"
        self.state = self.tmp / "state"
        self.daemon = None
        self.logpath = self.tmp / "bulwarkd.log"

    def ns(self, what):
        return f"{self.prefix}-{what}"

    def policy_text(self):
        text = CAMPUS.read_text()
        add = (f"  control: {{ listen: {WEB_ADDR}, port: 9443, change: netops, view: auditors }}\n"
               f"  web: {{ listen: {WEB_ADDR}, port: {WEB_PORT} }}\n")
        text, n = re.subn(r"(\n  trunk: eth1\n)", r"\1" + add.replace("\\", "\\\\"), text, count=1)
        if n != 1:
            raise RuntimeError("campus.yaml: no 'trunk: eth1' line to add gateway.web after")
        return text

    def up(self):
        (self.pol / "campus.yaml").write_text(self.policy_text())
        run([sys.executable, LAB, "up", "--prefix", self.prefix, "--policy", self.pol / "campus.yaml",
             "--ctl", self.a.ctl, "--tools", self.a.tools], timeout=240)
        # The lab runs a bulwarkd of its own in the gateway namespace (without the web view's
        # PKI); this test's bulwarkd takes its place and adopts the table it programmed.
        lab_state = json.loads((Path("/run/bulwark-lab") / self.prefix / "state.json").read_text())
        pid = lab_state["pids"].get("gateway/bulwarkd")
        if pid:
            os.kill(pid, signal.SIGTERM)  # bulwarkd leaves the ruleset as it is on exit
            deadline = time.time() + 15
            while Path(f"/proc/{pid}").exists() and time.time() < deadline:
                time.sleep(0.05)
        ctl = self.a.ctl
        run([ctl, "pki", "--dir", self.pki, "init", "--ca-name", "Bulwark Web Test CA"])
        run([ctl, "pki", "--dir", self.pki, "gateway", "--local-id", "vpn.campus.example.edu"])
        pw = self.tmp / "pw"
        pw.write_text(PASSWORD + "\n")
        run([ctl, "pki", "--dir", self.pki, "issue", "ann", "--group", "auditors", "--password-file", pw])
        # Top talkers need conntrack accounting in the gateway's namespace.
        run(["ip", "netns", "exec", self.ns("gw"), "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1"])
        self.start_daemon()

    def start_daemon(self):
        argv = ["ip", "netns", "exec", self.ns("gw"), self.a.daemon, "--policy", self.pol, "--socket",
                self.tmp / "control.sock", "--state-dir", self.state, "--metrics", "127.0.0.1:9469",
                "--no-journal", "--no-links", "--pki", self.pki, "--drift-interval", "0"]
        self.log = open(self.logpath, "a")
        self.daemon = subprocess.Popen([str(x) for x in argv], stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("bulwarkd exited: " + self.logpath.read_text()[-1500:])
            if "web view: https://" in self.logpath.read_text():
                return
            time.sleep(0.1)
        raise RuntimeError("bulwarkd did not open the web view: " + self.logpath.read_text()[-1500:])

    def down(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        subprocess.run([sys.executable, str(LAB), "down", "--prefix", self.prefix], capture_output=True, timeout=120)
        if not self.a.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- the browser side
def browser_phase(a):
    """Runs inside the monitoring host's namespace and a private mount namespace (the
    Chromium policy directory is bind-mounted there only)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    tmp, pki, prefix = Path(a.tmp), Path(a.pki), a.prefix
    gw = f"{prefix}-gw"
    host = "vpn.campus.example.edu"
    url = f"https://{host}:{WEB_PORT}/"
    results = {}

    # Chromium's managed policy, visible to this process tree only.
    etc = tmp / "etc-chromium"
    (etc / "policies" / "managed").mkdir(parents=True, exist_ok=True)
    if Path("/etc/chromium/master_preferences").exists():
        shutil.copy("/etc/chromium/master_preferences", etc / "master_preferences")
    pattern = json.dumps({"pattern": f"https://{host}:{WEB_PORT}", "filter": {"ISSUER": {"CN": "Bulwark Web Test CA"}}})
    (etc / "policies" / "managed" / "bulwark-test.json").write_text(
        json.dumps({"AutoSelectCertificateForUrls": [pattern]}))
    run(["mount", "--bind", etc, "/etc/chromium"])

    def profile(name, with_cert):
        home = tmp / name
        db = home / ".pki" / "nssdb"
        db.mkdir(parents=True, exist_ok=True)
        run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"])
        run(["certutil", "-A", "-n", "bulwark-ca", "-t", "C,,", "-i", pki / "ca.crt", "-d", f"sql:{db}"])
        if with_cert:
            run(["pk12util", "-i", pki / "issued" / "ann" / "ann.p12", "-d", f"sql:{db}", "-W", PASSWORD])
        return home

    def browser(home, width=1366, height=768):
        o = webdriver.ChromeOptions()
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--window-size={width},{height}", f"--user-data-dir={home}/chrome",
                    f"--host-resolver-rules=MAP {host} {WEB_ADDR}, MAP * ~NOTFOUND", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-default-browser-check", "--disable-features=OptimizationHints,MediaRouter"):
            o.add_argument(arg)
        env = dict(os.environ, HOME=str(home))
        svc = Service("/usr/bin/chromedriver", env=env)
        d = webdriver.Chrome(service=svc, options=o)
        d.set_page_load_timeout(30)
        return d

    def wait(d, js, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = d.execute_script(js)
            if v:
                return v
            time.sleep(0.1)
        raise Failed(f"{what}: not within {timeout} s")

    def rows(d, table):
        return d.execute_script(f"""return [...document.querySelectorAll('#{table} tbody tr')]
            .map(r => [...r.cells].map(c => c.textContent));""")

    def bits(text):
        m = re.match(r"([\d.]+) ([kMGT]?)bit/s", text or "")
        if not m:
            return 0.0
        return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)]

    shots = Path(a.screenshots) if a.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    # -- refused without a certificate
    d = browser(profile("nocert", False))
    try:
        try:
            d.get(url)
        except Exception as e:  # noqa: BLE001 - a refused page may also time out the load
            say(f"  without a certificate: {type(e).__name__}")
        has_app = d.execute_script("return !!document.getElementById('segmap')")
        text = d.execute_script("return document.body ? document.body.innerText : ''") or ""
        if has_app:
            raise Failed("the page loaded without a client certificate")
        say(f"  without a certificate: refused ({(re.search(r'ERR_[A-Z_]+', text) or [''])[0] or 'no page'})")
        results["refused_without_certificate"] = True
    finally:
        d.quit()

    # -- with the certificate
    home = profile("ann", True)
    d = browser(home)
    try:
        t0 = time.time()
        d.get(url)
        results["page_load_seconds"] = round(time.time() - t0, 2)
        wait(d, "return window.bulwarkStats && window.bulwarkStats.updates >= 1", 20, "first snapshot on the page")
        results["first_snapshot_seconds"] = round(time.time() - t0, 2)
        paint = d.execute_script("""const p = performance.getEntriesByType('paint')
            .find(e => e.name === 'first-contentful-paint'); return p ? p.startTime : null;""")
        results["first_contentful_paint_ms"] = paint
        who = d.find_element(By.ID, "who").text
        if "ann" not in who or "view" not in who:
            raise Failed(f"the page does not say who is looking: {who!r}")
        segs = {r[0]: r for r in rows(d, "seg-table")}
        for s in ("public", "app", "db", "storage", "mgmt", "uplink"):
            if s not in segs:
                raise Failed(f"segment {s} missing from the page: {sorted(segs)}")
        hist = d.execute_script("return fetch('api/history').then(r => r.json()).then(h => h.n)")
        say(f"  page loaded in {results['page_load_seconds']} s, first snapshot after "
            f"{results['first_snapshot_seconds']} s (first contentful paint {paint} ms), "
            f"{who}, history {hist} s")
        # keyboard: the skip link, then the section links
        body = d.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        first = d.execute_script("return document.activeElement.textContent")
        body = d.switch_to.active_element
        body.send_keys(Keys.TAB)
        second = d.execute_script("return document.activeElement.textContent")
        if "Skip" not in first or second.strip() != "Segments":
            raise Failed(f"keyboard order: {first!r}, {second!r}")
        d.switch_to.active_element.send_keys(Keys.ENTER)

        # Long tasks from here on: steady updates, after the first render of the hour.
        steady_from = d.execute_script("return performance.now()")

        # -- bandwidth during a load
        ctl_ns = ["ip", "netns", "exec", gw]

        def gw_rx(iface):
            out = run([*ctl_ns, "ip", "-s", "-j", "link", "show", iface]).stdout
            return json.loads(out)[0]["stats64"]["rx"]["bytes"]

        load = subprocess.Popen([sys.executable, str(LAB), "load", "--prefix", prefix, "--streams", "200",
                                 "--duration", "14", "--bitrate", "256", "--reapply-at", "none",
                                 "--report-every", "100"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            threshold = 2e6  # bit/s: 200 streams x 256 kbit/s is ~51 Mbit/s once ramped
            seen_kernel = seen_page = None
            last = {i: (time.time(), gw_rx(i)) for i in ("eth1.10", "eth1.20")}
            deadline = time.time() + 90
            while time.time() < deadline and seen_page is None:
                time.sleep(0.2)
                now = time.time()
                if seen_kernel is None:
                    rates = {}
                    for i in last:
                        b = gw_rx(i)
                        rates[i] = 8 * (b - last[i][1]) / (now - last[i][0])
                        last[i] = (now, b)
                    if all(r > threshold for r in rates.values()):
                        seen_kernel = now
                segs = {r[0]: r for r in rows(d, "seg-table")}
                pub, app = segs.get("public"), segs.get("app")
                if pub and app and max(bits(pub[2]), bits(pub[3])) > threshold and \
                        max(bits(app[2]), bits(app[3])) > threshold:
                    seen_page = now
            if seen_page is None:
                raise Failed("no bandwidth on the public and app segments during the load")
            delay = seen_page - (seen_kernel or seen_page)
            results["bandwidth_visible_after_s"] = round(delay, 2)
            say(f"  load: public in/out {pub[2]} / {pub[3]}, app {app[2]} / {app[3]}; on the page "
                f"{delay:.2f} s after the gateway's counters showed it")
            if delay > 2.0:
                raise Failed(f"bandwidth appeared on the page {delay:.2f} s after the kernel counters (> 2 s)")
            time.sleep(6)  # the talkers' window fills
            flows = rows(d, "flow-table")
            results["top_flows"] = len(flows)
            if not flows:
                raise Failed("no top talkers during the load")
            say(f"  top talkers: {len(flows)} flows, first {flows[0]}")
            if shots:
                d.execute_script("window.scrollTo(0, 0)")
                time.sleep(1.2)
                d.save_screenshot(str(shots / "web-overview.png"))
                d.execute_script("document.getElementById('bandwidth').scrollIntoView()")
                time.sleep(0.5)
                d.save_screenshot(str(shots / "web-bandwidth.png"))
                d.execute_script("document.getElementById('talkers').scrollIntoView()")
                time.sleep(0.5)
                d.save_screenshot(str(shots / "web-talkers.png"))
        finally:
            out, _ = load.communicate(timeout=240)
            say("  load: " + " | ".join(l for l in out.splitlines() if "established" in l or "result" in l)[-300:])

        # -- the service tiles
        health = d.execute_script("return fetch('api/snapshot').then(r => r.json()).then(s => s.health)")
        if not health:
            say("  tiles: NOT CHECKED - the snapshot has no health checks (no health-check engine in this build)")
            results["tiles"] = "no health checks in the snapshot"
        else:
            tile = "[data-check^='web1']"
            # web1's servers by the pids of its namespace: `pkill -f nginx` in `ip netns exec` would
            # match every nginx of the machine (no pid namespace) and its own `sh -c` (it hung).
            web1 = [int(x) for x in run(["ip", "netns", "pids", f"{prefix}-h-web1"]).stdout.split()]
            for pid in web1:
                os.kill(pid, signal.SIGSTOP)
            try:
                wait(d, f"return document.querySelector(\"{tile}.down\")", 30, "web1's tile red")
            finally:
                for pid in web1:
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
            wait(d, f"return document.querySelector(\"{tile}.up\")", 30, "web1's tile green again")
            results["tiles"] = "red and back"

        # -- a foreign nft edit is a drift event
        before = len(rows(d, "event-table"))
        run([*ctl_ns, "nft", "insert", "rule", "inet", "bulwark", "forward", "ip", "saddr", "192.0.2.99", "accept"])
        t0 = time.time()
        wait(d, """return [...document.querySelectorAll('#event-table tbody tr td:nth-child(2)')]
                    .some(td => td.textContent.startsWith('drift'))""", 10, "a drift event on the page")
        results["drift_event_after_s"] = round(time.time() - t0, 2)
        say(f"  drift: on the page {results['drift_event_after_s']} s after the foreign edit "
            f"({len(rows(d, 'event-table')) - before} new change rows)")
        if shots:
            d.execute_script("document.getElementById('resources').scrollIntoView()")
            time.sleep(1.2)
            d.save_screenshot(str(shots / "web-resources-changes.png"))

        # -- the page's own cost
        st = d.execute_script("return window.bulwarkStats")
        r = sorted(st["renderMs"])
        lat = sorted(st["latencyMs"])
        results["render_ms_median"] = round(r[len(r) // 2], 2)
        results["render_ms_p95"] = round(r[int(len(r) * 0.95)], 2)
        results["render_ms_max"] = round(r[-1], 2)
        results["latency_ms_median"] = lat[len(lat) // 2] if lat else None
        results["latency_ms_p95"] = lat[int(len(lat) * 0.95)] if lat else None
        steady = [t[1] for t in st["longTasks"] if t[0] >= steady_from]
        results["long_tasks_initial"] = len(st["longTasks"]) - len(steady)
        results["long_tasks"] = len(steady)
        results["long_task_max_ms"] = max(steady) if steady else 0
        results["updates"] = st["updates"]
        say(f"  page: {st['updates']} updates, render median {results['render_ms_median']} ms, p95 "
            f"{results['render_ms_p95']} ms, max {results['render_ms_max']} ms; update-to-screen median "
            f"{results['latency_ms_median']} ms, p95 {results['latency_ms_p95']} ms; long tasks while updating "
            f"{results['long_tasks']} (max {results['long_task_max_ms']} ms), at the first render "
            f"{results['long_tasks_initial']}")
    finally:
        d.quit()

    # -- a phone
    if shots:
        d = browser(home, 390, 844)
        try:
            d.get(url)
            wait(d, "return window.bulwarkStats && window.bulwarkStats.updates >= 1", 20, "phone page")
            time.sleep(1)
            d.save_screenshot(str(shots / "web-phone.png"))
            overflow = d.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
            if overflow:
                raise Failed("the page is wider than a phone's screen")
        finally:
            d.quit()
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(results, indent=1))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon")
    ap.add_argument("--ctl")
    ap.add_argument("--tools")
    ap.add_argument("--screenshots")
    ap.add_argument("--json-out")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--sanitize", default="OFF", help="ON: a sanitizer build (the test is skipped)")
    ap.add_argument("--phase", default="all")
    ap.add_argument("--tmp")
    ap.add_argument("--pki")
    ap.add_argument("--prefix")
    a = ap.parse_args()
    if a.phase == "browser":
        try:
            return browser_phase(a)
        except Failed as e:
            say(f"FAIL: {e}")
            return 1
    if a.sanitize.upper() in ("ON", "1", "TRUE", "YES"):
        say("SKIP: sanitizer build (a system test with the lab; the dev build runs it)")
        return 77
    if os.geteuid() != 0:
        say("SKIP: needs root (network namespaces)")
        return 77
    lack = missing_tools()
    if lack:
        say(f"SKIP: missing {', '.join(lack)} (tools/install-deps.sh)")
        return 77
    lab = Lab(a)
    try:
        try:
            lab.up()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            say(f"lab broke: {e}")
            return 2
        say(f"lab {lab.prefix} up; bulwarkd's web view on https://{WEB_ADDR}:{WEB_PORT}/")
        argv = ["ip", "netns", "exec", lab.ns(f"h-{BROWSER_HOST}"), "unshare", "--mount", "--propagation", "private",
                sys.executable, __file__, "--phase", "browser", "--tmp", lab.tmp, "--pki", lab.pki,
                "--prefix", lab.prefix]
        if a.screenshots:
            argv += ["--screenshots", Path(a.screenshots).resolve()]
        if a.json_out:
            argv += ["--json-out", Path(a.json_out).resolve()]
        rc = subprocess.run([str(x) for x in argv], timeout=400).returncode
        log = lab.logpath.read_text()
        for line in log.splitlines():
            if "web:" in line or "drift" in line:
                say("  bulwarkd: " + line[:200])
        if lab.daemon.poll() is not None:
            say("FAIL: bulwarkd exited during the test")
            return 1
        say("PASS" if rc == 0 else f"FAIL (browser phase exit {rc})")
        return rc
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
