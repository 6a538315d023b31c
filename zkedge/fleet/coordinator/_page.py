"""The coordinator's status page (``/`` with ``Coordinator(http=...)``): one HTML document with
its style and script inline (no build step, nothing fetched from elsewhere, so it works on a
fleet without internet). The script reads ``/api/status`` every two seconds and draws the
workers, the jobs with their progress, and the recent job times as an SVG bar chart. Text
from the fleet (worker ids, host names, errors) is set as text, never parsed as HTML."""

from __future__ import annotations

__all__ = ["STATUS_PAGE"]

STATUS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zkedge fleet</title>
<style>
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2430; --mute:#6b7483; --line:#e3e6eb;
  --ok:#1f9d55; --warn:#d98a00; --bad:#d2353f; --q:#7a4fd0; --bar:#3b82f6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background:var(--bg); color:var(--ink); }
header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#1d2430;
  color:#fff; }
header h1 { margin:0; font-size:18px; font-weight:600; }
header .meta { color:#b8c0cc; font-size:13px; }
header .live { margin-left:auto; font-size:13px; }
.dot { display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:6px;
  background:var(--mute); }
.dot.on { background:#3ddc84; } .dot.off { background:var(--bad); }
main { padding:18px 24px; display:grid; gap:18px; max-width:1400px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:10px 14px; }
.card .v { font-size:24px; font-weight:600; }
.card .k { color:var(--mute); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:12px 16px; }
section h2 { margin:0 0 10px; font-size:15px; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line);
  white-space:nowrap; }
th { color:var(--mute); font-weight:500; font-size:12px; }
td.num, th.num { text-align:right; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; color:#fff; }
.s-active, .s-done { background:var(--ok); } .s-suspect, .s-running { background:var(--warn); }
.s-dead, .s-failed, .s-cancelled { background:var(--bad); } .s-quarantined { background:var(--q); }
.meter { position:relative; width:110px; height:14px; background:#eef0f3; border-radius:3px;
  overflow:hidden; display:inline-block; vertical-align:middle; }
.meter > i { position:absolute; left:0; top:0; bottom:0; background:var(--bar); }
.meter.wide { width:220px; }
.meter + span { margin-left:6px; color:var(--mute); font-size:12px; }
.hot { color:var(--bad); font-weight:600; }
.empty { color:var(--mute); padding:8px 0; }
.err { color:var(--bad); white-space:normal; }
svg text { font:11px system-ui, sans-serif; fill:var(--mute); }
</style>
</head>
<body>
<header>
  <h1>zkedge fleet</h1>
  <span class="meta" id="coord">connecting…</span>
  <span class="live"><span class="dot" id="dot"></span
    ><span id="updated">waiting for /api/status</span></span>
</header>
<main>
  <div class="cards" id="cards"></div>
  <section>
    <h2>Workers</h2>
    <table id="workers"><thead><tr>
      <th>worker</th><th>state</th><th>host</th><th class="num">threads</th>
      <th class="num">load</th><th>CPU</th><th class="num">temp °C</th><th>throttled</th>
      <th class="num">capacity pt/s</th><th>share</th><th class="num">tasks</th>
      <th class="num">points done</th><th class="num">heartbeat</th>
    </tr></thead><tbody></tbody></table>
    <div class="empty" id="no-workers">no workers registered</div>
  </section>
  <section>
    <h2>Jobs</h2>
    <table id="jobs"><thead><tr>
      <th>job</th><th>kind</th><th>state</th><th>progress</th><th class="num">points</th>
      <th class="num">time</th><th>shares</th>
    </tr></thead><tbody></tbody></table>
    <div class="empty" id="no-jobs">no jobs yet</div>
  </section>
  <section>
    <h2>Recent job times</h2>
    <svg id="chart" width="100%" height="190" role="img" aria-label="recent job times"></svg>
    <div class="empty" id="no-chart">no finished jobs yet</div>
  </section>
</main>
<script>
"use strict";
const SVG = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function fmt(n, digits) {
  if (n === null || n === undefined || !isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return n.toFixed(digits === undefined ? 0 : digits);
}
function secs(s) {
  if (!isFinite(s)) return "–";
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  return (s / 3600).toFixed(1) + " h";
}
function meter(frac, label, wide) {
  const td = el("td");
  const m = el("span", {class: "meter" + (wide ? " wide" : "")});
  const f = Math.max(0, Math.min(1, frac || 0));
  m.appendChild(el("i", {style: "width:" + (100 * f).toFixed(1) + "%"}));
  td.appendChild(m);
  td.appendChild(el("span", {}, label));
  return td;
}
function pill(state) {
  const td = el("td");
  td.appendChild(el("span", {class: "pill s-" + state}, state));
  return td;
}
function cell(text, cls) { return el("td", cls ? {class: cls} : {}, text); }
function card(key, value) {
  const c = el("div", {class: "card"});
  c.appendChild(el("div", {class: "v"}, value));
  c.appendChild(el("div", {class: "k"}, key));
  return c;
}
function renderCards(st) {
  const box = document.getElementById("cards");
  const by = {active: 0, suspect: 0, dead: 0, quarantined: 0};
  let cap = 0;
  for (const w of st.workers) {
    by[w.state] = (by[w.state] || 0) + 1;
    if (w.state === "active") cap += w.capacityPointsPerSec;
  }
  const running = st.jobs.filter(j => j.state === "running").length;
  box.replaceChildren(
    card("workers active", by.active + " / " + st.workers.length),
    card("suspect · dead · quarantined", by.suspect + " · " + by.dead + " · " + by.quarantined),
    card("capacity pt/s", fmt(cap)),
    card("tasks running · pending", st.tasksRunning + " · " + st.tasksPending),
    card("jobs running", running));
}
function renderWorkers(st) {
  const body = document.querySelector("#workers tbody");
  let cap = 0;
  for (const w of st.workers) if (w.state === "active") cap += w.capacityPointsPerSec;
  const rows = st.workers.map(w => {
    const lr = w.loadReport, n = w.node;
    const tr = el("tr", {"data-worker": w.workerId});
    tr.appendChild(cell(w.workerId));
    tr.appendChild(pill(w.state));
    tr.appendChild(cell((n.hostname || "?") + " · " + (n.arch || "?")));
    tr.appendChild(cell(n.threads, "num"));
    tr.appendChild(cell(lr.loadAverage.toFixed(2), "num"));
    tr.appendChild(meter(lr.cpuUtilization, Math.round(100 * lr.cpuUtilization) + "%"));
    const hot = lr.hasTemperature && lr.socTemperatureC >= 80;
    tr.appendChild(cell(lr.hasTemperature ? lr.socTemperatureC.toFixed(0) : "–",
                        "num" + (hot ? " hot" : "")));
    tr.appendChild(cell(lr.hasThrottleFlag ? (lr.throttled ? "yes" : "no") : "–",
                        lr.throttled ? "hot" : ""));
    tr.appendChild(cell(fmt(w.capacityPointsPerSec), "num"));
    const share = w.state === "active" && cap > 0 ? w.capacityPointsPerSec / cap : 0;
    tr.appendChild(meter(share, Math.round(100 * share) + "%"));
    tr.appendChild(cell(w.tasksInFlight, "num"));
    tr.appendChild(cell(fmt(w.pointsDone), "num"));
    tr.appendChild(cell(secs(w.secondsSinceHeartbeat) + " ago", "num"));
    return tr;
  });
  body.replaceChildren(...rows);
  document.getElementById("no-workers").hidden = rows.length > 0;
}
function renderJobs(st) {
  const body = document.querySelector("#jobs tbody");
  const jobs = st.jobs.slice().sort((a, b) =>
    (a.state === "running" ? 0 : 1) - (b.state === "running" ? 0 : 1) ||
    (a.ageSeconds || 0) - (b.ageSeconds || 0)).slice(0, 25);
  const rows = jobs.map(j => {
    const tr = el("tr", {"data-job": j.jobId});
    tr.appendChild(cell(j.jobId));
    tr.appendChild(cell(j.label || ""));
    tr.appendChild(pill(j.outcome || j.state));
    const frac = j.pointsTotal > 0 ? j.pointsDone / j.pointsTotal : 0;
    tr.appendChild(meter(frac, Math.floor(100 * frac) + "%", true));
    tr.appendChild(cell(fmt(j.pointsDone) + " / " + fmt(j.pointsTotal), "num"));
    tr.appendChild(cell(j.ageSeconds === undefined ? "–" : secs(j.ageSeconds), "num"));
    const shares = j.shares.map(s => s.workerId + " " + fmt(s.points)).join(", ");
    tr.appendChild(j.error ? cell(j.error, "err") : cell(shares));
    return tr;
  });
  body.replaceChildren(...rows);
  document.getElementById("no-jobs").hidden = rows.length > 0;
}
function renderChart(st) {
  const chart = document.getElementById("chart");
  const recent = st.recentJobs.slice(-40);
  document.getElementById("no-chart").hidden = recent.length > 0;
  chart.style.display = recent.length ? "" : "none";
  if (!recent.length) return;
  const W = chart.clientWidth || 800, H = 190, L = 48, B = 22, T = 10;
  chart.setAttribute("viewBox", "0 0 " + W + " " + H);
  const top = Math.max(...recent.map(r => r.seconds), 0.001) * 1.1;
  const parts = [];
  for (let i = 0; i <= 4; i++) {
    const v = top * i / 4, y = H - B - (H - B - T) * i / 4;
    parts.push(svg("line", {x1: L, x2: W - 4, y1: y, y2: y, stroke: "#e3e6eb"}));
    parts.push(svg("text", {x: L - 6, y: y + 4, "text-anchor": "end"},
                   v.toFixed(top < 5 ? 2 : 0) + " s"));
  }
  const slot = (W - L - 8) / recent.length, bw = Math.max(2, Math.min(28, slot * 0.7));
  const colour = {done: "#3b82f6", failed: "#d2353f", cancelled: "#9aa3af"};
  recent.forEach((r, i) => {
    const h = (H - B - T) * r.seconds / top, x = L + 4 + i * slot + (slot - bw) / 2;
    const bar = svg("rect", {x: x, y: H - B - h, width: bw, height: Math.max(1, h), rx: 2,
                             fill: colour[r.outcome] || "#3b82f6", "data-job": r.jobId});
    bar.appendChild(svg("title", {}, r.kind + " " + r.jobId + ": " + r.outcome + ", " +
                        r.seconds.toFixed(2) + " s, " + r.points + " points"));
    parts.push(bar);
  });
  parts.push(svg("text", {x: L + 4, y: H - 5}, "older"));
  parts.push(svg("text", {x: W - 6, y: H - 5, "text-anchor": "end"},
                 "newer · " + recent.length + " jobs"));
  chart.replaceChildren(...parts);
}
function render(st) {
  const c = st.coordinator;
  document.getElementById("coord").textContent =
    c.address + " · up " + secs(c.uptimeSeconds) + " · heartbeat " + c.heartbeatInterval + " s";
  renderCards(st);
  renderWorkers(st);
  renderJobs(st);
  renderChart(st);
}
async function refresh() {
  const dot = document.getElementById("dot"), upd = document.getElementById("updated");
  try {
    const r = await fetch("/api/status", {cache: "no-store"});
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    dot.className = "dot on";
    upd.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    dot.className = "dot off";
    upd.textContent = "coordinator unreachable (" + e.message + "), retrying";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""
