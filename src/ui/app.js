// The lambent dashboard: reads the daemon's admin and Lambda APIs and redraws every few
// seconds. Plain DOM, no framework; text from the daemon is only ever set as text.
"use strict";

const REFRESH_MS = 5000;
// The hash keeps what is chosen, so that a link opens the same view: #fn=NAME&inv=REQUEST_ID.
const hash = new URLSearchParams(location.hash.slice(1));
const state = {
  selected: hash.get("fn") || "",
  charts: {},
  invocation: hash.get("inv") || "",  // the request id whose log lines are shown
  shown: "",                          // the one whose lines were fetched
};

function saveHash() {
  const params = new URLSearchParams();
  if (state.selected) params.set("fn", state.selected);
  if (state.invocation) params.set("inv", state.invocation);
  history.replaceState(null, "", `#${params}`);
}
const RECENT_INVOCATIONS = 25;

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

// For the parts an older daemon may not serve: null instead of failing the whole page.
async function getJsonOrNull(path) {
  try {
    return await getJson(path);
  } catch (e) {
    return null;
  }
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

const fmtAge = (ms) => {
  if (!ms) return "–";
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
};

function emptyRow(body, columns, text) {
  body.append(el("tr", {}, el("td", { colspan: columns, class: "muted" }, text)));
}

function renderQueues(queues) {
  const asyncBody = document.querySelector("#async-queues tbody");
  const sqsBody = document.querySelector("#queues tbody");
  if (!queues) {
    asyncBody.replaceChildren();
    sqsBody.replaceChildren();
    emptyRow(asyncBody, 3, "Not served by this daemon.");
    emptyRow(sqsBody, 5, "Not served by this daemon.");
    return;
  }
  asyncBody.replaceChildren(...(queues.async_queues || []).map((q) => el("tr", { "data-async-function": q.function },
    el("td", {}, q.function), el("td", { class: "num", "data-field": "depth" }, fmtInt(q.depth)),
    el("td", { class: "num", "data-field": "oldest_age" }, fmtAge(q.oldest_age_ms)))));
  if (!(queues.async_queues || []).length) emptyRow(asyncBody, 3, "No async events queued.");
  sqsBody.replaceChildren(...(queues.queues || []).map((q) => el("tr", { "data-queue": q.name },
    el("td", {}, q.name), el("td", { class: "num", "data-field": "visible" }, fmtInt(q.visible)),
    el("td", { class: "num", "data-field": "in_flight" }, fmtInt(q.in_flight)),
    el("td", { class: "num", "data-field": "delayed" }, fmtInt(q.delayed)),
    el("td", { class: "num" }, fmtAge(q.oldest_age_ms)))));
  if (!(queues.queues || []).length) emptyRow(sqsBody, 5, "No queues.");
}

function renderInvocations(recent) {
  const body = document.querySelector("#invocations tbody");
  if (!recent) {
    body.replaceChildren();
    emptyRow(body, 9, "Not served by this daemon.");
    return;
  }
  const list = recent.invocations || [];
  body.replaceChildren(...list.map((r) => el("tr", {
    "data-request-id": r.request_id,
    class: r.request_id === state.invocation ? "selected" : "",
    onclick: () => showInvocation(r.request_id, r.time_ms),
  },
    el("td", {}, new Date(r.time_ms).toLocaleTimeString()), el("td", {}, r.function), el("td", {}, r.version),
    el("td", { "data-field": "request_id" }, r.request_id), el("td", {}, r.source),
    el("td", { class: "num" }, fmtMs(r.duration_ms)), el("td", { class: "num" }, fmtInt(r.billed_ms)),
    el("td", { class: r.outcome === "success" ? "" : "bad", "data-field": "outcome" },
      r.outcome === "success" ? "success" : `${r.outcome}${r.error_type ? " (" + r.error_type + ")" : ""}`),
    el("td", { class: "muted" }, r.trace_id))));
  if (!list.length) emptyRow(body, 9, "No invocations yet.");
}

// `timeMs` (the record's time, from the list) lets the daemon find it by its time index; a
// link without it finds invocations of the last hour.
async function showInvocation(requestId, timeMs) {
  state.invocation = requestId;
  state.shown = requestId;
  saveHash();
  for (const row of document.querySelectorAll("#invocations tbody tr")) {
    row.classList.toggle("selected", row.dataset.requestId === requestId);
  }
  const box = document.getElementById("invocation-detail");
  const pre = document.getElementById("invocation-logs");
  document.getElementById("invocation-id").textContent = requestId;
  box.hidden = false;
  const when = Number.isFinite(timeMs) ? `?time=${timeMs}` : "";
  const answer = await getJsonOrNull(`/lambent/v1/invocations/${encodeURIComponent(requestId)}/logs${when}`);
  if (state.invocation !== requestId) return;  // another was chosen meanwhile
  const lines = (answer && answer.lines) || [];
  pre.textContent = !answer ? "(its log lines could not be read)"
    : lines.length ? lines.map((l) => `${new Date(l.timestamp).toISOString()} ${l.message}`).join("\n")
    : "(no log lines)";
  pre.dataset.loaded = "true";
}

function select(name) {
  if (name !== state.selected) {
    for (const c of Object.values(state.charts)) c.destroy();
    state.charts = {};
  }
  state.selected = name;
  saveHash();
  refresh();
}

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const error = document.getElementById("error");
    try {
      const period = document.getElementById("period").value;
      const [functions, status, usage, queues, recent] = await Promise.all([
        listFunctions(), getJson("/lambent/v1/status"), getJson(`/lambent/v1/usage?by=function&since=${period}`),
        getJsonOrNull("/lambent/v1/queues"), getJsonOrNull(`/lambent/v1/invocations?limit=${RECENT_INVOCATIONS}`),
      ]);
      if (!state.selected && functions.length) state.selected = functions[0].FunctionName;
      renderHost(status);
      renderTotals(usage);
      renderFunctions(functions, status, usage);
      renderQueues(queues);
      renderInvocations(recent);
      if (state.invocation && state.shown !== state.invocation) await showInvocation(state.invocation);
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
