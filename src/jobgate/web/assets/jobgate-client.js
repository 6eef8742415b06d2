// Generated from clients/js by `npm run build`. Do not edit; edit the TypeScript source.

// src/config.ts
var DEFAULT_POLL_INTERVAL_MS = 5e3;
var DEFAULT_MAX_POLL_ATTEMPTS = 120;
var DEFAULT_TIMEOUT_MS = 6e5;
function positiveNumber(raw, fallback) {
  let n;
  if (typeof raw === "number") {
    n = raw;
  } else if (typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw)) {
    n = Number(raw);
  } else {
    return fallback;
  }
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
function getJobConfig(globals = globalThis) {
  const apiUrl = typeof globals.__API_URL__ === "string" ? globals.__API_URL__.trim() : "";
  const token = globals.__JOBGATE_TOKEN__;
  return {
    apiUrl: apiUrl.replace(/\/+$/, ""),
    pollInterval: positiveNumber(globals.__JOB_POLL_INTERVAL_MS__, DEFAULT_POLL_INTERVAL_MS),
    maxPollAttempts: Math.max(
      1,
      Math.floor(positiveNumber(globals.__JOB_MAX_POLL_ATTEMPTS__, DEFAULT_MAX_POLL_ATTEMPTS))
    ),
    timeout: positiveNumber(globals.__JOB_TIMEOUT_MS__, DEFAULT_TIMEOUT_MS),
    token: typeof token === "string" && token !== "" ? token : void 0
  };
}

// src/errors.ts
var JobGateError = class extends Error {
  name = "JobGateError";
  /** Set once the job exists on the server. */
  jobId;
  constructor(message, jobId, options) {
    super(message, options);
    this.jobId = jobId;
  }
};
var HttpError = class extends JobGateError {
  name = "HttpError";
  status;
  /** The parsed JSON body when there was one, else the raw text. */
  body;
  /** The `code` of a jobgate error body (`{detail, code, message}`), when present. */
  code;
  /** Seconds from a `Retry-After` header, when present. */
  retryAfter;
  constructor(status, body, url2, retryAfter) {
    super(`HTTP ${status} from ${url2}: ${describeBody(body)}`);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
    this.code = isRecord(body) && typeof body.code === "string" ? body.code : void 0;
  }
  /** The server's text: `detail` when it is text, else its `message` summary, else the body. */
  get detail() {
    return describeBody(this.body);
  }
};
var NetworkError = class extends JobGateError {
  name = "NetworkError";
  constructor(url2, cause) {
    super(`could not reach ${url2}: ${errorText(cause)}`, void 0, { cause });
  }
};
var JobFailedError = class extends JobGateError {
  name = "JobFailedError";
  code;
  detail;
  /** `message` is the server's `error` string, e.g. "Job failed: the model refused". */
  constructor(jobId, message, code, detail) {
    super(message, jobId);
    this.code = code;
    this.detail = detail;
  }
};
var JobCancelledError = class extends JobGateError {
  name = "JobCancelledError";
  code;
  detail;
  constructor(jobId, message = "Job cancelled", code, detail) {
    super(message, jobId);
    this.code = code;
    this.detail = detail;
  }
};
var PREFIX = { failed: "Job failed: ", cancelled: "Job cancelled: " };
function jobErrorOf(body, state) {
  const old = isRecord(body.error) ? body.error : void 0;
  const code = textOf(body.error_code) ?? textOf(old?.code);
  const detail = textOf(body.error_detail) ?? textOf(old?.message);
  const why = detail ?? code;
  const text = textOf(body.error) ?? (why === void 0 ? void 0 : PREFIX[state] + why);
  return text === void 0 ? void 0 : { text, code, detail };
}
function textOf(v) {
  return typeof v === "string" && v !== "" ? v : void 0;
}
var JobTimeoutError = class extends JobGateError {
  name = "JobTimeoutError";
  constructor(jobId, message) {
    super(message, jobId);
  }
};
function isRecord(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function describeBody(body) {
  if (isRecord(body) && ("detail" in body || "message" in body)) {
    const d = body.detail;
    if (typeof d === "string") return d;
    return typeof body.message === "string" ? body.message : JSON.stringify(d);
  }
  if (typeof body === "string") return body.slice(0, 500) || "(empty body)";
  return JSON.stringify(body) ?? "(empty body)";
}
function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

// src/timing.ts
function sleep(ms, signal) {
  return new Promise((resolve2, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve2();
      },
      Math.max(0, ms)
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
function backoffDelay(retry, baseMs, maxMs, random = Math.random) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(retry - 1, 0));
  return ceiling / 2 + random() * (ceiling / 2);
}
function parseRetryAfter(value, now = Date.now()) {
  if (value === null) return void 0;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1e3;
  const at = Date.parse(v);
  return Number.isNaN(at) ? void 0 : Math.max(0, at - now);
}
function anySignal(signals) {
  const controller = new AbortController();
  const detach = [];
  for (const s of signals) {
    if (s === void 0) continue;
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const onAbort = () => controller.abort(s.reason);
    s.addEventListener("abort", onAbort, { once: true });
    detach.push(() => s.removeEventListener("abort", onAbort));
  }
  return { signal: controller.signal, dispose: () => detach.forEach((d) => d()) };
}

// src/http.ts
var DEFAULT_BASE_PATH = "/api/multi-agent";
var RETRYABLE_STATUS = /* @__PURE__ */ new Set([429, 502, 503, 504, 524]);
var MAX_RETRY_AFTER_MS = 6e4;
function resolve(options = {}) {
  const config = getJobConfig();
  const apiUrl = (options.apiUrl ?? config.apiUrl).replace(/\/+$/, "");
  const basePath = options.basePath ?? DEFAULT_BASE_PATH;
  const r = options.retry ?? {};
  return {
    base: apiUrl + basePath,
    token: options.token ?? config.token,
    signal: options.signal,
    // Bound here so that a `fetch` called as a method keeps its `this` (browsers require it).
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    retries: r.retries ?? 6,
    baseDelayMs: r.baseDelayMs ?? 500,
    maxDelayMs: r.maxDelayMs ?? 15e3,
    random: r.random ?? Math.random
  };
}
function url(r, path) {
  return r.base + path;
}
function headersFor(r, extra = {}) {
  const h = { Accept: "application/json", ...extra };
  if (r.token) h.Authorization = `Bearer ${r.token}`;
  return h;
}
async function send(r, ex) {
  const target = url(r, ex.path);
  const signal = ex.signal ?? r.signal;
  const init = {
    method: ex.method ?? "GET",
    headers: headersFor(r, {
      ...ex.body !== void 0 ? { "Content-Type": "application/json" } : {},
      ...ex.headers
    }),
    body: ex.body !== void 0 ? JSON.stringify(ex.body) : void 0,
    signal
  };
  for (let retry = 1; ; retry++) {
    let res;
    try {
      res = await r.fetch(target, init);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (retry > r.retries) throw new NetworkError(target, e);
      await sleep(backoffDelay(retry, r.baseDelayMs, r.maxDelayMs, r.random), signal);
      continue;
    }
    if (res.ok) return res;
    const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
    const body = await readBody(res);
    if (!RETRYABLE_STATUS.has(res.status) || retry > r.retries) {
      throw new HttpError(res.status, body, target, retryAfter && retryAfter / 1e3);
    }
    const wait = retryAfter !== void 0 ? Math.min(retryAfter, MAX_RETRY_AFTER_MS) : backoffDelay(retry, r.baseDelayMs, r.maxDelayMs, r.random);
    await sleep(wait, signal);
  }
}
async function sendJson(r, ex) {
  const res = await send(r, ex);
  const body = await readBody(res);
  return {
    status: res.status,
    body,
    retryAfterMs: parseRetryAfter(res.headers.get("Retry-After"))
  };
}
async function readBody(res) {
  const text = await res.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// src/api.ts
function jobPath(jobId, what) {
  return `/jobs/${encodeURIComponent(jobId)}/${what}`;
}
function newIdempotencyKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
async function submitWith(r, request, priority, idempotencyKey, signal) {
  const body = { request };
  if (priority !== void 0) body.priority = priority;
  const res = await sendJson(r, {
    method: "POST",
    path: "/submit",
    body,
    headers: { "Idempotency-Key": idempotencyKey },
    signal
  });
  return res.body;
}
async function submitJob(request, options = {}) {
  return submitWith(
    resolve(options),
    request,
    options.priority,
    options.idempotencyKey ?? newIdempotencyKey()
  );
}
async function statusWith(r, jobId, wait, signal) {
  const query = wait !== void 0 ? `?wait=${encodeURIComponent(String(wait))}` : "";
  return sendJson(r, { path: jobPath(jobId, "status") + query, signal });
}
async function getJobStatus(jobId, options = {}) {
  return (await statusWith(resolve(options), jobId, options.wait)).body;
}
async function resultWith(r, jobId, signal) {
  return (await sendJson(r, { path: jobPath(jobId, "result"), signal })).body;
}
async function getJobResult(jobId, options = {}) {
  return resultWith(resolve(options), jobId);
}
async function cancelJob(jobId, options = {}) {
  const r = resolve(options);
  return (await sendJson(r, { method: "POST", path: jobPath(jobId, "cancel") })).body;
}

// src/sse.ts
var SseParser = class {
  /**
   * The id to resume after. As in the standard, it is sticky (an `id:` line
   * holds for later events that have none) and only taken when its event is
   * complete: a connection cut after `id:` but before the blank line must
   * not skip that event on resume.
   */
  lastEventId;
  /** The server's `retry:` hint in ms, if it sent one. */
  retry;
  buffer = "";
  skipLeadingLF = false;
  started = false;
  data = [];
  event = "";
  idBuffer;
  /** Feeds decoded text; returns the messages completed by it. */
  push(text) {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    if (this.skipLeadingLF && text.startsWith("\n")) text = text.slice(1);
    this.skipLeadingLF = false;
    const buf = this.buffer + text;
    const out = [];
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c !== "\r" && c !== "\n") continue;
      const line = buf.slice(start, i);
      if (c === "\r") {
        if (i + 1 < buf.length) {
          if (buf[i + 1] === "\n") i++;
        } else {
          this.skipLeadingLF = true;
        }
      }
      start = i + 1;
      this.line(line, out);
    }
    this.buffer = buf.slice(start);
    return out;
  }
  line(line, out) {
    if (line === "") {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
    }
  }
  dispatch(out) {
    this.lastEventId = this.idBuffer;
    if (this.data.length > 0) {
      out.push({
        id: this.lastEventId,
        event: this.event || "message",
        data: this.data.join("\n")
      });
    }
    this.data = [];
    this.event = "";
  }
};
async function readEventStream(body, parser, idleMs, signal, onMessage2) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const end = { gotBytes: false, dropped: false, idled: false };
  let timer;
  const hangUp = () => {
    reader.cancel().catch(() => void 0);
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      end.idled = true;
      hangUp();
    }, idleMs);
  };
  signal.addEventListener("abort", hangUp);
  try {
    arm();
    for (; ; ) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        if (signal.aborted) throw signal.reason;
        return { ...end, dropped: !end.idled };
      }
      if (signal.aborted) throw signal.reason;
      if (chunk.done) return end;
      end.gotBytes = true;
      arm();
      for (const message of parser.push(decoder.decode(chunk.value, { stream: true }))) {
        let value;
        try {
          value = onMessage2(message);
        } catch (e) {
          hangUp();
          throw e;
        }
        if (value !== void 0) {
          hangUp();
          return { ...end, value };
        }
      }
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", hangUp);
  }
}

// src/tracker.ts
var StatusTracker = class {
  constructor(job, onProgress) {
    this.onProgress = onProgress;
    this.estimate = job.estimated_completion_seconds ?? void 0;
    this.status = {
      job_id: job.job_id,
      status: job.status,
      progress: 0,
      message: job.message,
      created_at: job.created_at,
      updated_at: job.created_at,
      estimated_remaining_seconds: this.estimate ?? null,
      attempt: 0,
      step: null
    };
  }
  onProgress;
  status;
  startedAt;
  submittedAt = Date.now();
  estimate;
  /** A status body from the server replaces what we knew. */
  fromStatus(body) {
    this.status = body;
    this.emit();
  }
  fromState(data) {
    const status = data.status;
    if (status === "processing" && this.startedAt === void 0) this.startedAt = Date.now();
    this.update({
      status,
      ...typeof data.attempt === "number" ? { attempt: data.attempt } : {},
      ...typeof data.message === "string" ? { message: data.message } : {}
    });
  }
  fromProgress(data) {
    const progress = typeof data.progress === "number" ? data.progress : this.status.progress;
    this.update({
      progress,
      ...typeof data.message === "string" ? { message: data.message } : {},
      ...isRecord(data.step) ? { step: data.step } : {}
    });
  }
  update(patch) {
    const status = { ...this.status, ...patch, updated_at: (/* @__PURE__ */ new Date()).toISOString() };
    status.estimated_remaining_seconds = this.remaining(status);
    this.status = status;
    this.emit();
  }
  /**
   * Events carry no time estimate, so extrapolate as the server does: run
   * time so far per unit of progress; before any progress, the estimate
   * given at submit minus the time since.
   */
  remaining(s) {
    if (s.status === "completed" || s.status === "failed" || s.status === "cancelled") return 0;
    const now = Date.now();
    if (this.startedAt !== void 0 && s.progress > 0 && s.progress < 1) {
      return Math.round((now - this.startedAt) / 1e3 * ((1 - s.progress) / s.progress) * 10) / 10;
    }
    if (this.estimate === void 0) return null;
    return Math.max(0, Math.round(this.estimate - (now - this.submittedAt) / 1e3));
  }
  emit() {
    this.onProgress?.(this.status);
  }
};

// src/types.ts
var TERMINAL_STATES = ["completed", "failed", "cancelled"];
function isTerminal(state) {
  return TERMINAL_STATES.includes(state);
}

// src/process.ts
var StreamUnavailable = class extends Error {
};
var REFUSED_STREAM = /* @__PURE__ */ new Set([400, 405, 406, 415, 501]);
var MAX_RETRY_AFTER_MS2 = 6e4;
async function processAsyncJob(request, options = {}) {
  const config = getJobConfig();
  const r = resolve(options);
  const timeout = options.timeout ?? config.timeout;
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new JobTimeoutError(void 0, "timeout")),
    timeout
  );
  const { signal, dispose } = anySignal([options.signal, deadline.signal]);
  let jobId;
  try {
    const job = await submitWith(
      r,
      request,
      options.priority,
      options.idempotencyKey ?? newIdempotencyKey(),
      signal
    );
    jobId = job.job_id;
    options.onSubmit?.(job);
    const run = {
      r,
      jobId,
      signal,
      tracker: new StatusTracker(job, options.onProgress),
      options,
      pollInterval: options.pollInterval ?? config.pollInterval,
      maxPollAttempts: options.maxPollAttempts ?? config.maxPollAttempts
    };
    return await settle(run, await follow(run));
  } catch (e) {
    if (options.signal?.aborted) {
      if (options.cancelOnAbort && jobId !== void 0) void cancelQuietly(r, jobId);
      throw options.signal.reason;
    }
    if (deadline.signal.aborted) {
      throw new JobTimeoutError(
        jobId,
        `job ${jobId ?? "(not submitted)"} did not finish within ${timeout / 1e3} s; it may still be running`
      );
    }
    if (e instanceof JobGateError && e.jobId === void 0) e.jobId = jobId;
    throw e;
  } finally {
    clearTimeout(timer);
    dispose();
  }
}
async function follow(run) {
  const transport = run.options.transport ?? "auto";
  if (transport === "poll") return poll(run);
  try {
    return await followEvents(run);
  } catch (e) {
    if (!(e instanceof StreamUnavailable)) throw e;
    if (transport === "sse") throw e.cause;
    return poll(run);
  }
}
async function followEvents(run) {
  const { r, jobId, signal } = run;
  const auto = (run.options.transport ?? "auto") === "auto";
  const idleMs = run.options.sseIdleTimeout ?? 45e3;
  const parser = new SseParser();
  let failures = 0;
  for (; ; ) {
    const res = await openStream(run, parser.lastEventId, auto);
    const before = parser.lastEventId;
    const end = await readEventStream(
      res.body,
      parser,
      idleMs,
      signal,
      (m) => onMessage(run, m.id, m.event, m.data)
    );
    if (end.value) return end.value;
    if (auto && end.idled && !end.gotBytes) {
      throw new StreamUnavailable("event stream stayed silent", {
        cause: new JobGateError("event stream stayed silent", jobId)
      });
    }
    const healthy = parser.lastEventId !== before || end.gotBytes && !end.dropped && !end.idled;
    failures = healthy ? 0 : failures + 1;
    if (failures > r.retries) {
      const cause = new NetworkError(
        r.base + jobPath(jobId, "events"),
        "event stream keeps breaking"
      );
      if (auto) throw new StreamUnavailable("event stream keeps breaking", { cause });
      throw cause;
    }
    const delay = failures > 0 ? backoffDelay(failures, r.baseDelayMs, r.maxDelayMs, r.random) : parser.retry ?? 0;
    await sleep(delay, signal);
  }
}
async function openStream(run, lastEventId, auto) {
  let res;
  try {
    res = await send(run.r, {
      path: jobPath(run.jobId, "events"),
      headers: {
        Accept: "text/event-stream",
        ...lastEventId !== void 0 ? { "Last-Event-ID": lastEventId } : {}
      },
      signal: run.signal
    });
  } catch (e) {
    const refused = e instanceof HttpError && REFUSED_STREAM.has(e.status);
    const exhausted = e instanceof NetworkError || e instanceof HttpError && RETRYABLE_STATUS.has(e.status);
    if (refused || auto && exhausted)
      throw new StreamUnavailable("event stream refused", { cause: e });
    throw e;
  }
  const type = res.headers.get("Content-Type") ?? "";
  if (!type.startsWith("text/event-stream") || res.body === null) {
    await res.body?.cancel().catch(() => void 0);
    throw new StreamUnavailable("no event stream", {
      cause: new JobGateError(`expected an event stream, got ${type || "no body"}`, run.jobId)
    });
  }
  return res;
}
function onMessage(run, id, type, raw) {
  let data;
  try {
    data = JSON.parse(raw);
  } catch {
    return void 0;
  }
  if (!isRecord(data)) return void 0;
  if (type === "result") {
    if (typeof data.status === "string") run.result = data;
    return void 0;
  }
  run.options.onEvent?.({ id: id ?? "", type, data });
  if (type === "progress") run.tracker.fromProgress(data);
  if (type !== "state" || typeof data.status !== "string") return void 0;
  run.tracker.fromState(data);
  return isTerminal(data.status) ? outcomeOf(data.status, data) : void 0;
}
function outcomeOf(state, body) {
  const error = state === "completed" ? void 0 : jobErrorOf(body, state);
  return {
    state,
    ...typeof body.message === "string" ? { message: body.message } : {},
    ...error !== void 0 ? { error } : {}
  };
}
async function poll(run) {
  for (let attempt = 1; ; attempt++) {
    const { body, retryAfterMs } = await statusWith(run.r, run.jobId, void 0, run.signal);
    run.tracker.fromStatus(body);
    if (isTerminal(body.status))
      return outcomeOf(body.status, body);
    if (attempt >= run.maxPollAttempts) {
      throw new JobTimeoutError(
        run.jobId,
        `job ${run.jobId} still ${body.status} after ${attempt} status polls`
      );
    }
    const delay = retryAfterMs !== void 0 ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS2) : run.pollInterval;
    await sleep(delay, run.signal);
  }
}
async function settle(run, outcome) {
  const { jobId } = run;
  if (outcome.state === "cancelled") {
    throw cancelledError(jobId, outcome.error, outcome.message || "Job cancelled");
  }
  if (outcome.state === "failed" && outcome.error) throw failedError(jobId, outcome.error);
  let body = run.result?.status === outcome.state ? run.result : void 0;
  try {
    body ??= await resultWith(run.r, jobId, run.signal);
  } catch (e) {
    if (outcome.state === "failed" && !run.signal.aborted) {
      throw new JobFailedError(jobId, outcome.message || "Job failed");
    }
    throw e;
  }
  switch (body.status) {
    case "completed":
      return body.result ?? {};
    case "failed":
      throw failedError(
        jobId,
        jobErrorOf(body, "failed") ?? {
          text: outcome.message || "Job failed",
          code: void 0,
          detail: void 0
        }
      );
    case "cancelled":
      throw cancelledError(
        jobId,
        jobErrorOf(body, "cancelled"),
        "Job cancelled"
      );
    default:
      throw new JobGateError(
        `job ${jobId} reported ${outcome.state} but its result is ${body.status}`,
        jobId
      );
  }
}
function failedError(jobId, e) {
  return new JobFailedError(jobId, e.text, e.code, e.detail);
}
function cancelledError(jobId, e, fallback) {
  return new JobCancelledError(jobId, e?.text ?? fallback, e?.code, e?.detail);
}
async function cancelQuietly(r, jobId) {
  const fresh = { ...r, retries: 1, signal: void 0 };
  await send(fresh, { method: "POST", path: jobPath(jobId, "cancel") }).catch(() => void 0);
}
export {
  DEFAULT_MAX_POLL_ATTEMPTS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  HttpError,
  JobCancelledError,
  JobFailedError,
  JobGateError,
  JobTimeoutError,
  NetworkError,
  TERMINAL_STATES,
  cancelJob,
  getJobConfig,
  getJobResult,
  getJobStatus,
  isTerminal,
  processAsyncJob,
  submitJob
};
