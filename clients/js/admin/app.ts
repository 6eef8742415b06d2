/**
 * The operator console (src/jobgate/web/admin.html, served at /admin).
 *
 * Live by polling: every 2 s it reads the queues, the workers and the four
 * job lists of /api/admin (six small requests, the next round only after
 * the last one answered). The per-job event streams follow one user's jobs
 * and say nothing of queues or workers, so they would not replace the poll.
 * The history charts come from /api/admin/stats every 30 s.
 *
 * A token that is not an operator's (403), or no valid token at all (401),
 * stops every request and leaves no data on the page; the reason is shown.
 */

import { AdminApi, ApiError, type AdminJob, type ListState, type Queues } from "./api.js";
import {
  HOUR_MS,
  drawFailureRate,
  drawJobsPerHour,
  drawRunTimeByMode,
  hourSlots,
} from "./charts.js";
import { JOB_COLUMNS, KeyedTable, WORKER_COLUMNS, shortId } from "./tables.js";
import { OperatorToken, parseToken } from "./token.js";

const POLL_MS = 2000;
const STATS_MS = 30_000;
const ARM_MS = 4000;
const STATES: ListState[] = ["running", "orphaned", "failed", "pending"];
const ENDED = new Set(["completed", "failed", "cancelled"]);

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`console page is missing #${id}`);
  return el as T;
}

const tokens = new OperatorToken();
const api = new AdminApi(() => tokens.get());
const ui = {
  form: $<HTMLFormElement>("token-form"),
  token: $<HTMLInputElement>("token"),
  clear: $<HTMLButtonElement>("token-clear"),
  tokenState: $("token-state"),
  error: $("console-error"),
  dashboard: $("dashboard"),
  updated: $("updated"),
  problem: $("poll-problem"),
  actionsPanel: $("actions-panel"),
  actions: $<HTMLOListElement>("actions"),
  historyState: $("history-state"),
  charts: { jobs: $("chart-jobs"), failures: $("chart-failures"), modes: $("chart-modes") },
};

const workers = new KeyedTable(
  $<HTMLTableElement>("workers"),
  WORKER_COLUMNS,
  (w) => w.id,
  "worker-row",
);
const lists: Record<ListState, KeyedTable<AdminJob>> = {
  running: jobTable("running", cancelCell),
  orphaned: jobTable("orphaned", cancelCell),
  failed: jobTable("failed", retryCell),
  pending: jobTable("pending", cancelCell),
};

function jobTable(state: ListState, cell: (j: AdminJob, td: HTMLTableCellElement) => void) {
  const table = $<HTMLTableElement>(state);
  return new KeyedTable(table, JOB_COLUMNS[state], (j) => j.job_id, `${state}-job`, cell);
}

/** Bumped whenever the token changes: answers to an older round are dropped. */
let generation = 0;
let pollTimer: ReturnType<typeof setTimeout> | undefined;
let statsTimer: ReturnType<typeof setTimeout> | undefined;
/** Server clock minus ours (ms), from the last queues answer: ages use the server's time. */
let skew = 0;
const serverNow = (): number => Date.now() + skew;

// -- the session -----------------------------------------------------------

function start(): void {
  generation += 1;
  ui.error.hidden = true;
  ui.tokenState.textContent = "Token in use (kept in this tab only).";
  void tick(generation);
  void loadStats(generation);
}

function stop(): void {
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

/** 401 or 403: no data stays on the page, and no more requests go out. */
function refuse(e: ApiError): void {
  stop();
  ui.error.hidden = false;
  ui.error.dataset.status = String(e.status);
  ui.error.textContent =
    e.status === 403
      ? `Forbidden (403): this token is not an operator's. ${e.message}. ` +
        "Paste a token made with `jobgate token --sub NAME --admin`."
      : `Not signed in (401): ${e.message}. Paste a valid operator token.`;
}

function refusal(results: PromiseSettledResult<unknown>[]): ApiError | undefined {
  for (const r of results) {
    if (
      r.status === "rejected" &&
      r.reason instanceof ApiError &&
      [401, 403].includes(r.reason.status)
    ) {
      return r.reason;
    }
  }
  return undefined;
}

// -- the live part -------------------------------------------------------------

async function tick(gen: number): Promise<void> {
  await poll(gen);
  if (gen === generation && ui.error.hidden) pollTimer = setTimeout(() => void tick(gen), POLL_MS);
}

async function poll(gen: number): Promise<void> {
  const results = await Promise.allSettled([
    api.queues(),
    api.workers(),
    ...STATES.map((s) => api.jobs(s)),
  ]);
  if (gen !== generation) return;
  const refused = refusal(results);
  if (refused) return refuse(refused);
  ui.dashboard.hidden = false;
  const [q, w, ...jobLists] = results;
  if (q?.status === "fulfilled") showQueues(q.value as Queues);
  const now = serverNow();
  if (w?.status === "fulfilled") {
    const ws = (w.value as { workers: Parameters<typeof workers.update>[0] }).workers;
    workers.update(ws, now);
    showCount("workers", ws.length);
  }
  STATES.forEach((state, i) => {
    const r = jobLists[i];
    if (r?.status !== "fulfilled") return;
    const { jobs, next } = r.value as { jobs: AdminJob[]; next: string | null };
    lists[state].update(jobs, now);
    showCount(state, jobs.length, next !== null);
  });
  const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  ui.problem.textContent = failed ? `Last update incomplete: ${message(failed.reason)}` : "";
  ui.updated.textContent = `Updated ${new Date().toLocaleTimeString()} · every ${POLL_MS / 1000} s`;
  await followActions(gen);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function showQueues(q: Queues): void {
  skew = Date.parse(q.checked_at) - Date.now();
  const figures: Record<string, number> = {
    "q-high": q.depth.high,
    "q-normal": q.depth.normal,
    "q-low": q.depth.low,
    "q-delayed": q.delayed,
    "q-running": q.running,
    "q-orphaned": q.orphaned,
    "q-failed": q.failed,
  };
  for (const [id, n] of Object.entries(figures)) $(id).textContent = String(n);
}

function showCount(name: string, n: number, more = false): void {
  $(`${name}-count`).textContent = `(${n}${more ? "+" : ""})`;
  $(`${name}-empty`).hidden = n > 0;
}

// -- actions -----------------------------------------------------------------

function button(
  text: string,
  testid: string,
  onClick: (b: HTMLButtonElement) => void,
): HTMLButtonElement {
  const b = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  b.dataset.testid = testid;
  b.addEventListener("click", () => onClick(b));
  return b;
}

/** Retry, or the job the last retry made. Rebuilt only when that changes. */
function retryCell(job: AdminJob, td: HTMLTableCellElement): void {
  const shown = job.retried_as ? `as:${job.retried_as}` : "retry";
  if (td.dataset.shown === shown) return;
  td.dataset.shown = shown;
  if (job.retried_as) {
    const note = Object.assign(document.createElement("span"), {
      textContent: `retried as ${shortId(job.retried_as)}`,
      title: job.retried_as,
    });
    note.dataset.testid = "retried-as";
    td.replaceChildren(note);
    return;
  }
  td.replaceChildren(button("Retry", "retry", (b) => void act(b, "retry", job.job_id)));
}

/** Cancel asks twice: the first click arms the button for a few seconds. */
function cancelCell(job: AdminJob, td: HTMLTableCellElement): void {
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
    }),
  );
}

async function act(b: HTMLButtonElement, what: "retry" | "cancel", jobId: string): Promise<void> {
  b.disabled = true;
  const gen = generation;
  try {
    const job = what === "retry" ? await api.retry(jobId) : await api.cancel(jobId);
    const text =
      what === "retry"
        ? `Retried ${shortId(jobId)} as job ${job.job_id}`
        : `Cancelled job ${job.job_id} (owner ${job.owner})`;
    addAction(text, job);
  } catch (e) {
    if (e instanceof ApiError && [401, 403].includes(e.status)) return refuse(e);
    addAction(
      `${what === "retry" ? "Retry" : "Cancel"} of ${shortId(jobId)} failed: ${message(e)}`,
    );
    b.disabled = false;
  }
  if (gen === generation) void poll(gen);
}

/** One line per action; a retried job's line follows it until it ends. */
function addAction(text: string, job?: AdminJob): void {
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

function setActionState(li: HTMLLIElement, job: AdminJob): void {
  li.dataset.state = job.status;
  const span = li.querySelector<HTMLElement>("[data-testid=action-state]");
  if (span === null) return;
  const pct = job.status === "processing" ? ` ${Math.round(job.progress * 100)}%` : "";
  const err = job.status === "failed" && job.error_detail ? `: ${job.error_detail}` : "";
  span.textContent = `${job.status}${pct}${err}`;
}

async function followActions(gen: number): Promise<void> {
  const open = [...ui.actions.querySelectorAll<HTMLLIElement>("li[data-job-id]")].filter(
    (li) => !ENDED.has(li.dataset.state ?? ""),
  );
  await Promise.all(
    open.slice(0, 10).map(async (li) => {
      try {
        const job = await api.job(li.dataset.jobId ?? "");
        if (gen === generation) setActionState(li, job);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) li.dataset.state = "gone";
      }
    }),
  );
}

// -- history -------------------------------------------------------------------

async function loadStats(gen: number): Promise<void> {
  const now = serverNow();
  const firstHour = Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS;
  try {
    const until = new Date(now);
    const [hourly, modes] = await Promise.all([
      api.stats("hour", new Date(firstHour), until),
      api.stats("mode", new Date(now - 7 * 24 * HOUR_MS), until),
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
    if (e instanceof ApiError && [401, 403].includes(e.status)) return; // the poll says why
    for (const c of Object.values(ui.charts)) c.replaceChildren();
    ui.historyState.dataset.state = "unavailable";
    ui.historyState.textContent =
      e instanceof ApiError && e.status === 404
        ? "History not available yet: this server has no job history to chart."
        : `History not available: ${message(e)}`;
  }
  if (gen === generation) statsTimer = setTimeout(() => void loadStats(gen), STATS_MS);
}

// -- the token form --------------------------------------------------------------

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
