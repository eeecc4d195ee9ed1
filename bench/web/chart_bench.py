#!/usr/bin/python3
"""Which chart library for the web view: uPlot or Chart.js, measured.

    bench/web/chart_bench.py [--runs 3] [--charts 6] [--series 8] [--points 3600]

Loads chart_bench.html in Debian's headless Chromium (chromium-driver + python3-selenium)
once per library and run: `--charts` charts of `--series` series of `--points` points each
(the last hour at 1 s), then 60 updates like the SSE stream's (every series gains a point and
loses the oldest, every chart redraws). Prints main-thread milliseconds per update (median,
p95, max) and the long tasks (> 50 ms) seen during the updates, and the ratio Chart.js/uPlot.
uPlot is the one vendored in gateway/web/vendor/; Chart.js is Debian's (libjs-chart.js, 3.9.1 in
Debian 12), so the bench runs from tools/packages.txt alone. The figures in docs/performance.md
before 2026-12-06 10:00 were taken with Chart.js 4.6.2 from npm.
"""
import argparse
import json
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LIBS = {"uplot": (REPO / "gateway/web/vendor/uPlot.iife.min.js", REPO / "gateway/web/vendor/uPlot.min.css"),
        "chartjs": (Path("/usr/share/javascript/chart.js/chart.min.js"), None)}


def driver():
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,900",
              "--allow-file-access-from-files"):
        o.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--charts", type=int, default=6)
    ap.add_argument("--series", type=int, default=8)
    ap.add_argument("--points", type=int, default=3600)
    ap.add_argument("--updates", type=int, default=60)
    a = ap.parse_args()
    libs = LIBS
    for js, _ in libs.values():
        if not js.is_file():
            print(f"chart_bench: {js} missing (tools/packages.txt: libjs-chart.js)", file=sys.stderr)
            return 2
    results = {k: [] for k in libs}
    d = driver()
    try:
        for run in range(a.runs):
            for kind, (js, css) in libs.items():
                url = (f"file://{HERE}/chart_bench.html?kind={kind}&lib=file://{js}"
                       f"&charts={a.charts}&series={a.series}&points={a.points}&updates={a.updates}")
                if css:
                    url += f"&css=file://{css}"
                d.get(url)
                deadline = time.time() + 300
                r = None
                while time.time() < deadline:
                    r = d.execute_script("return window.result")
                    if r:
                        break
                    time.sleep(0.2)
                if not r or "error" in r:
                    print(f"{kind}: failed: {r}", file=sys.stderr)
                    return 1
                results[kind].append(r)
                print(json.dumps(r))
    finally:
        d.quit()
    med = {k: sorted(x["medianMs"] for x in v)[len(v) // 2] for k, v in results.items()}
    print(f"\n{a.charts} charts x {a.series} series x {a.points} points, {a.updates} updates, {a.runs} runs")
    for k, v in results.items():
        print(f"  {k:8} median of medians {med[k]:7.2f} ms/update  worst p95 {max(x['p95Ms'] for x in v):7.2f} ms"
              f"  max {max(x['maxMs'] for x in v):7.2f} ms  setup {sorted(x['setupMs'] for x in v)[len(v)//2]:7.1f} ms"
              f"  long tasks {sum(x['longTasksDuringUpdates'] for x in v)}")
    print(f"  ratio chartjs/uplot: {med['chartjs'] / med['uplot']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
