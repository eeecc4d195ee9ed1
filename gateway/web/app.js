// Bulwark web view: the last hour from api/history at once, then one snapshot a second from
// the Server-Sent Events stream api/stream (formats in gateway/web/README.md). Read-only; no
// third-party origin, no inline script or style (the CSP forbids both): the DOM is built with
// textContent and classes, chart and bar sizes through the CSSOM.
"use strict";

const HOUR = 3600;
const SVG = "http://www.w3.org/2000/svg";
const stats = { updates: 0, lastLatencyMs: null, latencyMs: [], renderMs: [], firstSnapshotAt: null, longTasks: [],
                messageBytes: [] };
window.bulwarkStats = stats;  // read by the tests and the benchmarks
if (window.PerformanceObserver && PerformanceObserver.supportedEntryTypes &&
    PerformanceObserver.supportedEntryTypes.includes("longtask")) {
  new PerformanceObserver((l) => { for (const e of l.getEntries()) stats.longTasks.push([e.startTime, e.duration]); })
    .observe({ type: "longtask", buffered: true });
}

// ---- units ---------------------------------------------------------------------------
function si(v, unit, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const steps = ["", "k", "M", "G", "T"];
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1000 && i < steps.length - 1) { x /= 1000; i++; }
  const sign = v < 0 ? "-" : "";
  const text = x === 0 ? "0" : x >= 100 ? x.toFixed(0) : x.toPrecision(digits).replace(/\.?0+$/, "");
  return `${sign}${text} ${steps[i]}${unit}`;
}
const bits = (bps) => si(bps, "bit/s");
const perSec = (n, what = "pkt/s") => si(n, what);
const bytes = (n) => si(n, "B");
const count = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en"));
const pad = (n) => String(n).padStart(2, "0");
function clock(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const today = new Date();
  const t = clock(d.getTime() / 1000);
  return d.toDateString() === today.toDateString() ? t : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${t}`;
}
function duration(seconds) {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

// ---- DOM helpers -----------------------------------------------------------------------
// An update writes only what changed (most of the page is the same from one second to the
// next), and never reads layout: no style recalculation or layout for unchanged text.
const $ = (id) => document.getElementById(id);
function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}
function setClass(e, cls) {
  if (e.className !== cls) e.className = cls;
}
function setAttr(e, name, value) {
  if (e.getAttribute(name) !== value) e.setAttribute(name, value);
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}
// Sets the rows of `table`'s body; `cells` gives [text, numeric?, class] per column. Rows
// and cells are kept and only their changed text and classes written.
function fillTable(table, rows, cells) {
  const body = table.tBodies[0];
  while (body.rows.length > rows.length) body.lastChild.remove();
  rows.forEach((r, i) => {
    const tr = body.rows[i] || body.appendChild(document.createElement("tr"));
    const cols = cells(r);
    while (tr.cells.length > cols.length) tr.lastChild.remove();
    cols.forEach(([text, num, cls], j) => {
      const td = tr.cells[j] || tr.appendChild(document.createElement("td"));
      setClass(td, [num ? "num" : "", cls || ""].join(" ").trim());
      setText(td, text);
    });
  });
}
function setBar(bar, parts) {
  // parts: [[fraction 0..1, class]]
  if (bar.children.length !== parts.length) bar.replaceChildren(...parts.map(() => el("span")));
  parts.forEach(([f, cls], i) => {
    const s = bar.children[i];
    setClass(s, cls || "");
    const w = `${Math.max(0, Math.min(100, f * 100)).toFixed(1)}%`;
    if (s.style.width !== w) s.style.width = w;
  });
}

// ---- time series -----------------------------------------------------------------------
// One uPlot per chart; each keeps its own columns (time + one per series), at most an hour.
class Chart {
  constructor(parent, title, series, format) {
    this.box = el("div", "chart");
    this.head = el("h3", undefined, title);
    this.now = el("span", "now");
    this.head.appendChild(this.now);
    this.plotEl = el("div", "plot");
    this.box.append(this.head, this.plotEl);
    parent.appendChild(this.box);
    this.keys = series.map((s) => s.key);
    this.format = format;
    this.data = [[], ...series.map(() => [])];
    const width = Math.max(280, this.plotEl.clientWidth || 400);
    this.plot = new uPlot({
      width, height: 170,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { y: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] } },
      axes: [
        // HH:MM, or HH:MM:SS when the ticks are less than a minute apart.
        { values: (u, ticks) => ticks.map((t) => (ticks.length > 1 && ticks[1] - ticks[0] < 60 ? clock(t) : clock(t).slice(0, 5))) },
        { size: 72, values: (u, ticks) => ticks.map((t) => format(t)) },
      ],
      series: [{ value: (u, t) => (t ? clock(t) : "–") },
        ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.25, value: (u, v) => format(v),
                                 fill: s.fill || undefined }))],
    }, this.data, this.plotEl);
    new ResizeObserver(() => {
      const w = this.plotEl.clientWidth;
      if (w > 0 && Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: 170 });
    }).observe(this.plotEl);
    // Charts off screen keep their data but draw only when they come into view: most of an
    // update's main-thread time is drawing 3,600 points per series.
    this.visible = true;
    this.dirty = false;
    this.nowText = "";
    new IntersectionObserver((entries) => {
      this.visible = entries[entries.length - 1].isIntersecting;
      this.draw();
    }).observe(this.box);
  }
  // Draws the points pushed since the last draw (in the update's frame, or when the chart
  // comes into view or the tab is shown again).
  draw() {
    setText(this.now, this.nowText);
    if (this.visible && this.dirty && !document.hidden) {
      this.dirty = false;
      this.plot.setData(this.data);
    }
  }
  // history: {t_end, step, series: {key: [values]}}
  load(history) {
    const n = history.n || 0;
    const t = new Array(n);
    for (let i = 0; i < n; i++) t[i] = history.t_end - (n - 1 - i) * history.step;
    this.data = [t, ...this.keys.map((k) => (history.series[k] ? history.series[k].slice() : new Array(n).fill(null)))];
    this.plot.setData(this.data);
  }
  push(t, values) {
    const d = this.data;
    if (d[0].length && t <= d[0][d[0].length - 1]) return;
    d[0].push(t);
    values.forEach((v, i) => d[i + 1].push(v === undefined ? null : v));
    while (d[0].length > HOUR) d.forEach((col) => col.shift());
    this.dirty = true;
    this.nowText = values.map((v) => this.format(v)).join(" / ");
  }
}

const palette = ["#1f77b4", "#d46a00", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#b3261e"];
const charts = new Map();   // id -> Chart
let history = null;         // api/history answer, until each chart has taken its part

function chartFor(id, parent, title, series, format) {
  let c = charts.get(id);
  if (c && c.keys.join() === series.map((s) => s.key).join()) return c;
  if (c) c.box.remove();
  c = new Chart(parent, title, series, format);
  if (history) c.load(history);
  charts.set(id, c);
  return c;
}

// ---- views -----------------------------------------------------------------------------
// The map's SVG is built when the segments or the column count change; each update then sets
// its rates and link widths in place.
const map = { key: null, nodes: [] };
let mapNarrow = false;  // the box is < 600 px wide (a ResizeObserver keeps it, no layout read)
function renderMap(snap) {
  const segs = snap.segments || [];
  const box = $("segmap");
  const n = segs.length;
  const cols = Math.max(1, Math.min(n, mapNarrow ? 2 : 6));
  const key = JSON.stringify([cols, snap.gateway, segs.map((s) => [s.name, s.vlan, s.up === false])]);
  const W = 1200, cellW = W / cols, gwY = 26, top = 96, cellH = 86;
  if (key !== map.key) {
    map.key = key;
    map.nodes = [];
    const rows = Math.ceil(n / cols);
    const H = top + rows * cellH - 8;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, "aria-hidden": "true" });
    const gw = svg("g", { class: "node gw" });
    gw.append(svg("rect", { x: W / 2 - 90, y: gwY - 20, width: 180, height: 40, rx: 6 }));
    const gt = svg("text", { x: W / 2, y: gwY + 5, "text-anchor": "middle" });
    gt.textContent = snap.gateway || "gateway";
    gw.append(gt);
    segs.forEach((s, i) => {
      const cx = (i % cols) * cellW + cellW / 2;
      const cy = top + Math.floor(i / cols) * cellH;
      const line = svg("line", { class: "link l0", x1: W / 2, y1: gwY + 20, x2: cx, y2: cy - 18 });
      root.append(line);
      const g = svg("g", { class: `node${s.up === false ? " down" : ""}` });
      g.append(svg("rect", { x: cx - cellW / 2 + 6, y: cy - 18, width: cellW - 12, height: 70, rx: 6 }));
      const name = svg("text", { x: cx, y: cy, "text-anchor": "middle" });
      name.textContent = `${s.name}${s.vlan ? ` (VLAN ${s.vlan})` : ""}${s.up === false ? " DOWN" : ""}`;
      const rin = svg("text", { class: "rate in", x: cx, y: cy + 20, "text-anchor": "middle" });
      const rout = svg("text", { class: "rate out", x: cx, y: cy + 38, "text-anchor": "middle" });
      g.append(name, rin, rout);
      root.append(g);
      map.nodes.push({ line, rin, rout });
    });
    root.append(gw);
    box.replaceChildren(root);
  }
  segs.forEach((s, i) => {
    const m = map.nodes[i];
    // Line width and shade by the absolute load: < 10 kbit/s, < 1, 10, 100 Mbit/s, more.
    const load = (s.rx_bps || 0) + (s.tx_bps || 0);
    const level = load < 1e4 ? 0 : load < 1e6 ? 1 : load < 1e7 ? 2 : load < 1e8 ? 3 : 4;
    setAttr(m.line, "class", `link l${level}`);
    setAttr(m.line, "stroke-width", (1.5 + 1.5 * Math.log10(1 + load / 1e4)).toFixed(1));
    setText(m.rin, `in ${bits(s.rx_bps)}`);
    setText(m.rout, `out ${bits(s.tx_bps)}`);
  });
  setAttr(box, "aria-label", "Segment map: " + segs.map((s) => `${s.name} in ${bits(s.rx_bps)}, out ${bits(s.tx_bps)}`).join("; "));
  fillTable($("seg-table"), segs, (s) => [
    [s.name], [s.iface || "–"], [bits(s.rx_bps), true], [bits(s.tx_bps), true],
    [perSec(s.rx_pps), true], [perSec(s.tx_pps), true],
    [count((s.rx_errors || 0) + (s.tx_errors || 0)), true, (s.rx_errors || s.tx_errors) ? "ev-bad" : ""],
    [count((s.rx_dropped || 0) + (s.tx_dropped || 0)), true],
  ]);
}

let tilesKey = null;
function renderTiles(snap) {
  const list = snap.health || [];
  const key = JSON.stringify(list);
  if (key === tilesKey) return;
  tilesKey = key;
  $("tiles-empty").hidden = list.length > 0;
  const frag = document.createDocumentFragment();
  for (const h of list) {
    const state = h.state === "up" || h.state === "down" ? h.state : "unknown";
    const li = el("li", `tile ${state}`);
    li.dataset.check = h.name;
    li.tabIndex = 0;
    const lat = h.latency_ms !== undefined && h.latency_ms !== null ? ` · ${h.latency_ms.toFixed(1)} ms` : "";
    li.append(el("span", "name", h.name), el("span", "state", state),
      el("span", "detail", `${h.check || ""}${lat}`),
      el("span", "detail", h.since ? `since ${when(h.since)}` : ""));
    if (h.detail) li.append(el("span", "detail", h.detail));
    li.setAttribute("aria-label", `${h.name}: ${state}${h.detail ? ", " + h.detail : ""}`);
    frag.appendChild(li);
  }
  $("tiles").replaceChildren(frag);
}

// Each snapshot's points into the charts' data (drawn by render, once per frame).
function feedCharts(snap) {
  const t = snap.t;
  for (const s of snap.segments || []) {
    const c = chartFor(`seg:${s.name}`, $("seg-charts"), s.name, [
      { key: `seg/${s.name}/rx_bps`, label: "in", color: "#1f77b4" },
      { key: `seg/${s.name}/tx_bps`, label: "out", color: "#d46a00" },
    ], bits);
    c.push(t, [s.rx_bps, s.tx_bps]);
  }
  const pairs = snap.pairs || [];
  const pairSeries = (field) => pairs.map((p, i) => ({ key: `pair/${p.from}>${p.to}/${field}`,
    label: `${p.from}→${p.to}`, color: palette[i % palette.length] }));
  if (pairs.length) {
    chartFor("pairs:allow", $("pair-charts"), "Allowed", pairSeries("allow_bps"), bits)
      .push(t, pairs.map((p) => p.allow_bps));
    chartFor("pairs:drop", $("pair-charts"), "Dropped", pairSeries("drop_pps"), (v) => perSec(v))
      .push(t, pairs.map((p) => p.drop_pps));
  }
  const r = snap.resources || {};
  if (r.cpu) {
    chartFor("res:cpu", $("res-charts"), "CPU", [
      { key: "cpu/busy", label: "busy", color: "#1f5fa8" },
      { key: "cpu/softirq", label: "softirq", color: "#d46a00" },
    ], (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} %`)).push(t, [r.cpu.busy, r.cpu.softirq]);
  }
  if (r.conntrack && r.conntrack.entries >= 0) {
    chartFor("res:ct", $("res-charts"), "Conntrack entries", [{ key: "ct/entries", label: "entries", color: "#2ca02c" }],
      (v) => si(v, "")).push(t, [r.conntrack.entries]);
  }
}

function renderCharts(snap) {
  for (const c of charts.values()) c.draw();
  fillTable($("pair-table"), snap.pairs || [], (p) => [[p.from], [p.to], [bits(p.allow_bps), true],
    [perSec(p.allow_pps), true], [perSec(p.drop_pps), true, p.drop_pps > 0 ? "ev-bad" : ""]]);
}

function renderTalkers(snap) {
  const top = snap.top || {};
  fillTable($("flow-table"), top.flows || [], (f) => [[f.proto],
    [f.sport ? `${f.src}:${f.sport}` : f.src], [f.dport ? `${f.dst}:${f.dport}` : f.dst], [bits(f.bps), true]]);
  fillTable($("src-table"), top.sources || [], (s) => [[s.src], [count(s.flows), true], [bits(s.bps), true]]);
  const note = $("talkers-note");
  const hidden = !top.error && top.entries !== undefined;
  if (note.hidden !== hidden) note.hidden = hidden;
  if (top.error) setText(note, `Top talkers unavailable: ${top.error}`);
  setText($("talkers-sub"), `last ${top.window_s || 10} s, conntrack accounting` +
    (top.entries !== undefined ? `, ${count(top.entries)} connections` : ""));
}

function renderTunnels(snap) {
  const list = snap.tunnels || [];
  if ($("tun-empty").hidden !== list.length > 0) $("tun-empty").hidden = list.length > 0;
  fillTable($("tun-table"), list, (u) => {
    const since = u.since ? new Date(u.since).getTime() / 1000 : null;
    return [[u.user], [u.group || "–"], [u.virtual_ip || "–"],
      [since ? `${when(u.since)} (${duration(snap.t - since)})` : "–"],
      [bits(u.in_bps), true], [bits(u.out_bps), true], [`${bytes(u.bytes_in)} / ${bytes(u.bytes_out)}`, true]];
  });
}

function renderResources(snap) {
  const r = snap.resources || {};
  if (r.cpu) {
    setText($("cpu-text"), `${r.cpu.busy.toFixed(1)} % busy (softirq ${r.cpu.softirq.toFixed(1)} %, system ` +
      `${r.cpu.system.toFixed(1)} %) of ${r.cpus || "?"} CPUs`);
    const busyRest = Math.max(0, r.cpu.busy - r.cpu.softirq - r.cpu.system);
    setBar($("cpu-bar"), [[busyRest / 100, ""], [r.cpu.system / 100, "sys"], [r.cpu.softirq / 100, "softirq"]]);
  }
  if (r.mem && r.mem.total) {
    const used = r.mem.total - r.mem.available;
    setText($("mem-text"), `${bytes(used)} used of ${bytes(r.mem.total)}; bulwarkd ${bytes(r.daemon_rss)}`);
    setBar($("mem-bar"), [[used / r.mem.total, used / r.mem.total > 0.9 ? "crit" : ""]]);
  }
  const ct = r.conntrack || {};
  if (ct.entries >= 0 && ct.max > 0) {
    const f = ct.entries / ct.max;
    setText($("ct-text"), `${count(ct.entries)} of ${count(ct.max)} (${(100 * f).toFixed(1)} %)`);
    setBar($("ct-bar"), [[f, f > 0.8 ? "crit" : f > 0.6 ? "warn" : ""]]);
  } else {
    setText($("ct-text"), "not readable (conntrack not loaded?)");
  }
  setText($("ha-text"), r.ha ? `${r.ha.role}${r.ha.peer ? `, peer ${r.ha.peer}` : ""}` : "not configured");
}

let eventsKey = null;
function renderEvents(snap) {
  const events = snap.events || [];
  // The same changes as last time (they are few and rare): nothing to write. The times are
  // shown relative to today, so a new day redraws them too.
  const key = `${new Date().toDateString()} ${events.length} ${JSON.stringify(events[events.length - 1] || null)}`;
  if (key === eventsKey) return;
  eventsKey = key;
  const list = events.slice().reverse();
  fillTable($("event-table"), list, (e) => [[when(e.time)], [e.event, false, e.ok === false || /fail|rolled|rollback|drift/.test(e.event) ? "ev-bad" : "ev-ok"],
    [e.revision ? String(e.revision) : "–", true], [e.who || "–"], [e.summary || ""]]);
}

// Every snapshot's points go into the charts' data at once; the DOM is written once per
// frame, for the newest snapshot only (two snapshots within a frame cost one render).
let pending = null;
let lastSnap = null;
// `inFrame`: called from a requestAnimationFrame callback, so this frame shows it.
function render(snap, inFrame = false) {
  const start = performance.now();
  lastSnap = snap;
  setText($("gw-name"), snap.gateway || "gateway");
  if (document.title !== `Bulwark ${snap.gateway || "gateway"}`) document.title = `Bulwark ${snap.gateway || "gateway"}`;
  setText($("clock"), clock(snap.t));
  if (snap.you) setText($("who"), `${snap.you.cn} (${snap.you.group}, ${snap.you.role})`);
  renderMap(snap);
  renderTiles(snap);
  renderCharts(snap);
  renderTalkers(snap);
  renderTunnels(snap);
  renderResources(snap);
  renderEvents(snap);
  const spent = performance.now() - start;
  stats.updates++;
  stats.renderMs.push(spent);
  if (stats.renderMs.length > 600) stats.renderMs.shift();
  // Update-to-screen: from the daemon's publish time to the frame that shows it.
  const shown = () => {
    if (!snap.ms) return;
    stats.lastLatencyMs = Date.now() - snap.ms;
    stats.latencyMs.push(stats.lastLatencyMs);
    if (stats.latencyMs.length > 600) stats.latencyMs.shift();
  };
  if (inFrame) shown(); else requestAnimationFrame(shown);
  if (stats.firstSnapshotAt === null) stats.firstSnapshotAt = performance.now();
}
function onSnapshot(snap) {
  feedCharts(snap);
  const first = pending === null;
  pending = snap;
  if (!first) return;
  // A hidden tab gets no frames: render at once (cheap there, its charts only keep data).
  if (document.hidden) {
    pending = null;
    render(snap);
    return;
  }
  requestAnimationFrame(() => {
    const s = pending;
    pending = null;
    render(s, true);
  });
}
document.addEventListener("visibilitychange", () => {
  for (const c of charts.values()) c.draw();
});

// ---- wiring ----------------------------------------------------------------------------
let lastT = 0;
let staleTimer = null;
function setLive(live, text) {
  const d = $("live");
  setClass(d, `dot ${live ? "live" : "stale"}`);
  setText(d, text);
}

async function loadHistory() {
  try {
    const r = await fetch("api/history", { cache: "no-store" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    history = await r.json();
    for (const c of charts.values()) c.load(history);
  } catch (e) {
    setLive(false, `history unavailable (${e.message})`);
  }
}

function connect() {
  const es = new EventSource("api/stream");
  es.addEventListener("snapshot", (m) => {
    let snap;
    try { snap = JSON.parse(m.data); } catch { return; }
    // A gap (reconnect, suspended tab): the history fills it in.
    const gap = lastT && snap.t - lastT > 5;
    lastT = snap.t;
    stats.messageBytes.push(m.data.length);
    if (stats.messageBytes.length > 600) stats.messageBytes.shift();
    onSnapshot(snap);
    setLive(true, "live");
    clearTimeout(staleTimer);
    staleTimer = setTimeout(() => setLive(false, "no update for 5 s"), 5000);
    if (gap) loadHistory();
  });
  es.onerror = () => setLive(false, "reconnecting");
}

async function start() {
  new ResizeObserver((entries) => {
    const narrow = entries[entries.length - 1].contentRect.width < 600;
    if (narrow !== mapNarrow) {
      mapNarrow = narrow;
      if (lastSnap) renderMap(lastSnap);
    }
  }).observe($("segmap"));
  const snap = fetch("api/snapshot", { cache: "no-store" }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  await loadHistory();
  const first = await snap;
  if (first) {
    lastT = first.t;
    feedCharts(first);
    render(first);
  }
  connect();
}
document.addEventListener("DOMContentLoaded", start);
