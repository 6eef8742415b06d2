/**
 * The demo page (src/jobgate/web/index.html): submit a product idea to the
 * multi-agent pipeline and watch it run. It uses only the public client;
 * runtime settings come from the globals set by /config.js.
 */

import {
  HttpError,
  JobCancelledError,
  JobFailedError,
  JobTimeoutError,
  NetworkError,
  cancelJob,
  getJobConfig,
  processAsyncJob,
  type CoordinationMode,
  type JobEvent,
  type JobStatus,
  type MultiAgentRequest,
} from "jobgate-client";
import { MyJobs } from "./jobs.js";
import {
  type AgentOutput,
  humanize,
  renderAgentOutput,
  renderResponse,
  stepText,
} from "./render.js";
import { parseToken, sessionTokenStore } from "./token.js";

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`demo page is missing #${id}`);
  return el as T;
}

const ui = {
  form: $<HTMLFormElement>("job-form"),
  query: $<HTMLTextAreaElement>("query"),
  mode: $<HTMLSelectElement>("mode"),
  primary: $<HTMLSelectElement>("primary-agent"),
  tokenForm: $<HTMLFormElement>("token-form"),
  token: $<HTMLInputElement>("token"),
  tokenClear: $<HTMLButtonElement>("token-clear"),
  tokenState: $("token-state"),
  submit: $<HTMLButtonElement>("submit"),
  panel: $("job-panel"),
  jobId: $("job-id"),
  state: $("job-state"),
  bar: $("progress-bar"),
  fill: $("progress-fill"),
  percent: $("progress-percent"),
  step: $("current-step"),
  timeLeft: $("time-left"),
  cancel: $<HTMLButtonElement>("cancel"),
  live: $("live-output"),
  outputs: $("agent-outputs"),
  resultBox: $("result"),
  result: $("result-body"),
  error: $("error"),
};

/** Every job of the user, live on one socket. */
const myJobs = new MyJobs({
  list: $("my-jobs-list"),
  empty: $("my-jobs-empty"),
  feed: $("my-jobs-feed"),
});

const config = getJobConfig();
/** Where a pasted token is kept; none when the server handed the page a demo token. */
const tokens = config.token === undefined ? sessionTokenStore() : undefined;

/** The job on screen; one at a time. */
let current: { jobId?: string; abort: AbortController } | undefined;
/** Latest time estimate and when it came, so the countdown can tick between updates. */
let estimate: { seconds: number; at: number } | undefined;

function token(): string | undefined {
  return config.token ?? tokens?.get();
}

function showTokenState(note?: string): void {
  const t = tokens?.get();
  ui.tokenState.textContent =
    note ??
    (t === undefined
      ? "No token yet: paste one to run jobs."
      : `Using the token ending in …${t.slice(-4)}, kept in this tab until it closes.`);
  ui.tokenForm.dataset.tokenSet = String(t !== undefined);
  ui.tokenClear.disabled = t === undefined;
}

/** Keeps a token pasted into the field; false (and says why) if it cannot be one. */
function saveToken(): boolean {
  if (tokens === undefined) return false;
  const parsed = parseToken(ui.token.value);
  if ("problem" in parsed) {
    showTokenState(parsed.problem);
    return false;
  }
  const changed = parsed.token !== tokens.get();
  tokens.set(parsed.token);
  ui.token.value = "";
  showTokenState();
  if (changed) myJobs.start(parsed.token);
  return true;
}

function readRequest(): MultiAgentRequest {
  const agents = [...ui.form.querySelectorAll<HTMLInputElement>('input[name="agent"]:checked')].map(
    (c) => c.value,
  );
  const primary = ui.primary.value;
  const request: MultiAgentRequest = {
    query: ui.query.value.trim(),
    coordination_mode: ui.mode.value as CoordinationMode,
  };
  if (primary) request.primary_agent = primary;
  const supporting = agents.filter((a) => a !== primary);
  if (supporting.length > 0) request.supporting_agents = supporting;
  return request;
}

function setState(state: string, label = humanize(state)): void {
  ui.state.textContent = label;
  ui.state.dataset.state = state;
  ui.panel.dataset.state = state;
}

function setProgress(fraction: number): void {
  const pct = Math.round(Math.min(Math.max(fraction, 0), 1) * 100);
  ui.fill.style.width = `${pct}%`;
  ui.bar.setAttribute("aria-valuenow", String(pct));
  ui.percent.textContent = `${pct}%`;
}

function showTimeLeft(): void {
  if (estimate === undefined) {
    ui.timeLeft.textContent = "";
    return;
  }
  const left = Math.max(0, Math.round(estimate.seconds - (Date.now() - estimate.at) / 1000));
  ui.timeLeft.textContent = left > 0 ? `about ${left} s left` : "finishing…";
}

function onProgress(s: JobStatus): void {
  setState(s.status);
  setProgress(s.progress);
  ui.step.textContent = stepText(s);
  const est = s.estimated_remaining_seconds;
  estimate = typeof est === "number" ? { seconds: est, at: Date.now() } : undefined;
  showTimeLeft();
}

/** Streaming text of the steps still running, by step index (parallel steps stream at once). */
function liveLine(index: string, agent: string): HTMLElement {
  let line = ui.live.querySelector<HTMLElement>(`[data-index="${CSS.escape(index)}"]`);
  if (line === null) {
    line = document.createElement("p");
    line.dataset.index = index;
    line.append(`${humanize(agent)}: `);
    ui.live.append(line);
  }
  return line;
}

function onEvent(e: JobEvent): void {
  const index = String(e.data.index ?? e.data.agent ?? "");
  if (e.type === "agent_output" && typeof e.data.agent === "string") {
    ui.live.querySelector(`[data-index="${CSS.escape(index)}"]`)?.remove();
    ui.outputs.append(renderAgentOutput(e.data as unknown as AgentOutput));
  } else if (e.type === "token" && typeof e.data.text === "string") {
    liveLine(index, String(e.data.agent ?? "")).append(e.data.text);
  }
}

function detailText(body: unknown): string {
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const detail = "detail" in fields ? fields.detail : body;
  if (typeof fields.message === "string" && typeof detail !== "string") {
    return fields.message; // the server's one-line summary of a validation error
  }
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc, msg}, ...]
    return detail
      .map(
        (d: { loc?: unknown[]; msg?: string }) =>
          `${(d.loc ?? []).slice(-1)[0] ?? ""}: ${d.msg ?? ""}`,
      )
      .join("; ");
  }
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

/** What went wrong, in words a user can act on. */
function describeError(e: unknown): string {
  // The server's own words ("Job failed: …"); a bare reason only from an odd server.
  if (e instanceof JobFailedError)
    return e.message.startsWith("Job failed") ? e.message : `Job failed: ${e.message}`;
  if (e instanceof JobCancelledError) return "The job was cancelled.";
  if (e instanceof JobTimeoutError) return `Stopped waiting: ${e.message}.`;
  if (e instanceof NetworkError)
    return "Could not reach the server. Check the connection and try again.";
  if (e instanceof HttpError) {
    switch (e.status) {
      case 401:
      case 403:
        return tokens === undefined
          ? "The server did not accept the demo token. Reload the page and try again."
          : "The server did not accept the token. Paste a valid token and try again.";
      case 404:
        return "The server does not know this job: it may have expired or belong to someone else.";
      case 413:
        return "The request is too large. Shorten the idea and try again.";
      case 422:
        return `The server rejected the request: ${detailText(e.body)}`;
      case 429:
        return `Too many of your jobs are running. Try again in ${e.retryAfter ?? "a few"} s.`;
      default:
        return `The server answered ${e.status}: ${detailText(e.body)}`;
    }
  }
  if (e instanceof DOMException && e.name === "AbortError") return "Stopped.";
  return `Something went wrong: ${e instanceof Error ? e.message : String(e)}`;
}

function showError(e: unknown): void {
  showText(describeError(e));
}

function showText(text: string): void {
  ui.error.textContent = text;
  ui.error.hidden = false;
}

function resetPanel(): void {
  ui.panel.hidden = false;
  ui.resultBox.hidden = true;
  ui.result.replaceChildren();
  ui.outputs.replaceChildren();
  ui.live.replaceChildren();
  ui.error.hidden = true;
  ui.error.textContent = "";
  ui.jobId.textContent = "";
  ui.step.textContent = "";
  estimate = undefined;
  showTimeLeft();
  setProgress(0);
  setState("submitting", "Submitting…");
}

async function run(): Promise<void> {
  const request = readRequest();
  if (!request.query) {
    showText("Describe a product idea first.");
    return;
  }
  // A token pasted but not yet saved counts; with none at all, ask for one.
  if (tokens !== undefined && (ui.token.value.trim() !== "" || token() === undefined)) {
    if (!saveToken()) {
      showText("Paste an API token above first: this server hands out no demo token.");
      ui.token.focus();
      return;
    }
  }
  resetPanel();
  const job: { jobId?: string; abort: AbortController } = { abort: new AbortController() };
  current = job;
  ui.submit.disabled = true;
  ui.cancel.disabled = false;
  try {
    const result = await processAsyncJob(request, {
      token: token(),
      signal: job.abort.signal,
      onSubmit: (j) => {
        job.jobId = j.job_id;
        ui.jobId.textContent = j.job_id;
      },
      onProgress,
      onEvent,
    });
    setProgress(1);
    setState("completed");
    ui.step.textContent = "Done.";
    ui.result.replaceChildren(renderResponse(result));
    ui.resultBox.hidden = false;
  } catch (e) {
    if (e instanceof JobFailedError) setState("failed");
    else if (e instanceof JobCancelledError) setState("cancelled");
    else setState("error", "Error");
    showError(e);
  } finally {
    estimate = undefined;
    showTimeLeft();
    ui.live.replaceChildren();
    ui.submit.disabled = false;
    ui.cancel.disabled = true;
    if (current === job) current = undefined;
  }
}

/** Cancels on the server; the job's own stream then reports `cancelled` and `run` ends. */
async function cancel(): Promise<void> {
  const job = current;
  if (job === undefined) return;
  ui.cancel.disabled = true;
  if (job.jobId === undefined) {
    job.abort.abort(); // not submitted yet: just stop
    return;
  }
  setState("cancelling", "Cancelling…");
  try {
    await cancelJob(job.jobId, { token: token() });
  } catch (e) {
    showError(e);
    ui.cancel.disabled = false;
  }
}

function initToken(): void {
  if (tokens === undefined) return; // the server handed us a demo token
  ui.tokenForm.hidden = false;
  showTokenState();
  ui.tokenForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (saveToken()) ui.error.hidden = true;
  });
  ui.tokenClear.addEventListener("click", () => {
    tokens.clear();
    ui.token.value = "";
    showTokenState();
    myJobs.start(undefined);
    ui.token.focus();
  });
}

function init(): void {
  initToken();
  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void run();
  });
  ui.cancel.addEventListener("click", () => void cancel());
  myJobs.start(token());
  setInterval(showTimeLeft, 1000);
  document.body.dataset.ready = "true";
}

init();
