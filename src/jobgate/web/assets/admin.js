// Generated from clients/js by `npm run build`. Do not edit; edit the TypeScript source.

// admin/api.ts
var ApiError = class extends Error {
  constructor(status, message2, code) {
    super(message2);
    this.status = status;
    this.code = code;
    this.name = "ApiError";
  }
  status;
  code;
};
async function errorOf(res) {
  let message2 = `${res.status} ${res.statusText}`.trim();
  let code;
  try {
    const body = await res.json();
    if (typeof body.message === "string") message2 = body.message;
    else if (typeof body.detail === "string") message2 = body.detail;
    if (typeof body.code === "string") code = body.code;
  } catch {
  }
  return new ApiError(res.status, message2, code);
}
var AdminApi = class {
  constructor(token, base = "") {
    this.token = token;
    this.base = base;
  }
  token;
  base;
  async call(method, path) {
    const headers = { Accept: "application/json" };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch(this.base + path, { method, headers, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, `the server cannot be reached (${String(e)})`);
    }
    if (!res.ok) throw await errorOf(res);
    return await res.json();
  }
  queues() {
    return this.call("GET", "/api/admin/queues");
  }
  workers() {
    return this.call("GET", "/api/admin/workers");
  }
  jobs(state, limit = 50) {
    return this.call("GET", `/api/admin/jobs?state=${state}&limit=${limit}`);
  }
  job(id2) {
    return this.call("GET", `/api/admin/jobs/${encodeURIComponent(id2)}`);
  }
  retry(id2) {
    return this.call("POST", `/api/admin/jobs/${encodeURIComponent(id2)}/retry`);
  }
  cancel(id2) {
    return this.call("POST", `/api/admin/jobs/${encodeURIComponent(id2)}/cancel`);
  }
  stats(groupBy, since, until) {
    const q = new URLSearchParams({
      group_by: groupBy,
      since: since.toISOString(),
      until: until.toISOString()
    });
    return this.call("GET", `/api/admin/stats?${q.toString()}`);
  }
};

// admin/charts.ts
var HOUR_MS = 36e5;
var W = 480;
var H = 200;
var PAD = { left: 44, right: 8, top: 10, bottom: 24 };
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
function hourSlots(groups, until, hours) {
  const last = Math.floor((until - 1) / HOUR_MS) * HOUR_MS;
  const slots = [];
  for (let i = hours - 1; i >= 0; i--) {
    slots.push({ start: last - i * HOUR_MS, completed: 0, failed: 0, cancelled: 0 });
  }
  const first = slots[0]?.start ?? last;
  for (const g of groups) {
    const at = g.key === null ? NaN : Date.parse(g.key);
    const slot = slots[Math.round((at - first) / HOUR_MS)];
    if (slot === void 0 || slot.start !== at) continue;
    slot.completed += g.by_status.completed;
    slot.failed += g.by_status.failed;
    slot.cancelled += g.by_status.cancelled;
  }
  return slots;
}
function failureRate(s2) {
  const n = s2.completed + s2.failed;
  return n === 0 ? null : s2.failed / n;
}
var plotW = W - PAD.left - PAD.right;
var plotH = H - PAD.top - PAD.bottom;
function band(i, n, value, max, gap = 0.2) {
  const step = plotW / Math.max(n, 1);
  const h = max > 0 ? Math.max(value, 0) / max * plotH : 0;
  return {
    x: PAD.left + i * step + step * gap / 2,
    y: PAD.top + plotH - h,
    w: step * (1 - gap),
    h
  };
}
function stack(i, n, parts, max) {
  let below = 0;
  const out = [];
  for (const [cls, v] of parts) {
    if (v <= 0) continue;
    const whole = band(i, n, below + v, max);
    const under = band(i, n, below, max);
    out.push({ ...whole, h: whole.h - under.h, cls });
    below += v;
  }
  return out;
}
function lineRuns(values, max) {
  const runs = [];
  let run = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (run.length) runs.push(run);
      run = [];
      return;
    }
    const r = band(i, values.length, v, max, 1);
    run.push([r.x, r.y]);
  });
  if (run.length) runs.push(run);
  return runs;
}
var NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const k of kids) el.append(k);
  return el;
}
function frame(label, top) {
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": label,
    class: "chart"
  });
  svg.append(
    s("line", {
      x1: PAD.left,
      y1: PAD.top + plotH,
      x2: W - PAD.right,
      y2: PAD.top + plotH,
      class: "axis"
    }),
    s("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end", class: "tick" }, top),
    s("text", { x: PAD.left - 4, y: PAD.top + plotH, "text-anchor": "end", class: "tick" }, "0")
  );
  return svg;
}
function hourLabel(ms) {
  return new Date(ms).toISOString().slice(11, 16);
}
function xLabels(svg, labels, every) {
  labels.forEach((text, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    const r = band(i, labels.length, 0, 1);
    svg.append(
      s("text", { x: r.x + r.w / 2, y: H - 6, "text-anchor": "middle", class: "tick" }, text)
    );
  });
}
function drawJobsPerHour(slots) {
  const max = niceMax(Math.max(...slots.map((x) => x.completed + x.failed + x.cancelled), 0));
  const svg = frame("Jobs per hour", String(max));
  slots.forEach((slot, i) => {
    const title = `${hourLabel(slot.start)} UTC: ${slot.completed} completed, ${slot.failed} failed, ${slot.cancelled} cancelled`;
    const parts = [
      ["completed", slot.completed],
      ["failed", slot.failed],
      ["cancelled", slot.cancelled]
    ];
    for (const r of stack(i, slots.length, parts, max)) {
      svg.append(
        s(
          "rect",
          { x: r.x, y: r.y, width: r.w, height: r.h, class: `bar ${r.cls}` },
          s("title", {}, title)
        )
      );
    }
  });
  xLabels(
    svg,
    slots.map((x) => hourLabel(x.start)),
    4
  );
  return svg;
}
function drawFailureRate(slots) {
  const rates = slots.map(failureRate);
  const svg = frame("Failure rate per hour", "100%");
  for (const run of lineRuns(rates, 1)) {
    svg.append(
      s("polyline", { points: run.map((p) => p.join(",")).join(" "), class: "line failed" })
    );
    for (const [x, y] of run)
      svg.append(s("circle", { cx: x, cy: y, r: 2.5, class: "dot failed" }));
  }
  rates.forEach((r, i) => {
    if (r === null) return;
    const b = band(i, rates.length, r, 1, 1);
    const text = `${hourLabel(slots[i]?.start ?? 0)} UTC: ${(r * 100).toFixed(1)}% failed`;
    svg.append(
      s(
        "rect",
        { x: b.x - 4, y: PAD.top, width: 8, height: plotH, class: "hit" },
        s("title", {}, text)
      )
    );
  });
  xLabels(
    svg,
    slots.map((x) => hourLabel(x.start)),
    4
  );
  return svg;
}
var PCTS = ["p50", "p95", "p99"];
function drawRunTimeByMode(groups) {
  const modes = groups.filter((g) => g.run_time_s.count > 0);
  const top = Math.max(...modes.flatMap((g) => PCTS.map((p) => g.run_time_s[p] ?? 0)), 0);
  const max = niceMax(top);
  const svg = frame("Run time percentiles by mode", `${max} s`);
  if (modes.length === 0) {
    const at = { x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, "text-anchor": "middle" };
    svg.append(s("text", { ...at, class: "tick" }, "no completed job in this window"));
  }
  modes.forEach((g, i) => {
    const outer = band(i, modes.length, 0, max);
    PCTS.forEach((p, j) => {
      const v = g.run_time_s[p] ?? 0;
      const r = band(i, modes.length, v, max);
      const w = outer.w / PCTS.length;
      const title = `${g.key ?? "(no mode)"} ${p}: ${v.toFixed(2)} s over ${g.run_time_s.count} jobs`;
      svg.append(
        s(
          "rect",
          { x: outer.x + j * w, y: r.y, width: w * 0.9, height: r.h, class: `bar ${p}` },
          s("title", {}, title)
        )
      );
    });
  });
  xLabels(
    svg,
    modes.map((g) => g.key ?? "(no mode)"),
    1
  );
  return svg;
}

// admin/tables.ts
function ago(then, now) {
  if (then === null) return "";
  const s2 = Math.max(0, Math.round((now - Date.parse(then)) / 1e3));
  if (s2 < 90) return `${s2} s`;
  if (s2 < 90 * 60) return `${Math.round(s2 / 60)} min`;
  return `${Math.round(s2 / 3600)} h`;
}
function shortId(id2) {
  return id2.length > 8 ? id2.slice(0, 8) : id2;
}
var KeyedTable = class {
  constructor(table, columns, key, testid, actions) {
    this.columns = columns;
    this.key = key;
    this.testid = testid;
    this.actions = actions;
    const head = table.createTHead().insertRow();
    for (const c of columns)
      head.append(Object.assign(document.createElement("th"), { textContent: c.head }));
    if (actions) head.append(Object.assign(document.createElement("th"), { textContent: "" }));
    this.body = table.tBodies[0] ?? table.createTBody();
  }
  columns;
  key;
  testid;
  actions;
  rows = /* @__PURE__ */ new Map();
  body;
  /** Show exactly `items`, in order: new rows added, gone ones removed, the rest refreshed. */
  update(items, now) {
    const wanted = new Set(items.map(this.key));
    for (const [k, tr] of this.rows) {
      if (!wanted.has(k)) {
        tr.remove();
        this.rows.delete(k);
      }
    }
    items.forEach((item, i) => {
      const k = this.key(item);
      let tr = this.rows.get(k);
      if (tr === void 0) {
        tr = this.create(k);
        this.rows.set(k, tr);
      }
      this.fill(tr, item, now);
      if (this.body.rows[i] !== tr) this.body.insertBefore(tr, this.body.rows[i] ?? null);
    });
  }
  clear() {
    this.update([], 0);
  }
  create(k) {
    const tr = document.createElement("tr");
    tr.dataset.testid = this.testid;
    tr.dataset.key = k;
    for (const c of this.columns) {
      const td = tr.insertCell();
      if (c.cls) td.className = c.cls;
      if (c.bar)
        td.append(
          Object.assign(document.createElement("progress"), { max: 1 }),
          document.createElement("span")
        );
    }
    if (this.actions) tr.insertCell().className = "actions";
    return tr;
  }
  fill(tr, item, now) {
    this.columns.forEach((c, i) => {
      const td = tr.cells[i];
      if (td === void 0) return;
      const text = c.text(item, now);
      const into = c.bar ? td.lastElementChild : td;
      if (into !== null && into.textContent !== text) into.textContent = text;
      if (c.bar) td.firstElementChild.value = c.bar(item);
      if (c.title) td.title = c.title(item);
    });
    const last = tr.cells[this.columns.length];
    if (this.actions && last !== void 0) this.actions(item, last);
  }
};
var WORKER_COLUMNS = [
  { head: "Worker", text: (w) => w.id, cls: "mono" },
  { head: "Host", text: (w) => w.host },
  { head: "PID", text: (w) => w.pid === null ? "" : String(w.pid) },
  { head: "Running", text: (w) => `${w.running} / ${w.concurrency ?? "?"}` },
  { head: "Last heartbeat", text: (w) => `${w.heartbeat_age_s.toFixed(1)} s ago` },
  { head: "Up for", text: (w, now) => ago(w.started_at, now) }
];
var id = {
  head: "Job",
  text: (j) => shortId(j.job_id),
  title: (j) => j.job_id,
  cls: "mono"
};
var owner = { head: "Owner", text: (j) => j.owner };
var attempt = {
  head: "Attempt",
  text: (j) => `${j.attempt} / ${j.max_attempts}`
};
function where(j) {
  const st = j.step;
  const of = st?.index != null && st.total != null ? ` (${st.index} of ${st.total})` : "";
  return [st?.agent ? `${st.agent}${of}` : "", j.message].filter(Boolean).join(" — ");
}
var JOB_COLUMNS = {
  running: [
    id,
    owner,
    attempt,
    {
      head: "Progress",
      text: (j) => `${Math.round(j.progress * 100)}%`,
      bar: (j) => j.progress,
      cls: "progress"
    },
    { head: "Where", text: where },
    { head: "Worker", text: (j) => j.worker ?? "", cls: "mono" },
    { head: "Running for", text: (j, now) => ago(j.started_at, now) }
  ],
  orphaned: [
    id,
    owner,
    attempt,
    { head: "Lease lapsed", text: (j, now) => `${ago(j.lease_expires_at, now)} ago` },
    { head: "Lost worker", text: (j) => j.worker ?? "", cls: "mono" },
    { head: "Status", text: (j) => j.message }
  ],
  failed: [
    id,
    owner,
    attempt,
    { head: "Ended", text: (j, now) => `${ago(j.completed_at, now)} ago` },
    { head: "Code", text: (j) => j.error_code ?? "", cls: "mono" },
    { head: "Error", text: (j) => j.error_detail ?? j.error ?? "", cls: "error-text" }
  ],
  pending: [
    id,
    owner,
    { head: "Priority", text: (j) => j.priority },
    attempt,
    { head: "Waiting", text: (j, now) => ago(j.created_at, now) },
    { head: "Status", text: (j) => j.due_at ? `${j.message} (retry due)` : j.message }
  ]
};

// demo/token.ts
function parseToken(raw) {
  const token = raw.trim().replace(/^Bearer\s+/i, "");
  if (token === "") return { problem: "Paste a token first." };
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return { problem: "That is not a token: it may hold only visible ASCII, no spaces." };
  }
  return { token };
}

// admin/token.ts
var KEY = "jobgate.admin-token";
var OperatorToken = class {
  /** When the browser refuses storage: the token lives until the page reloads. */
  memory;
  storage;
  constructor(storage) {
    if (storage !== void 0) {
      this.storage = storage;
      return;
    }
    try {
      this.storage = sessionStorage;
    } catch {
      this.storage = void 0;
    }
  }
  get() {
    try {
      return this.storage?.getItem(KEY) || this.memory;
    } catch {
      return this.memory;
    }
  }
  set(token) {
    this.memory = token;
    try {
      this.storage?.setItem(KEY, token);
    } catch {
    }
  }
  clear() {
    this.memory = void 0;
    try {
      this.storage?.removeItem(KEY);
    } catch {
    }
  }
};

// admin/app.ts
var POLL_MS = 2e3;
var STATS_MS = 3e4;
var ARM_MS = 4e3;
var STATES = ["running", "orphaned", "failed", "pending"];
var ENDED = /* @__PURE__ */ new Set(["completed", "failed", "cancelled"]);
function $(id2) {
  const el = document.getElementById(id2);
  if (el === null) throw new Error(`console page is missing #${id2}`);
  return el;
}
var tokens = new OperatorToken();
var api = new AdminApi(() => tokens.get());
var ui = {
  form: $("token-form"),
  token: $("token"),
  clear: $("token-clear"),
  tokenState: $("token-state"),
  error: $("console-error"),
  dashboard: $("dashboard"),
  updated: $("updated"),
  problem: $("poll-problem"),
  actionsPanel: $("actions-panel"),
  actions: $("actions"),
  historyState: $("history-state"),
  charts: { jobs: $("chart-jobs"), failures: $("chart-failures"), modes: $("chart-modes") }
};
var workers = new KeyedTable(
  $("workers"),
  WORKER_COLUMNS,
  (w) => w.id,
  "worker-row"
);
var lists = {
  running: jobTable("running", cancelCell),
  orphaned: jobTable("orphaned", cancelCell),
  failed: jobTable("failed", retryCell),
  pending: jobTable("pending", cancelCell)
};
function jobTable(state, cell) {
  const table = $(state);
  return new KeyedTable(table, JOB_COLUMNS[state], (j) => j.job_id, `${state}-job`, cell);
}
var generation = 0;
var pollTimer;
var statsTimer;
var skew = 0;
var serverNow = () => Date.now() + skew;
function start() {
  generation += 1;
  ui.error.hidden = true;
  ui.tokenState.textContent = "Token in use (kept in this tab only).";
  void tick(generation);
  void loadStats(generation);
}
function stop() {
  generation += 1;
  clearTimeout(pollTimer);
  clearTimeout(statsTimer);
  ui.dashboard.hidden = true;
  for (const t of Object.values(lists)) t.clear();
  workers.clear();
  for (const c of Object.values(ui.charts)) c.replaceChildren();
  ui.actions.replaceChildren();
  ui.actionsPanel.hidden = true;
}
function refuse(e) {
  stop();
  ui.error.hidden = false;
  ui.error.dataset.status = String(e.status);
  ui.error.textContent = e.status === 403 ? `Forbidden (403): this token is not an operator's. ${e.message}. Paste a token made with \`jobgate token --sub NAME --admin\`.` : `Not signed in (401): ${e.message}. Paste a valid operator token.`;
}
function refusal(results) {
  for (const r of results) {
    if (r.status === "rejected" && r.reason instanceof ApiError && [401, 403].includes(r.reason.status)) {
      return r.reason;
    }
  }
  return void 0;
}
async function tick(gen) {
  await poll(gen);
  if (gen === generation && ui.error.hidden) pollTimer = setTimeout(() => void tick(gen), POLL_MS);
}
async function poll(gen) {
  const results = await Promise.allSettled([
    api.queues(),
    api.workers(),
    ...STATES.map((s2) => api.jobs(s2))
  ]);
  if (gen !== generation) return;
  const refused = refusal(results);
  if (refused) return refuse(refused);
  ui.dashboard.hidden = false;
  const [q, w, ...jobLists] = results;
  if (q?.status === "fulfilled") showQueues(q.value);
  const now = serverNow();
  if (w?.status === "fulfilled") {
    const ws = w.value.workers;
    workers.update(ws, now);
    showCount("workers", ws.length);
  }
  STATES.forEach((state, i) => {
    const r = jobLists[i];
    if (r?.status !== "fulfilled") return;
    const { jobs, next } = r.value;
    lists[state].update(jobs, now);
    showCount(state, jobs.length, next !== null);
  });
  const failed = results.find((r) => r.status === "rejected");
  ui.problem.textContent = failed ? `Last update incomplete: ${message(failed.reason)}` : "";
  ui.updated.textContent = `Updated ${(/* @__PURE__ */ new Date()).toLocaleTimeString()} · every ${POLL_MS / 1e3} s`;
  await followActions(gen);
}
function message(e) {
  return e instanceof Error ? e.message : String(e);
}
function showQueues(q) {
  skew = Date.parse(q.checked_at) - Date.now();
  const figures = {
    "q-high": q.depth.high,
    "q-normal": q.depth.normal,
    "q-low": q.depth.low,
    "q-delayed": q.delayed,
    "q-running": q.running,
    "q-orphaned": q.orphaned,
    "q-failed": q.failed
  };
  for (const [id2, n] of Object.entries(figures)) $(id2).textContent = String(n);
}
function showCount(name, n, more = false) {
  $(`${name}-count`).textContent = `(${n}${more ? "+" : ""})`;
  $(`${name}-empty`).hidden = n > 0;
}
function button(text, testid, onClick) {
  const b = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  b.dataset.testid = testid;
  b.addEventListener("click", () => onClick(b));
  return b;
}
function retryCell(job, td) {
  const shown = job.retried_as ? `as:${job.retried_as}` : "retry";
  if (td.dataset.shown === shown) return;
  td.dataset.shown = shown;
  if (job.retried_as) {
    const note = Object.assign(document.createElement("span"), {
      textContent: `retried as ${shortId(job.retried_as)}`,
      title: job.retried_as
    });
    note.dataset.testid = "retried-as";
    td.replaceChildren(note);
    return;
  }
  td.replaceChildren(button("Retry", "retry", (b) => void act(b, "retry", job.job_id)));
}
function cancelCell(job, td) {
  if (td.dataset.shown === "cancel") return;
  td.dataset.shown = "cancel";
  td.replaceChildren(
    button("Cancel", "cancel", (b) => {
      if (b.dataset.armed !== "1") {
        b.dataset.armed = "1";
        b.textContent = "Confirm cancel";
        setTimeout(() => {
          b.dataset.armed = "";
          b.textContent = "Cancel";
        }, ARM_MS);
        return;
      }
      void act(b, "cancel", job.job_id);
    })
  );
}
async function act(b, what, jobId) {
  b.disabled = true;
  const gen = generation;
  try {
    const job = what === "retry" ? await api.retry(jobId) : await api.cancel(jobId);
    const text = what === "retry" ? `Retried ${shortId(jobId)} as job ${job.job_id}` : `Cancelled job ${job.job_id} (owner ${job.owner})`;
    addAction(text, job);
  } catch (e) {
    if (e instanceof ApiError && [401, 403].includes(e.status)) return refuse(e);
    addAction(
      `${what === "retry" ? "Retry" : "Cancel"} of ${shortId(jobId)} failed: ${message(e)}`
    );
    b.disabled = false;
  }
  if (gen === generation) void poll(gen);
}
function addAction(text, job) {
  const li = document.createElement("li");
  li.dataset.testid = "action";
  const label = Object.assign(document.createElement("span"), { textContent: text });
  const state = Object.assign(document.createElement("span"), { className: "state" });
  state.dataset.testid = "action-state";
  li.append(label, state);
  if (job) {
    li.dataset.jobId = job.job_id;
    setActionState(li, job);
  } else {
    li.dataset.state = "error";
    li.classList.add("error-text");
  }
  ui.actions.prepend(li);
  ui.actionsPanel.hidden = false;
}
function setActionState(li, job) {
  li.dataset.state = job.status;
  const span = li.querySelector("[data-testid=action-state]");
  if (span === null) return;
  const pct = job.status === "processing" ? ` ${Math.round(job.progress * 100)}%` : "";
  const err = job.status === "failed" && job.error_detail ? `: ${job.error_detail}` : "";
  span.textContent = `${job.status}${pct}${err}`;
}
async function followActions(gen) {
  const open = [...ui.actions.querySelectorAll("li[data-job-id]")].filter(
    (li) => !ENDED.has(li.dataset.state ?? "")
  );
  await Promise.all(
    open.slice(0, 10).map(async (li) => {
      try {
        const job = await api.job(li.dataset.jobId ?? "");
        if (gen === generation) setActionState(li, job);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) li.dataset.state = "gone";
      }
    })
  );
}
async function loadStats(gen) {
  const now = serverNow();
  const firstHour = Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS;
  try {
    const until = new Date(now);
    const [hourly, modes] = await Promise.all([
      api.stats("hour", new Date(firstHour), until),
      api.stats("mode", new Date(now - 7 * 24 * HOUR_MS), until)
    ]);
    if (gen !== generation) return;
    const slots = hourSlots(hourly.groups, now, 24);
    ui.charts.jobs.replaceChildren(drawJobsPerHour(slots));
    ui.charts.failures.replaceChildren(drawFailureRate(slots));
    ui.charts.modes.replaceChildren(drawRunTimeByMode(modes.groups));
    const ended = hourly.groups.reduce((n, g) => n + g.jobs, 0);
    ui.historyState.dataset.state = "ready";
    ui.historyState.textContent = ended ? "" : "No job has ended in the last 24 hours.";
  } catch (e) {
    if (gen !== generation) return;
    if (e instanceof ApiError && [401, 403].includes(e.status)) return;
    for (const c of Object.values(ui.charts)) c.replaceChildren();
    ui.historyState.dataset.state = "unavailable";
    ui.historyState.textContent = e instanceof ApiError && e.status === 404 ? "History not available yet: this server has no job history to chart." : `History not available: ${message(e)}`;
  }
  if (gen === generation) statsTimer = setTimeout(() => void loadStats(gen), STATS_MS);
}
ui.form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const parsed = parseToken(ui.token.value);
  if ("problem" in parsed) {
    ui.tokenState.textContent = parsed.problem;
    return;
  }
  ui.token.value = "";
  tokens.set(parsed.token);
  stop();
  start();
});
ui.clear.addEventListener("click", () => {
  tokens.clear();
  stop();
  ui.error.hidden = true;
  ui.tokenState.textContent = "Token cleared. Paste an operator token to see the console.";
});
if (tokens.get()) start();
else ui.tokenState.textContent = "Paste an operator token to see the console.";
document.body.dataset.ready = "true";
