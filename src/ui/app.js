// The lambent dashboard: reads the daemon's admin and Lambda APIs and redraws every few
// seconds. Plain DOM, no framework; text from the daemon is only ever set as text.
"use strict";

const REFRESH_MS = 5000;
const state = { selected: decodeURIComponent((location.hash.match(/^#fn=(.+)$/) || [])[1] || ""), charts: {} };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function getText(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
}

async function listFunctions() {
  const all = [];
  let marker = "";
  do {
    const page = await getJson(`/2015-03-31/functions?MaxItems=50${marker ? "&Marker=" + encodeURIComponent(marker) : ""}`);
    all.push(...(page.Functions || []));
    marker = page.NextMarker || "";
  } while (marker);
  return all.sort((a, b) => a.FunctionName.localeCompare(b.FunctionName));
}

const fmtInt = (n) => (n ?? 0).toLocaleString("en-US");
const fmtGbs = (n) => (n ?? 0).toFixed(3);
const fmtCost = (n) => (n ?? 0).toFixed(6);
const fmtMs = (n) => (n === undefined || n === null ? "–" : Number(n).toFixed(1));

function renderHost(status) {
  const h = status.host || {};
  const box = document.getElementById("host");
  box.replaceChildren(
    el("span", {}, el("b", {}, fmtInt(h.environments)), " environments, "),
    el("span", {}, el("b", {}, fmtInt(h.running)), " running, "),
    el("span", {}, el("b", {}, fmtInt(h.memory_in_use_mb)), ` / ${fmtInt(h.memory_budget_mb)} MB, `),
    el("span", {}, "concurrency limit ", el("b", {}, fmtInt(h.concurrency_limit))));
}

function renderTotals(usage) {
  const t = usage.totals || {};
  const card = (label, value, field) =>
    el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", "data-total": field }, value));
  document.getElementById("totals").replaceChildren(
    card("Invocations", fmtInt(t.requests), "requests"),
    card("Errors", fmtInt(t.errors), "errors"),
    card("Throttles", fmtInt(t.throttles), "throttles"),
    card("Cold starts", fmtInt(t.cold_starts), "cold_starts"),
    card("GB-seconds", fmtGbs(t.gb_seconds), "gb_seconds"),
    card("Cost (USD)", fmtCost(t.cost && t.cost.total), "cost"));
}

function environmentsOf(status, name) {
  const versions = ((status.functions || {})[name] || {}).versions || {};
  let busy = 0, idle = 0, starting = 0;
  for (const v of Object.values(versions)) {
    busy += v.busy || 0;
    idle += v.idle || 0;
    starting += v.starting || 0;
  }
  return `${busy} busy, ${idle} idle` + (starting ? `, ${starting} starting` : "");
}

function renderFunctions(functions, status, usage) {
  const byName = new Map((usage.rows || []).map((row) => [row.function, row]));
  const body = document.querySelector("#functions tbody");
  body.replaceChildren(...functions.map((f) => {
    const u = byName.get(f.FunctionName) || {};
    const num = (field, value, bad) => el("td", { class: bad ? "num bad" : "num", "data-field": field }, value);
    return el("tr", {
      "data-function": f.FunctionName,
      class: f.FunctionName === state.selected ? "selected" : "",
      onclick: () => select(f.FunctionName),
    },
      el("td", { "data-field": "name" }, f.FunctionName),
      el("td", {}, f.Runtime || f.PackageType || ""),
      el("td", {}, `${f.MemorySize} MB`),
      el("td", {}, `${f.Timeout} s`),
      el("td", {}, environmentsOf(status, f.FunctionName)),
      num("requests", fmtInt(u.requests)),
      num("errors", fmtInt(u.errors), u.errors > 0),
      num("throttles", fmtInt(u.throttles), u.throttles > 0),
      num("cold_starts", fmtInt(u.cold_starts)),
      num("gb_seconds", fmtGbs(u.gb_seconds)),
      num("cost", fmtCost(u.cost && u.cost.total)));
  }));
  document.getElementById("functions-empty").hidden = functions.length > 0;
}

function chart(id, series, data) {
  const box = document.getElementById(id);
  // Two side by side when there is room: each figure adds its padding, border and the gap.
  const width = Math.max(320, Math.min(640, Math.floor((document.querySelector(".charts").clientWidth - 64) / 2)));
  if (state.charts[id]) {
    state.charts[id].setData(data);
    return;
  }
  box.replaceChildren();
  state.charts[id] = new uPlot({ width, height: 200, series: [{}, ...series], axes: [{}, { size: 50 }] }, data, box);
}

function renderSeries(series) {
  const points = series.points || [];
  const t = points.map((p) => p.t / 1000);
  chart("chart-count", [
    { label: "Invocations", stroke: "#2563eb", width: 2 },
    { label: "Errors", stroke: "#c2410c", width: 2 },
    { label: "Throttles", stroke: "#a16207", width: 1 },
  ], [t, points.map((p) => p.invocations), points.map((p) => p.errors), points.map((p) => p.throttles)]);
  chart("chart-duration", [
    // Points too: a minute with calls between quiet ones has no line to draw.
    { label: "p50", stroke: "#059669", width: 2, spanGaps: true, points: { show: true, size: 5 } },
    { label: "p99", stroke: "#7c3aed", width: 2, spanGaps: true, points: { show: true, size: 5 } },
  ], [t, points.map((p) => p.p50_ms), points.map((p) => p.p99_ms)]);
}

function renderConfig(f) {
  const item = (label, value) => el("span", {}, `${label} `, el("b", {}, value ?? "–"), " · ");
  document.getElementById("detail-config").replaceChildren(
    item("runtime", f.Runtime || f.PackageType), item("handler", f.Handler), item("memory", `${f.MemorySize} MB`),
    item("timeout", `${f.Timeout} s`), item("architecture", (f.Architectures || []).join(",")),
    item("state", f.State), item("last modified", f.LastModified));
}

function coldStartBreakdown(startup) {
  if (!startup) return "";
  const parts = [];
  const walk = (object, prefix) => {
    for (const [key, value] of Object.entries(object)) {
      if (typeof value === "number" && key !== "TotalMs") parts.push(`${prefix}${key.replace(/Ms$/, "")} ${fmtMs(value)}`);
      else if (value && typeof value === "object") walk(value, `${key}.`);
    }
  };
  walk(startup, "");
  return parts.join(", ");
}

function renderEnvironments(list) {
  document.querySelector("#environments tbody").replaceChildren(...list.map((e) => el("tr", {},
    el("td", {}, e.Id), el("td", {}, e.State), el("td", {}, e.Version), el("td", {}, e.Provisioned ? "yes" : "no"),
    el("td", { class: "num" }, `${e.MemorySize} MB`), el("td", { class: "num" }, fmtInt(e.Invocations)),
    el("td", { class: "num" }, fmtMs(e.Startup && e.Startup.TotalMs)),
    el("td", { class: "muted wrap" }, coldStartBreakdown(e.Startup)))));
  if (!list.length) {
    document.querySelector("#environments tbody").append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No live environments.")));
  }
}

function renderEvents(list) {
  const body = document.querySelector("#events tbody");
  body.replaceChildren(...list.map((e) => el("tr", {},
    el("td", {}, e.RequestId), el("td", {}, e.Qualifier), el("td", { class: e.State === "failed" ? "bad" : "" }, e.State),
    el("td", { class: "num" }, e.Attempts), el("td", { class: "wrap" }, e.LastError), el("td", {}, e.EnqueuedAt), el("td", {}, e.UpdatedAt))));
  if (!list.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No async events.")));
}

async function renderDetail(functions) {
  const detail = document.getElementById("detail");
  const f = functions.find((x) => x.FunctionName === state.selected);
  if (!f) {
    detail.hidden = true;
    return;
  }
  detail.hidden = false;
  const name = encodeURIComponent(f.FunctionName);
  document.getElementById("detail-name").textContent = f.FunctionName;
  renderConfig(f);
  const [series, environments, events, logs] = await Promise.all([
    getJson(`/lambent/v1/usage/series?function=${name}&since=1h&step=60`),
    getJson(`/lambent/v1/functions/${name}/environments`),
    getJson(`/lambent/v1/functions/${name}/events?limit=20`),
    getText(`/lambent/v1/functions/${name}/logs?tail=50&timestamps=true`),
  ]);
  renderSeries(series);
  renderEnvironments(environments.Environments || []);
  renderEvents(events.Events || []);
  const pre = document.getElementById("logs");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = logs || "(no log lines)";
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function select(name) {
  if (name !== state.selected) {
    for (const c of Object.values(state.charts)) c.destroy();
    state.charts = {};
  }
  state.selected = name;
  history.replaceState(null, "", `#fn=${encodeURIComponent(name)}`);
  refresh();
}

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const error = document.getElementById("error");
    try {
      const period = document.getElementById("period").value;
      const [functions, status, usage] = await Promise.all([
        listFunctions(), getJson("/lambent/v1/status"), getJson(`/lambent/v1/usage?by=function&since=${period}`),
      ]);
      if (!state.selected && functions.length) state.selected = functions[0].FunctionName;
      renderHost(status);
      renderTotals(usage);
      renderFunctions(functions, status, usage);
      await renderDetail(functions);
      document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
      error.hidden = true;
      document.body.dataset.loaded = "true";
    } catch (e) {
      error.textContent = `Could not load: ${e.message}`;
      error.hidden = false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

document.getElementById("period").addEventListener("change", refresh);
refresh();
setInterval(refresh, REFRESH_MS);
