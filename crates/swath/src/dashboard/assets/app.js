// The Swath dashboard: polls the JSON API (docs/dashboard.md) and draws the
// statements, their progress and plans, and memory and throughput. Plain DOM:
// every text from the server goes through textContent.
"use strict";

const QUERIES_EVERY_MS = 500;
const EXECUTORS_EVERY_MS = 1000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

function duration(ms) {
  if (ms < 1000) return ms + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  const m = Math.floor(s / 60);
  return m + " min " + Math.round(s - 60 * m) + " s";
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString();
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("not logged in");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
  return body;
}

function showStatus(text) {
  const p = document.getElementById("status");
  p.textContent = text || "";
  p.hidden = !text;
}

async function cancelQuery(id, button) {
  button.disabled = true;
  try {
    await api("/api/queries/" + id + "/cancel", {
      method: "POST",
      headers: { "X-Swath-Request": "1" },
    });
    showStatus("");
  } catch (e) {
    showStatus("cancel: " + e.message);
    button.disabled = false;
  }
}

function progressCell(q) {
  const parts = [];
  if (q.tasks_total) parts.push(q.tasks_done + "/" + q.tasks_total + " tasks");
  if (q.chunks_total) parts.push(q.chunks_done + "/" + q.chunks_total + " chunks");
  if (q.partitions_total) parts.push(q.partitions_done + "/" + q.partitions_total + " partitions");
  if (q.bytes_fetched) parts.push(bytes(q.bytes_fetched) + " fetched");
  if (q.rows_out !== undefined && q.rows_out !== null) parts.push(q.rows_out + " rows");
  if (q.stages) parts.push(q.stages_done + "/" + q.stages + " stages");
  if (q.memory_bytes) parts.push(bytes(q.memory_bytes) + " held");
  const bar = el("progress", { max: "1", value: String(q.fraction), "data-fraction": String(q.fraction) });
  return el("td", { class: "progress" }, bar, el("span", { class: "progress-text" }, parts.join(" · ")));
}

function live(state) {
  return state === "running" || state === "planned";
}

function renderQueries(body) {
  document.getElementById("user").textContent = body.user;
  const tbody = document.querySelector("#queries tbody");
  const rows = body.queries.map((q) => {
    const cancel = live(q.state)
      ? el("button", { class: "cancel", "data-cancel": String(q.id), onclick: (e) => cancelQuery(q.id, e.target) }, "Cancel")
      : null;
    return el("tr", { "data-query-id": String(q.id), "data-state": q.state },
      el("td", {}, String(q.id)),
      el("td", {}, q.user),
      el("td", { class: "sql", title: q.sql }, el("a", { href: "#/queries/" + q.id }, q.sql)),
      el("td", {}, q.started_ms ? clock(q.started_ms) : "–"),
      el("td", {}, q.elapsed_ms === null ? "–" : duration(q.elapsed_ms)),
      el("td", {}, el("span", { class: "state " + q.state, title: q.error || "" }, q.state)),
      progressCell(q),
      el("td", {}, cancel));
  });
  tbody.replaceChildren(...rows);
  document.getElementById("no-queries").hidden = rows.length > 0;
}

function chart(id, values) {
  const svg = document.getElementById(id);
  const max = Math.max(1, ...values);
  const n = values.length;
  const points = values.map((v, i) => {
    const x = n > 1 ? (i * 300) / (n - 1) : 0;
    const y = 58 - (v / max) * 56;
    return x.toFixed(1) + "," + y.toFixed(1);
  }).join(" ");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points);
  svg.replaceChildren(line);
}

function sparkline(values) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 100 20");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "spark");
  const max = Math.max(1, ...values);
  const n = values.length;
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", values.map((v, i) =>
    (n > 1 ? (i * 100) / (n - 1) : 0).toFixed(1) + "," + (19 - (v / max) * 18).toFixed(1)).join(" "));
  svg.append(line);
  return svg;
}

function throughputCell(x, key) {
  const t = x.throughput || [];
  if (!t.length) return el("td", {}, "–");
  const values = t.map((s) => s[key]);
  return el("td", { class: "throughput", "data-max": String(Math.max(...values)) },
    sparkline(values), el("span", {}, bytes(values[values.length - 1]) + "/s"));
}

function renderExecutors(body) {
  document.getElementById("mode").textContent =
    body.mode === "cluster" ? "cluster · scheduler " + body.scheduler : "embedded engine";
  const rows = body.executors.map((x) => el("tr", { "data-executor": x.id },
    el("td", {}, x.id),
    el("td", {}, x.host + (x.port ? ":" + x.port : "")),
    el("td", {}, String(x.slots)),
    el("td", {}, x.running_tasks === null || x.running_tasks === undefined ? "–" : String(x.running_tasks)),
    el("td", {}, bytes(x.rss_bytes)),
    el("td", {}, bytes(x.peak_rss_bytes)),
    el("td", {}, x.memory_limit_bytes ? bytes(x.memory_limit_bytes) : "none"),
    el("td", {}, x.last_heartbeat_ms ? clock(x.last_heartbeat_ms) : "–"),
    throughputCell(x, "fetch_bytes_per_s"),
    throughputCell(x, "decode_bytes_per_s")));
  const p = body.process;
  const table = el("table", { id: "executor-table" },
    el("thead", {}, el("tr", {}, ...["executor", "host", "slots", "running tasks", "RSS", "peak RSS", "memory limit", "heartbeat", "fetch", "decode"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
  const summary = el("p", { class: "muted", id: "process-summary" },
    "This process: " + bytes(p.rss_bytes) + " resident, " + bytes(p.pool_bytes) + " in " + p.sessions +
    " session pool" + (p.sessions === 1 ? "" : "s") +
    (body.pool_limit_bytes ? " (limit " + bytes(body.pool_limit_bytes) + " each)" : "") +
    ", " + p.running + " statement" + (p.running === 1 ? "" : "s") + " running" +
    (body.error ? " · scheduler: " + body.error : ""));
  summary.setAttribute("data-pool-bytes", String(p.pool_bytes));
  document.getElementById("executors").replaceChildren(table, summary);
  const h = p.history;
  chart("chart-rss", h.map((s) => s.rss_bytes));
  chart("chart-pool", h.map((s) => s.pool_bytes));
  chart("chart-fetch", h.map((s) => s.fetch_bytes_per_s));
  chart("chart-decode", h.map((s) => s.decode_bytes_per_s));
  const last = h[h.length - 1];
  if (last) {
    document.getElementById("rss-now").textContent = bytes(last.rss_bytes);
    document.getElementById("pool-now").textContent = bytes(last.pool_bytes);
    document.getElementById("fetch-now").textContent = bytes(last.fetch_bytes_per_s) + "/s";
    document.getElementById("decode-now").textContent = bytes(last.decode_bytes_per_s) + "/s";
  }
}

function planTree(op) {
  const metrics = op.metrics.map(([k, v]) => k + "=" + v).join(", ");
  return el("li", {},
    el("div", { class: "op" }, op.name),
    metrics ? el("div", { class: "metrics" }, metrics) : null,
    op.children.length ? el("ul", {}, ...op.children.map(planTree)) : null);
}

function renderDetail(q) {
  document.getElementById("d-id").textContent = "#" + q.id;
  const state = document.getElementById("d-state");
  state.textContent = q.state;
  state.className = "state " + q.state;
  state.setAttribute("data-state", q.state);
  document.getElementById("d-sql").textContent = q.sql;
  const table = el("table", {}, el("tbody", {}, el("tr", {},
    el("td", {}, q.user + " · " + q.origin + " · started " + clock(q.started_ms) + " · " + duration(q.elapsed_ms)),
    progressCell(q))));
  document.getElementById("d-progress").replaceChildren(table);
  const error = document.getElementById("d-error");
  error.textContent = q.error || "";
  error.hidden = !q.error;
  const cancel = document.getElementById("d-cancel");
  cancel.hidden = !live(q.state);
  cancel.onclick = (e) => cancelQuery(q.id, e.target);
  const box = document.getElementById("d-quicklook-box");
  const chunks = q.quicklook_chunks;
  box.hidden = chunks === undefined || chunks === null;
  if (!box.hidden) {
    const img = document.getElementById("d-quicklook");
    // A new picture when more chunks arrived (or the statement changed).
    const key = q.id + ":" + chunks + ":" + q.state;
    if (img.getAttribute("data-key") !== key) {
      img.setAttribute("data-key", key);
      img.src = "/api/queries/" + q.id + "/quicklook.png?chunks=" + chunks;
    }
    img.setAttribute("data-chunks", String(chunks));
    document.getElementById("d-quicklook-chunks").textContent = "(" + chunks + " chunks)";
  }
  document.getElementById("d-plan").replaceChildren(q.operators ? el("ul", {}, planTree(q.operators)) : el("p", { class: "muted" }, "not planned yet"));
  document.getElementById("d-items-total").textContent =
    q.items_total > q.items.length ? "(" + q.items.length + " of " + q.items_total + ")" : "(" + q.items_total + ")";
  document.getElementById("d-items").replaceChildren(...q.items.map((i) => el("li", {}, i)));
}

function route() {
  const m = window.location.hash.match(/^#\/queries\/([\w-]+)$/);
  document.getElementById("overview").hidden = !!m;
  document.getElementById("detail").hidden = !m;
  return m ? m[1] : null;
}

async function tick(what, every, work) {
  for (;;) {
    try {
      await work();
      showStatus("");
    } catch (e) {
      if (e.message !== "not logged in") showStatus(what + ": " + e.message);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  route();
  tick("statements", QUERIES_EVERY_MS, async () => {
    const id = route();
    if (id) renderDetail(await api("/api/queries/" + id));
    else renderQueries(await api("/api/queries"));
  });
  tick("executors", EXECUTORS_EVERY_MS, async () => {
    if (!route()) renderExecutors(await api("/api/executors"));
  });
});
