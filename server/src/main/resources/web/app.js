// The dashboard: three views over the HTTP API and /ws/analytics. Plain JS, no build step.
"use strict";

const view = document.getElementById("view");

// ---- HTTP ------------------------------------------------------------------------------------

// The API key: asked for once and kept for this tab's session only (sessionStorage), never in a
// cookie, so other sites cannot make the browser send it.
const auth = {
  get key() { return sessionStorage.getItem("aggregator.key"); },
  set key(k) {
    if (k) sessionStorage.setItem("aggregator.key", k);
    else sessionStorage.removeItem("aggregator.key");
  },
};

class Unauthorized extends Error {}

async function api(path, options) {
  const opts = Object.assign({}, options);
  opts.headers = Object.assign({}, opts.headers, { Authorization: "Bearer " + auth.key });
  const response = await fetch(path, opts);
  const body = response.status === 204 ? null : await response.json();
  if (response.status === 401) {
    auth.key = null;
    throw new Unauthorized(body && body.message ? body.message : "an API key is needed");
  }
  if (!response.ok) {
    throw new Error(body && body.message ? body.message : response.status + " " + path);
  }
  return body;
}

function sendJson(method, path, body) {
  return api(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

// ---- live subscriptions ------------------------------------------------------------------------

// One socket; subscriptions survive reconnects (they are sent again, each answered by a snapshot).
const live = {
  socket: null,
  subscriptions: new Map(), // id → {query, onResult}
  alertListeners: new Set(),
  nextId: 1,

  connect() {
    if (!auth.key) return; // connected after login
    // Browsers cannot set headers on a WebSocket: the key goes as a subprotocol, not in the URL.
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host
      + "/ws/analytics", ["aggregator.v1", "bearer." + auth.key]);
    this.socket = ws;
    ws.onopen = () => {
      setLive("live");
      for (const [id, s] of this.subscriptions) this.send({ type: "subscribe", id, query: s.query });
    };
    ws.onclose = () => {
      if (this.socket !== ws) return;
      this.socket = null;
      setLive(auth.key ? "reconnecting…" : "signed out");
      setTimeout(() => this.connect(), 1000);
    };
    ws.onmessage = (event) => {
      const m = JSON.parse(event.data);
      if (m.type === "alert") this.alertListeners.forEach((l) => l(m));
      const s = this.subscriptions.get(m.id);
      if (!s) return;
      if (m.type === "snapshot") s.onResult(m.result, true);
      else if (m.type === "update") s.onResult(m.result, false);
      else if (m.type === "error") s.onError(m.message);
    };
  },

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  },

  subscribe(query, onResult, onError) {
    const id = "s" + this.nextId++;
    this.subscriptions.set(id, { query, onResult, onError: onError || (() => {}) });
    this.send({ type: "subscribe", id, query });
    return id;
  },

  unsubscribeAll() {
    for (const id of this.subscriptions.keys()) this.send({ type: "unsubscribe", id });
    this.subscriptions.clear();
    this.alertListeners.clear();
  },
};

function setLive(text) {
  document.getElementById("live").textContent = text;
}

// ---- series held in the page: a snapshot, then updates merged by timestamp ---------------------

class SeriesSet {
  constructor() {
    this.series = new Map(); // label → Map(timestamp ms → value)
  }

  apply(result, snapshot) {
    if (snapshot) this.series.clear();
    const list = result.series
      ? result.series
      : [{ dimensions: {}, data: result.data || [] }];
    for (const s of list) {
      const label = Object.entries(s.dimensions || {}).map(([k, v]) => k + "=" + v).join(", ")
        || result.metric;
      if (!this.series.has(label)) this.series.set(label, new Map());
      const points = this.series.get(label);
      for (const p of s.data) points.set(Date.parse(p.timestamp), p.value);
    }
    const start = Date.parse(result.start);
    for (const points of this.series.values()) {
      for (const t of points.keys()) if (t < start) points.delete(t); // slid out of the range
    }
  }

  total() {
    let sum = 0;
    for (const points of this.series.values()) for (const v of points.values()) sum += v || 0;
    return sum;
  }

  // uPlot's columns: x (seconds) and one array per series, aligned on every timestamp seen.
  columns() {
    const times = new Set();
    for (const points of this.series.values()) for (const t of points.keys()) times.add(t);
    const xs = [...times].sort((a, b) => a - b);
    const cols = [xs.map((t) => t / 1000)];
    for (const points of this.series.values()) cols.push(xs.map((t) => points.get(t) ?? null));
    return cols;
  }
}

function chart(container, set) {
  const width = Math.max(280, container.clientWidth - 16);
  const series = [{}];
  const palette = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285"];
  let i = 0;
  for (const label of set.series.keys()) {
    series.push({ label, stroke: palette[i++ % palette.length], width: 2, spanGaps: true });
  }
  container.replaceChildren();
  if (series.length === 1) {
    container.append(el("p", { class: "muted" }, "no data yet"));
    return;
  }
  new uPlot({ width, height: 200, series, axes: [{}, { size: 60 }] }, set.columns(), container);
}

// ---- views -------------------------------------------------------------------------------------

async function overview() {
  const d = await api("/api/analytics/dashboard");
  const ingest = d.ingest;
  const tile = (id, value, label) =>
    el("div", { class: "tile" }, el("b", { id }, String(value)), el("span", {}, label));
  view.replaceChildren(
    el("h2", {}, "Ingest"),
    el("div", { class: "tiles" },
      tile("health-status", ingest.status, "status"),
      tile("health-rate", ingest.eventsPerSecond, "events/s"),
      tile("health-queue", ingest.queueDepth, "queued"),
      tile("health-lag", ingest.lagMillis + " ms", "aggregation lag"),
      tile("health-aggregated", ingest.lifecycle.aggregated, "aggregated"),
      tile("health-invalid", ingest.lifecycle.invalid, "invalid"),
      tile("health-dead", ingest.deadLetters.total, "dead letters")),
    el("h2", {}, "Events per minute, last hour (live)"),
    panelsOf(d.panels),
    el("h2", {}, "Active alerts"),
    alertTable(d.alerts.active, false),
    el("h2", {}, "Recent dead letters"),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "time"), el("th", {}, "reason"),
        el("th", {}, "problems"))),
      el("tbody", {}, ...ingest.deadLetters.newest.map((x) => el("tr", {},
        el("td", {}, x.time), el("td", {}, x.reason),
        el("td", {}, x.problems.map((p) => (p.field ? p.field + ": " : "") + p.message)
          .join("; "))))))));
  live.alertListeners.add(() => route());
}

function panelsOf(panels) {
  const grid = el("div", { class: "panels" });
  if (!panels.length) grid.append(el("p", { class: "muted" }, "No events yet."));
  for (const p of panels) {
    const plot = el("div", {});
    const section = el("section", { class: "panel", "data-metric": p.query.metric },
      el("h3", {}, p.title), plot);
    grid.append(section);
    const set = new SeriesSet();
    set.apply(p.data, true);
    live.subscribe(p.query, (result, snapshot) => {
      set.apply(result, snapshot);
      section.setAttribute("data-total", String(set.total()));
      chart(plot, set);
    });
    section.setAttribute("data-total", String(set.total()));
    requestAnimationFrame(() => chart(plot, set));
  }
  return grid;
}

const FIELDS = ["metric", "function", "granularity", "start", "end", "filter", "groupBy", "fill", "tz"];

async function explore(params) {
  const query = {};
  for (const f of FIELDS) {
    const values = params.getAll(f).filter((v) => v);
    if (values.length) query[f] = f === "filter" ? values : values[0];
  }
  const catalog = await api("/api/analytics/metrics");
  const input = (name, value, placeholder) =>
    el("label", {}, name, el("input", { name, value: value || "", placeholder }));
  const metricSelect = el("select", { name: "metric" },
    ...catalog.metrics.map((m) => el("option", m.name === query.metric
      ? { value: m.name, selected: "" } : { value: m.name }, m.name)));
  const form = el("form", { id: "explore-form", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (!v) continue;
      if (k === "filter") v.split(/\s+/).filter(Boolean).forEach((f) => next.append(k, f));
      else next.append(k, v);
    }
    location.hash = "#/explore?" + next.toString();
  } },
  el("label", {}, "metric", metricSelect),
  input("function", query.function, "sum"),
  input("granularity", query.granularity, "1m"),
  input("start", query.start || "now-1h", "now-1h"),
  input("end", query.end, "now"),
  input("filter", (query.filter || []).join(" "), "country:DE device:ios|web"),
  input("groupBy", query.groupBy, "country"),
  el("button", { type: "submit" }, "Show"));
  const plot = el("div", { class: "panel", id: "explore-chart" });
  const table = el("div", { class: "table-wrap", id: "explore-table" });
  const message = el("p", { class: "error", role: "alert" });
  view.replaceChildren(el("h2", {}, "Explorer"), form, message, plot, table);
  if (!query.metric) return;
  const set = new SeriesSet();
  live.subscribe(query, (result, snapshot) => {
    set.apply(result, snapshot);
    plot.setAttribute("data-total", String(set.total()));
    chart(plot, set);
    const rows = [];
    for (const [label, points] of set.series) {
      for (const [t, v] of [...points].sort((a, b) => a[0] - b[0])) {
        rows.push(el("tr", {}, el("td", {}, label), el("td", {}, new Date(t).toISOString()),
          el("td", {}, String(v))));
      }
    }
    table.replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "series"),
      el("th", {}, "bucket"), el("th", {}, "value"))), el("tbody", {}, ...rows)));
  }, (error) => { message.textContent = error; });
}

function alertTable(alerts, actions) {
  const head = ["name", "metric", "condition", "status", "value", "since"];
  if (actions) head.push("actions");
  return el("div", { class: "table-wrap" }, el("table", { id: actions ? "alerts-table" : null },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...alerts.map((a) => alertRow(a, actions)))));
}

const MOVES = {
  triggered: ["acknowledged", "resolved"],
  acknowledged: ["resolved", "triggered"],
  resolved: ["active"],
  normal: ["active"],
};

function alertRow(a, actions) {
  const row = el("tr", { "data-alert-id": a.id },
    el("td", {}, a.name),
    el("td", {}, a.function + "(" + a.metric + ")" + (a.filter.length ? " " + a.filter.join(" ") : "")
      + " over " + a.window),
    el("td", {}, a.condition + (a.threshold === null ? "" : " " + a.threshold)
      + (a.for !== "0s" ? " for " + a.for : "")),
    el("td", { class: "status " + a.status }, a.status),
    el("td", {}, a.value === null ? "–" : String(a.value)),
    el("td", {}, a.statusSince));
  if (actions) {
    const cell = el("td", {});
    for (const move of MOVES[a.status] || []) {
      const label = { acknowledged: "Acknowledge", resolved: "Resolve", triggered: "Reopen",
        active: "Re-arm" }[move];
      cell.append(el("button", { type: "button", "data-action": move, onclick: async () => {
        await sendJson("PUT", "/api/alerts/" + a.id, { status: move });
        route();
      } }, label), " ");
    }
    cell.append(el("button", { type: "button", class: "secondary", "data-edit": a.id,
      onclick: () => editAlert(a) }, "Edit"), " ");
    cell.append(el("button", { type: "button", class: "secondary", onclick: async () => {
      const h = await api("/api/alerts/" + a.id + "/history");
      row.after(el("tr", {}, el("td", { colspan: "7" }, el("ol", {},
        ...h.history.map((t) => el("li", {}, t.at + " " + t.from + " → " + t.to + ": " + t.reason
          + (t.value === null ? "" : " (" + t.value + ")") + " by " + t.actor))))));
    } }, "History"), " ");
    cell.append(el("button", { type: "button", class: "secondary", onclick: async () => {
      await api("/api/alerts/" + a.id, { method: "DELETE" });
      route();
    } }, "Delete"));
    row.append(cell);
  }
  return row;
}

async function alerts() {
  const list = await api("/api/alerts");
  const message = el("p", { class: "error", role: "alert" });
  const field = (name, attrs) => el("label", {}, name, el("input", { name, ...attrs }));
  const form = el("form", { id: "alert-form", onsubmit: async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(form));
    const rule = { name: f.name, metric: f.metric, function: f.function, condition: f.condition,
      window: f.window, filter: f.filter.split(/\s+/).filter(Boolean), for: f.for || "0s" };
    if (f.threshold !== "") rule.threshold = Number(f.threshold);
    try {
      if (form.dataset.editing) await sendJson("PUT", "/api/alerts/" + form.dataset.editing, rule);
      else await sendJson("POST", "/api/alerts", rule);
      route();
    } catch (error) {
      message.textContent = error.message;
    }
  } },
  field("name", { required: "" }),
  field("metric", { required: "", placeholder: "page_view_count" }),
  el("label", {}, "function", el("select", { name: "function" },
    ...["sum", "count", "avg", "min", "max", "p50", "p90", "p95", "p99", "unique_users"]
      .map((x) => el("option", { value: x }, x)))),
  el("label", {}, "condition", el("select", { name: "condition" },
    ...["greater_than", "less_than", "equals", "greater_or_equal", "less_or_equal", "not_equals",
      "absent", "rate_of_change"].map((x) => el("option", { value: x }, x)))),
  field("threshold", { type: "number", step: "any" }),
  field("window", { value: "5m" }),
  field("for", { placeholder: "0s" }),
  field("filter", { placeholder: "country:DE" }),
  el("button", { type: "submit" }, "Create alert"));
  view.replaceChildren(el("h2", {}, "Alerts"), alertTable(list.alerts, true),
    el("h2", { id: "alert-form-title" }, "New alert"), form, message);
  live.alertListeners.add(() => route());
}

// Fills the form with a rule; submitting it then changes that rule (PUT) instead of adding one.
function editAlert(a) {
  const form = document.getElementById("alert-form");
  const values = { name: a.name, metric: a.metric, function: a.function, condition: a.condition,
    threshold: a.threshold ?? "", window: a.window, for: a.for, filter: a.filter.join(" ") };
  for (const [k, v] of Object.entries(values)) form.elements[k].value = v;
  form.dataset.editing = a.id;
  document.getElementById("alert-form-title").textContent = "Edit alert " + a.name;
  form.querySelector("button[type=submit]").textContent = "Save changes";
  form.elements.name.focus();
}

// ---- routing -----------------------------------------------------------------------------------

let routing = Promise.resolve();

function route() {
  routing = routing.then(async () => {
    live.unsubscribeAll();
    const [path, search] = (location.hash.slice(1) || "/overview").split("?");
    for (const a of document.querySelectorAll("nav a")) {
      a.toggleAttribute("aria-current", a.getAttribute("href") === "#" + path);
      if (a.getAttribute("href") === "#" + path) a.setAttribute("aria-current", "page");
    }
    if (!auth.key) {
      login();
      return;
    }
    try {
      if (path === "/explore") await explore(new URLSearchParams(search || ""));
      else if (path === "/alerts") await alerts();
      else await overview();
    } catch (error) {
      if (error instanceof Unauthorized) login(error.message);
      else view.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
    }
  });
  return routing;
}

// ---- login -------------------------------------------------------------------------------------

function login(reason) {
  setLive("signed out");
  const input = el("input", { name: "key", type: "password", autocomplete: "off", required: "",
    "aria-describedby": "login-help" });
  const form = el("form", { id: "login-form", class: "login" },
    el("label", {}, "API key", input),
    el("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    auth.key = input.value.trim();
    const check = await fetch("/api/analytics/metrics",
      { headers: { Authorization: "Bearer " + auth.key } });
    if (check.status === 401 || check.status === 403) {
      const body = await check.json();
      auth.key = null;
      form.querySelector(".error")?.remove();
      form.append(el("p", { class: "error", role: "alert" }, body.message));
      return;
    }
    live.connect();
    route();
  });
  view.replaceChildren(el("h2", {}, "Sign in"),
    el("p", { id: "login-help", class: "muted" },
      "A key with read scope shows the data; admin scope also changes alerts. The server printed "
      + "where its admin key is when it first started (admin.key in its data directory)."),
    ...(reason ? [el("p", { class: "error", role: "alert" }, reason)] : []),
    form);
  input.focus();
}

window.addEventListener("hashchange", route);
live.connect();
route();
