// Generated from clients/js by `npm run build`. Do not edit; edit the TypeScript source.

// demo/app.ts
import {
  HttpError as HttpError2,
  JobCancelledError,
  JobFailedError,
  JobTimeoutError,
  NetworkError,
  cancelJob,
  getJobConfig,
  processAsyncJob
} from "./jobgate-client.js";

// demo/jobs.ts
import {
  HttpError,
  isTerminal,
  watchJobs
} from "./jobgate-client.js";

// demo/render.ts
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null) el.append(c);
  return el;
}
var LABELS = {
  prd_authoring: "PRD authoring",
  rag: "RAG",
  v0: "v0"
};
function humanize(key) {
  const known = LABELS[key];
  if (known !== void 0) return known;
  const words = key.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
function stepText(s) {
  const step = s.step;
  const of = step?.index != null && step.total != null ? ` (step ${step.index} of ${step.total})` : "";
  const where = step?.agent != null ? `${humanize(step.agent)}${of}` : "";
  return [where, s.message].filter(Boolean).join(" — ");
}
var MAIN_TEXT = ["response", "final_response", "content", "summary", "output", "text", "answer"];
var MAX_DEPTH = 6;
function isRecord(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function mainKey(value) {
  return MAIN_TEXT.find((k) => typeof value[k] === "string" && value[k].trim() !== "");
}
function mainText(value) {
  if (typeof value === "string") return value;
  if (!isRecord(value)) return void 0;
  const key = mainKey(value);
  return key === void 0 ? void 0 : value[key];
}
function renderValue(value, depth = 0) {
  if (value === null || value === void 0) return h("span", { class: "muted" }, "—");
  if (typeof value === "string") return h("p", { class: "text" }, value);
  if (typeof value !== "object") return h("span", { class: "scalar" }, String(value));
  if (depth >= MAX_DEPTH) return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
  if (Array.isArray(value)) {
    if (value.length === 0) return h("span", { class: "muted" }, "(none)");
    return h("ol", { class: "list" }, ...value.map((v) => h("li", {}, renderValue(v, depth + 1))));
  }
  const dl = h("dl", { class: "fields" });
  for (const [k, v] of Object.entries(value)) {
    dl.append(h("dt", {}, humanize(k)), h("dd", {}, renderValue(v, depth + 1)));
  }
  return dl;
}
function renderInteraction(i) {
  const who = `${humanize(String(i.from_agent ?? "?"))} → ${humanize(String(i.to_agent ?? "?"))}`;
  const rest = Object.fromEntries(
    Object.entries(i).filter(([k]) => !["from_agent", "to_agent", "response"].includes(k))
  );
  return h(
    "details",
    { class: "interaction" },
    h("summary", {}, who),
    typeof i.response === "string" ? h("p", { class: "text" }, i.response) : null,
    renderValue(rest, 1)
  );
}
function renderResponse(result) {
  const box = h("div", { class: "response" });
  if (!isRecord(result)) {
    box.append(renderValue(result));
    return box;
  }
  const key = mainKey(result);
  if (key !== void 0) {
    box.append(h("p", { class: "main-text", "data-testid": "result-main" }, result[key]));
  }
  const interactions = result.agent_interactions;
  if (Array.isArray(interactions) && interactions.every(isRecord)) {
    box.append(
      h("h3", {}, `Agent interactions (${interactions.length})`),
      h(
        "div",
        { class: "interactions", "data-testid": "interactions" },
        ...interactions.map(renderInteraction)
      )
    );
  }
  const rest = Object.fromEntries(
    Object.entries(result).filter(
      ([k]) => k !== key && !(k === "agent_interactions" && Array.isArray(interactions))
    )
  );
  box.append(renderValue(rest));
  box.append(
    h(
      "details",
      { class: "raw" },
      h("summary", {}, "Raw JSON"),
      h("pre", { class: "json" }, JSON.stringify(result, null, 2))
    )
  );
  return box;
}
function renderAgentOutput(o) {
  const where = [
    o.index !== void 0 && o.total !== void 0 ? `step ${o.index} of ${o.total}` : "",
    o.round !== void 0 ? `round ${o.round}` : ""
  ].filter(Boolean).join(" · ");
  const text = mainText(o.response);
  return h(
    "li",
    { class: "agent-output", "data-testid": "agent-output", "data-agent": o.agent },
    h("h3", {}, humanize(o.agent), where ? h("small", {}, ` ${where}`) : null),
    text !== void 0 ? h("p", { class: "text" }, text) : renderValue(o.response)
  );
}

// demo/jobs.ts
var MAX_ROWS = 50;
var RESULT_CHARS = 400;
var FEED_LABELS = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Not connected"
};
var MyJobs = class {
  constructor(ui2) {
    this.ui = ui2;
  }
  ui;
  watch;
  rows = /* @__PURE__ */ new Map();
  /** Follows the user's jobs with this token (again, if it changed); none: asks for one. */
  start(token2) {
    this.stop();
    if (token2 === void 0) {
      this.showFeed("closed", "Paste a token to see your jobs.");
      return;
    }
    let watch;
    try {
      watch = this.watchAll(token2);
    } catch (e) {
      this.showFeed("closed", `Cannot follow your jobs: ${e instanceof Error ? e.message : e}`);
      return;
    }
    this.watch = watch;
    this.showFeed(watch.state);
    watch.closed.catch((e) => {
      if (this.watch !== watch) return;
      this.showFeed(
        "closed",
        e instanceof HttpError && e.status === 401 ? "The server did not accept the token: your jobs are not shown." : `Lost the connection: ${e instanceof Error ? e.message : String(e)}`
      );
    });
  }
  watchAll(token2) {
    const watch = watchJobs("all", {
      token: token2,
      onStatus: (s) => this.onStatus(s),
      onResult: (r) => this.onResult(r),
      onError: (e) => this.onError(e),
      onConnection: (state) => {
        if (this.watch === watch) this.showFeed(state);
      }
    });
    return watch;
  }
  stop() {
    const w = this.watch;
    this.watch = void 0;
    w?.close();
  }
  showFeed(state, note) {
    this.ui.feed.dataset.state = state;
    this.ui.feed.textContent = note ?? FEED_LABELS[state];
  }
  row(jobId) {
    const known = this.rows.get(jobId);
    if (known !== void 0) return known;
    const fill = h("div", { class: "mj-fill" });
    const bar = h(
      "div",
      {
        class: "mj-bar",
        role: "progressbar",
        "aria-label": "Job progress",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": "0"
      },
      fill
    );
    const row = {
      li: h("li", { class: "my-job", "data-testid": "my-job", "data-job-id": jobId }),
      state: h("span", { class: "state", "data-testid": "my-job-state" }),
      bar,
      fill,
      percent: h("span", { "data-testid": "my-job-progress" }, "0%"),
      step: h("span", { class: "mj-step", "data-testid": "my-job-step" }),
      outcome: h("p", { class: "mj-outcome", "data-testid": "my-job-outcome", hidden: "" }),
      cancel: h(
        "button",
        { type: "button", class: "secondary mj-cancel", "data-testid": "my-job-cancel" },
        "Cancel"
      )
    };
    row.cancel.addEventListener("click", () => {
      row.cancel.disabled = true;
      this.watch?.cancel(jobId);
    });
    row.li.append(
      h(
        "div",
        { class: "mj-head" },
        row.state,
        h("code", { class: "mj-id", title: jobId }, jobId),
        row.cancel
      ),
      row.bar,
      h("div", { class: "mj-meta" }, row.percent, row.step),
      row.outcome
    );
    this.rows.set(jobId, row);
    this.ui.list.prepend(row.li);
    this.ui.empty.hidden = true;
    this.trim();
    return row;
  }
  trim() {
    for (const [id, r] of this.rows) {
      if (this.rows.size <= MAX_ROWS) return;
      if (isTerminal(r.li.dataset.state ?? "")) {
        r.li.remove();
        this.rows.delete(id);
      }
    }
  }
  onStatus(s) {
    const r = this.row(s.job_id);
    r.li.dataset.state = s.status;
    r.state.dataset.state = s.status;
    r.state.textContent = humanize(s.status);
    const pct = Math.round(Math.min(Math.max(s.progress, 0), 1) * 100);
    r.fill.style.width = `${pct}%`;
    r.bar.setAttribute("aria-valuenow", String(pct));
    r.percent.textContent = `${pct}%`;
    r.step.textContent = stepText(s);
    if (isTerminal(s.status)) {
      r.cancel.disabled = true;
      if (s.status !== "completed" && s.error) this.outcome(r, s.error, true);
    }
  }
  onResult(res) {
    const r = this.row(res.job_id);
    if (res.status === "completed") {
      const text = mainText(res.result) ?? JSON.stringify(res.result ?? {});
      this.outcome(r, text.length > RESULT_CHARS ? `${text.slice(0, RESULT_CHARS)}…` : text);
    } else if (res.error) {
      this.outcome(r, res.error, true);
    }
  }
  onError(e) {
    if (e.jobId === void 0) {
      this.ui.feed.textContent = `${FEED_LABELS.open} (the server said: ${e.detail || e.code})`;
      return;
    }
    if (!this.rows.has(e.jobId)) return;
    this.outcome(this.row(e.jobId), `Not followed: ${e.detail || e.code}`, true);
  }
  outcome(r, text, bad = false) {
    r.outcome.textContent = text;
    r.outcome.hidden = false;
    r.outcome.dataset.kind = bad ? "error" : "result";
  }
};

// demo/token.ts
var KEY = "jobgate.token";
function parseToken(raw) {
  const token2 = raw.trim().replace(/^Bearer\s+/i, "");
  if (token2 === "") return { problem: "Paste a token first." };
  if (!/^[\x21-\x7e]+$/.test(token2)) {
    return { problem: "That is not a token: it may hold only visible ASCII, no spaces." };
  }
  return { token: token2 };
}
var TokenStore = class {
  constructor(storage) {
    this.storage = storage;
  }
  storage;
  /** Used when the browser refuses storage (some private modes): the token lives until reload. */
  memory;
  get() {
    try {
      return this.storage?.getItem(KEY) || this.memory;
    } catch {
      return this.memory;
    }
  }
  set(token2) {
    this.memory = token2;
    try {
      this.storage?.setItem(KEY, token2);
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
function sessionTokenStore() {
  try {
    localStorage.removeItem(KEY);
  } catch {
  }
  let storage;
  try {
    storage = sessionStorage;
  } catch {
    storage = void 0;
  }
  return new TokenStore(storage);
}

// demo/app.ts
function $(id) {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`demo page is missing #${id}`);
  return el;
}
var ui = {
  form: $("job-form"),
  query: $("query"),
  mode: $("mode"),
  primary: $("primary-agent"),
  tokenForm: $("token-form"),
  token: $("token"),
  tokenClear: $("token-clear"),
  tokenState: $("token-state"),
  submit: $("submit"),
  panel: $("job-panel"),
  jobId: $("job-id"),
  state: $("job-state"),
  bar: $("progress-bar"),
  fill: $("progress-fill"),
  percent: $("progress-percent"),
  step: $("current-step"),
  timeLeft: $("time-left"),
  cancel: $("cancel"),
  live: $("live-output"),
  outputs: $("agent-outputs"),
  resultBox: $("result"),
  result: $("result-body"),
  error: $("error")
};
var myJobs = new MyJobs({
  list: $("my-jobs-list"),
  empty: $("my-jobs-empty"),
  feed: $("my-jobs-feed")
});
var config = getJobConfig();
var tokens = config.token === void 0 ? sessionTokenStore() : void 0;
var current;
var estimate;
function token() {
  return config.token ?? tokens?.get();
}
function showTokenState(note) {
  const t = tokens?.get();
  ui.tokenState.textContent = note ?? (t === void 0 ? "No token yet: paste one to run jobs." : `Using the token ending in …${t.slice(-4)}, kept in this tab until it closes.`);
  ui.tokenForm.dataset.tokenSet = String(t !== void 0);
  ui.tokenClear.disabled = t === void 0;
}
function saveToken() {
  if (tokens === void 0) return false;
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
function readRequest() {
  const agents = [...ui.form.querySelectorAll('input[name="agent"]:checked')].map(
    (c) => c.value
  );
  const primary = ui.primary.value;
  const request = {
    query: ui.query.value.trim(),
    coordination_mode: ui.mode.value
  };
  if (primary) request.primary_agent = primary;
  const supporting = agents.filter((a) => a !== primary);
  if (supporting.length > 0) request.supporting_agents = supporting;
  return request;
}
function setState(state, label = humanize(state)) {
  ui.state.textContent = label;
  ui.state.dataset.state = state;
  ui.panel.dataset.state = state;
}
function setProgress(fraction) {
  const pct = Math.round(Math.min(Math.max(fraction, 0), 1) * 100);
  ui.fill.style.width = `${pct}%`;
  ui.bar.setAttribute("aria-valuenow", String(pct));
  ui.percent.textContent = `${pct}%`;
}
function showTimeLeft() {
  if (estimate === void 0) {
    ui.timeLeft.textContent = "";
    return;
  }
  const left = Math.max(0, Math.round(estimate.seconds - (Date.now() - estimate.at) / 1e3));
  ui.timeLeft.textContent = left > 0 ? `about ${left} s left` : "finishing…";
}
function onProgress(s) {
  setState(s.status);
  setProgress(s.progress);
  ui.step.textContent = stepText(s);
  const est = s.estimated_remaining_seconds;
  estimate = typeof est === "number" ? { seconds: est, at: Date.now() } : void 0;
  showTimeLeft();
}
function liveLine(index, agent) {
  let line = ui.live.querySelector(`[data-index="${CSS.escape(index)}"]`);
  if (line === null) {
    line = document.createElement("p");
    line.dataset.index = index;
    line.append(`${humanize(agent)}: `);
    ui.live.append(line);
  }
  return line;
}
function onEvent(e) {
  const index = String(e.data.index ?? e.data.agent ?? "");
  if (e.type === "agent_output" && typeof e.data.agent === "string") {
    ui.live.querySelector(`[data-index="${CSS.escape(index)}"]`)?.remove();
    ui.outputs.append(renderAgentOutput(e.data));
  } else if (e.type === "token" && typeof e.data.text === "string") {
    liveLine(index, String(e.data.agent ?? "")).append(e.data.text);
  }
}
function detailText(body) {
  const fields = typeof body === "object" && body !== null ? body : {};
  const detail = "detail" in fields ? fields.detail : body;
  if (typeof fields.message === "string" && typeof detail !== "string") {
    return fields.message;
  }
  if (Array.isArray(detail)) {
    return detail.map(
      (d) => `${(d.loc ?? []).slice(-1)[0] ?? ""}: ${d.msg ?? ""}`
    ).join("; ");
  }
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}
function describeError(e) {
  if (e instanceof JobFailedError)
    return e.message.startsWith("Job failed") ? e.message : `Job failed: ${e.message}`;
  if (e instanceof JobCancelledError) return "The job was cancelled.";
  if (e instanceof JobTimeoutError) return `Stopped waiting: ${e.message}.`;
  if (e instanceof NetworkError)
    return "Could not reach the server. Check the connection and try again.";
  if (e instanceof HttpError2) {
    switch (e.status) {
      case 401:
      case 403:
        return tokens === void 0 ? "The server did not accept the demo token. Reload the page and try again." : "The server did not accept the token. Paste a valid token and try again.";
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
function showError(e) {
  showText(describeError(e));
}
function showText(text) {
  ui.error.textContent = text;
  ui.error.hidden = false;
}
function resetPanel() {
  ui.panel.hidden = false;
  ui.resultBox.hidden = true;
  ui.result.replaceChildren();
  ui.outputs.replaceChildren();
  ui.live.replaceChildren();
  ui.error.hidden = true;
  ui.error.textContent = "";
  ui.jobId.textContent = "";
  ui.step.textContent = "";
  estimate = void 0;
  showTimeLeft();
  setProgress(0);
  setState("submitting", "Submitting…");
}
async function run() {
  const request = readRequest();
  if (!request.query) {
    showText("Describe a product idea first.");
    return;
  }
  if (tokens !== void 0 && (ui.token.value.trim() !== "" || token() === void 0)) {
    if (!saveToken()) {
      showText("Paste an API token above first: this server hands out no demo token.");
      ui.token.focus();
      return;
    }
  }
  resetPanel();
  const job = { abort: new AbortController() };
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
      onEvent
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
    estimate = void 0;
    showTimeLeft();
    ui.live.replaceChildren();
    ui.submit.disabled = false;
    ui.cancel.disabled = true;
    if (current === job) current = void 0;
  }
}
async function cancel() {
  const job = current;
  if (job === void 0) return;
  ui.cancel.disabled = true;
  if (job.jobId === void 0) {
    job.abort.abort();
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
function initToken() {
  if (tokens === void 0) return;
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
    myJobs.start(void 0);
    ui.token.focus();
  });
}
function init() {
  initToken();
  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void run();
  });
  ui.cancel.addEventListener("click", () => void cancel());
  myJobs.start(token());
  setInterval(showTimeLeft, 1e3);
  document.body.dataset.ready = "true";
}
init();
