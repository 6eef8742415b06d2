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

// src/types.ts
var TERMINAL_STATES = ["completed", "failed", "cancelled"];
function isTerminal(state) {
  return TERMINAL_STATES.includes(state);
}

// src/run.ts
var StreamUnavailable = class extends Error {
};
function applyEvent(run, id, type, data) {
  if (!isRecord(data)) return void 0;
  if (type === "result") {
    if (typeof data.status === "string") run.result = data;
    return void 0;
  }
  if (id !== void 0) run.lastEventId = id;
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
async function readEventStream(body, parser, idleMs, signal, onMessage) {
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
          value = onMessage(message);
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

// src/follow.ts
var REFUSED_STREAM = /* @__PURE__ */ new Set([400, 405, 406, 415, 501]);
var MAX_RETRY_AFTER_MS2 = 6e4;
async function followEvents(run) {
  const { r, jobId, signal } = run;
  const auto = run.options.transport !== "sse";
  const idleMs = run.options.sseIdleTimeout ?? 45e3;
  const parser = new SseParser();
  parser.lastEventId = run.lastEventId;
  let failures = 0;
  for (; ; ) {
    const res = await openStream(run, parser.lastEventId, auto);
    const before = parser.lastEventId;
    const end = await readEventStream(
      res.body,
      parser,
      idleMs,
      signal,
      (m) => applyEvent(run, m.id, m.event, parseData(m.data))
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
function parseData(raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return void 0;
  }
}

// src/channel.ts
var Channel = class {
  constructor(onReturn) {
    this.onReturn = onReturn;
  }
  onReturn;
  items = [];
  readers = [];
  ended;
  get done() {
    return this.ended !== void 0;
  }
  push(item) {
    if (this.ended) return;
    const reader = this.readers.shift();
    if (reader) reader.resolve({ value: item, done: false });
    else this.items.push(item);
  }
  finish(error) {
    if (this.ended) return;
    this.ended = error === void 0 ? {} : { error };
    for (const r of this.readers.splice(0)) {
      if (error === void 0) r.resolve({ value: void 0, done: true });
      else r.reject(error);
    }
  }
  next() {
    const item = this.items.shift();
    if (item !== void 0) return Promise.resolve({ value: item, done: false });
    if (this.ended) {
      if ("error" in this.ended) {
        const e = this.ended.error;
        this.ended = {};
        return Promise.reject(e);
      }
      return Promise.resolve({ value: void 0, done: true });
    }
    return new Promise((resolve2, reject) => this.readers.push({ resolve: resolve2, reject }));
  }
  /** A `break` out of `for await` lands here: stop listening. */
  return() {
    this.items.length = 0;
    this.finish();
    this.onReturn?.();
    return Promise.resolve({ value: void 0, done: true });
  }
  [Symbol.asyncIterator]() {
    return this;
  }
};

// src/feed.ts
function compareEventIds(a, b) {
  const pa = /^(\d+)-(\d+)$/.exec(a);
  const pb = /^(\d+)-(\d+)$/.exec(b);
  if (pa === null || pb === null) return void 0;
  const ms = BigInt(pa[1]) - BigInt(pb[1]);
  const seq = BigInt(pa[2]) - BigInt(pb[2]);
  const d = ms !== 0n ? ms : seq;
  return d === 0n ? 0 : d > 0n ? 1 : -1;
}
function decode(raw) {
  let msg = raw;
  if (typeof raw === "string") {
    try {
      msg = JSON.parse(raw);
    } catch {
      return void 0;
    }
  }
  if (!isRecord(msg)) return void 0;
  const jobId = typeof msg.job_id === "string" ? msg.job_id : void 0;
  switch (msg.type) {
    case "event": {
      const data = dataOf(msg.data);
      if (jobId === void 0 || typeof msg.id !== "string" || data === void 0) return void 0;
      const type = typeof msg.event === "string" ? msg.event : "message";
      return { type: "event", jobId, event: { id: msg.id, type, data } };
    }
    case "result": {
      const data = dataOf(msg.data);
      if (jobId === void 0 || data === void 0 || typeof data.status !== "string")
        return void 0;
      return { type: "result", jobId, result: data };
    }
    case "error":
      return {
        type: "error",
        jobId,
        code: typeof msg.code === "string" ? msg.code : "error",
        detail: typeof msg.detail === "string" ? msg.detail : String(msg.detail ?? "")
      };
    default:
      return void 0;
  }
}
function dataOf(raw) {
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      return void 0;
    }
  }
  return isRecord(raw) ? raw : void 0;
}
var Subscriptions = class {
  all = false;
  jobs = /* @__PURE__ */ new Map();
  /** Follows a job; the message to send, or undefined if already followed. */
  subscribe(jobId, lastEventId) {
    const known = this.jobs.get(jobId);
    if (known !== void 0 && known.named && !known.ended) return void 0;
    const last = lastEventId ?? known?.last;
    this.jobs.set(jobId, { last, named: true, ended: false });
    return subscribeMessage(jobId, last);
  }
  subscribeAll() {
    if (this.all) return void 0;
    this.all = true;
    return { type: "subscribe", all: true };
  }
  unsubscribe(jobId) {
    const known = this.jobs.get(jobId);
    if (known === void 0) return void 0;
    known.named = false;
    known.ended = true;
    return { type: "unsubscribe", job_id: jobId };
  }
  lastEventId(jobId) {
    return this.jobs.get(jobId)?.last;
  }
  /** Whether more may come of the job: followed (by name or through "all") and not ended. */
  mayHear(jobId) {
    const c = this.jobs.get(jobId);
    return c === void 0 ? this.all : !c.ended;
  }
  /** The message that asks for a job again (after a retryable error), or for all with no id. */
  again(jobId) {
    if (jobId === void 0) return this.all ? { type: "subscribe", all: true } : void 0;
    const c = this.jobs.get(jobId);
    return c === void 0 || c.ended ? void 0 : subscribeMessage(jobId, c.last);
  }
  /**
   * What a new connection sends after signing in: every job not yet ended
   * from after its last event, then "all" (whose replay, if any, is
   * deduplicated by `accept`).
   */
  resume() {
    const out = [];
    for (const [jobId, c] of this.jobs) {
      if (!c.ended && (c.named || c.last !== void 0)) out.push(subscribeMessage(jobId, c.last));
    }
    if (this.all) out.push({ type: "subscribe", all: true });
    return out;
  }
  /**
   * Takes an update off the socket: the update to deliver, or undefined for
   * one already delivered (a replay after a reconnect) or of a job no
   * longer followed.
   */
  accept(u) {
    if (u.jobId === void 0) return u;
    let c = this.jobs.get(u.jobId);
    if (c === void 0) {
      if (!this.all) return void 0;
      c = { last: void 0, named: false, ended: false };
      this.jobs.set(u.jobId, c);
    }
    if (c.ended) return void 0;
    if (u.type === "error") {
      if (!retryable(u.code)) c.ended = true;
      return u;
    }
    if (u.type === "result") {
      if (c.resulted) return void 0;
      c.resulted = true;
      return u;
    }
    if (c.last !== void 0 && (compareEventIds(u.event.id, c.last) ?? 1) <= 0) return void 0;
    c.last = u.event.id;
    if (u.event.type === "state" && isTerminal(String(u.event.data.status))) c.ended = true;
    return u;
  }
};
function retryable(code) {
  return code === "store_unavailable";
}
function subscribeMessage(jobId, last) {
  return last === void 0 ? { type: "subscribe", job_id: jobId } : { type: "subscribe", job_id: jobId, last_event_id: last };
}

// src/socket.ts
function socketUrl(base, path = "/ws") {
  const href = globalThis.location?.href;
  const fromRoot = base.startsWith("/") && !base.startsWith("//");
  let u;
  if (/^https?:\/\//i.test(base) || fromRoot && href !== void 0) {
    try {
      u = new URL(base + path, href);
    } catch {
      u = void 0;
    }
  }
  if (u === void 0) {
    throw new JobGateError(
      `cannot make a WebSocket URL from the API URL ${JSON.stringify(base.slice(0, 200))}: it must be http(s)://… or a path from the root`
    );
  }
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  return u.toString();
}
function closeError(code, reason, url2, giveUp = false) {
  if (code === 4401 || code === 4403) {
    const status = code - 4e3;
    const body = {
      detail: reason || (status === 401 ? "sign-in refused" : "forbidden"),
      code: status === 401 ? "unauthorized" : "forbidden"
    };
    return new HttpError(status, body, url2);
  }
  if (!giveUp) return void 0;
  return new NetworkError(url2, `the socket closed (code ${code}${reason ? `: ${reason}` : ""})`);
}

// src/tracker.ts
function submittedStatus(job) {
  return {
    job_id: job.job_id,
    status: job.status,
    progress: 0,
    message: job.message,
    created_at: job.created_at,
    updated_at: job.created_at,
    estimated_remaining_seconds: job.estimated_completion_seconds ?? null,
    attempt: 0,
    step: null
  };
}
function unknownStatus(jobId) {
  return {
    job_id: jobId,
    status: "pending",
    progress: 0,
    message: "",
    created_at: "",
    updated_at: "",
    estimated_remaining_seconds: null,
    attempt: 0,
    step: null
  };
}
var StatusTracker = class {
  constructor(initial, onProgress, estimate) {
    this.onProgress = onProgress;
    this.estimate = estimate;
    this.status = initial;
  }
  onProgress;
  estimate;
  status;
  startedAt;
  submittedAt = Date.now();
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
      ...typeof data.message === "string" ? { message: data.message } : {},
      ...errorFields(data)
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
function errorFields(data) {
  const out = {};
  for (const k of ["error", "error_code", "error_detail"]) {
    const v = data[k];
    if (typeof v === "string") out[k] = v;
  }
  return out;
}

// src/watch.ts
var DEFAULT_IDLE_MS = 45e3;
var OPEN = 1;
function watchJobs(jobs, options = {}) {
  const retries = options.retry?.retries;
  return new Watcher(jobs, options, {
    maxFailures: retries ?? Number.POSITIVE_INFINITY,
    failBeforeOpen: false
  });
}
var Watcher = class {
  constructor(jobs, options, persistence) {
    this.options = options;
    this.persistence = persistence;
    this.closed = new Promise((resolve2, reject) => this.settle = { resolve: resolve2, reject });
    this.closed.catch(() => void 0);
    this.r = resolve(options);
    this.url = socketUrl(this.r.base);
    if (jobs === "all") this.subs.subscribeAll();
    else for (const id of jobs) this.subs.subscribe(id);
    const signal = options.signal;
    signal?.addEventListener("abort", () => this.finish(signal.reason), { once: true });
    queueMicrotask(() => {
      if (signal?.aborted) this.finish(signal.reason);
      else if (!this.finished) this.connect();
    });
  }
  options;
  persistence;
  state = "connecting";
  closed;
  r;
  url;
  subs = new Subscriptions();
  trackers = /* @__PURE__ */ new Map();
  channels = /* @__PURE__ */ new Set();
  outbox = [];
  ws;
  generation = 0;
  failures = 0;
  everOpened = false;
  finished = false;
  idleTimer;
  retryTimer;
  later = /* @__PURE__ */ new Set();
  settle;
  subscribe(jobId, lastEventId) {
    const msg = this.subs.subscribe(jobId, lastEventId);
    if (msg) this.sendNow(msg);
  }
  unsubscribe(jobId) {
    const msg = this.subs.unsubscribe(jobId);
    if (msg) this.sendNow(msg);
    for (const c of this.channels) if (c.jobId === jobId) c.ch.finish();
  }
  cancel(jobId) {
    const msg = { type: "cancel", job_id: jobId };
    if (!this.sendNow(msg) && !this.finished) this.outbox.push(msg);
  }
  updates(jobId) {
    const entry = { jobId, ch: new Channel(() => this.channels.delete(entry)) };
    if (this.finished || jobId !== void 0 && !this.subs.mayHear(jobId)) entry.ch.finish();
    else this.channels.add(entry);
    return entry.ch;
  }
  status(jobId) {
    return this.trackers.get(jobId)?.status;
  }
  lastEventId(jobId) {
    return this.subs.lastEventId(jobId);
  }
  close() {
    this.finish();
  }
  connect() {
    const gen = ++this.generation;
    const Ctor = this.options.WebSocket ?? globalThis.WebSocket;
    if (typeof Ctor !== "function") {
      this.finish(new JobGateError("no WebSocket here: pass options.WebSocket (Node before 22)"));
      return;
    }
    let ws;
    try {
      ws = new Ctor(this.url);
    } catch (e) {
      this.finish(e);
      return;
    }
    this.ws = ws;
    let opened = false;
    let heard = false;
    ws.addEventListener("open", () => {
      if (gen !== this.generation) return;
      opened = true;
      this.everOpened = true;
      this.setState("open");
      const first = this.r.token ? [{ type: "auth", token: this.r.token }] : [];
      for (const m of [...first, ...this.subs.resume(), ...this.outbox.splice(0)]) {
        if (gen !== this.generation) return;
        ws.send(JSON.stringify(m));
      }
      this.arm(gen);
    });
    ws.addEventListener("message", (ev) => {
      if (gen !== this.generation) return;
      heard = true;
      this.arm(gen);
      this.receive(ev.data);
    });
    ws.addEventListener("close", (ev) => {
      if (gen !== this.generation) return;
      this.dropped(ev.code, ev.reason, opened && heard);
    });
    ws.addEventListener("error", () => void 0);
  }
  /** Silence past the idle time: the connection is dead though nobody said so. */
  arm(gen) {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (gen !== this.generation) return;
      this.generation++;
      this.ws?.close(4e3, "idle");
      this.dropped(1006, "no message within the idle timeout", false);
    }, this.options.idleTimeout ?? DEFAULT_IDLE_MS);
  }
  dropped(code, reason, healthy) {
    clearTimeout(this.idleTimer);
    this.ws = void 0;
    if (this.finished) return;
    const fatal = closeError(code, reason, this.url);
    if (fatal) {
      this.finish(fatal);
      return;
    }
    this.failures = healthy ? 0 : this.failures + 1;
    if (!this.everOpened && this.persistence.failBeforeOpen) {
      this.finish(closeError(code, reason || "closed before it opened", this.url, true));
      return;
    }
    if (this.failures > this.persistence.maxFailures) {
      this.finish(closeError(code, reason || "keeps closing", this.url, true));
      return;
    }
    this.setState("reconnecting");
    const step = Math.max(this.failures, 1);
    const delay = backoffDelay(step, this.r.baseDelayMs, this.r.maxDelayMs, this.r.random);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
  receive(raw) {
    const decoded = decode(raw);
    const u = decoded && this.subs.accept(decoded);
    if (u === void 0) return;
    const o = this.options;
    if (u.type === "event") {
      o.onEvent?.(u.jobId, u.event);
      this.track(u.jobId, u.event);
    } else if (u.type === "result") {
      o.onResult?.(u.result);
    } else {
      o.onError?.({ jobId: u.jobId, code: u.code, detail: u.detail });
      if (retryable(u.code)) this.askAgain(u.jobId);
    }
    const ends = u.type === "error" && !retryable(u.code) || u.type === "event" && u.event.type === "state" && isTerminal(String(u.event.data.status));
    for (const c of this.channels) {
      if (c.jobId !== void 0 && c.jobId !== u.jobId) continue;
      c.ch.push(u);
      if (ends && c.jobId !== void 0) c.ch.finish();
    }
  }
  /** Subscribes again after a step of backoff (on this socket, if it still stands). */
  askAgain(jobId) {
    const gen = this.generation;
    const delay = backoffDelay(1, this.r.baseDelayMs, this.r.maxDelayMs, this.r.random);
    const timer = setTimeout(() => {
      this.later.delete(timer);
      const msg = this.subs.again(jobId);
      if (gen === this.generation && msg) this.sendNow(msg);
    }, delay);
    this.later.add(timer);
  }
  track(jobId, e) {
    let t = this.trackers.get(jobId);
    if (t === void 0) {
      t = new StatusTracker(unknownStatus(jobId), this.options.onStatus);
      this.trackers.set(jobId, t);
    }
    if (e.type === "state" && typeof e.data.status === "string") t.fromState(e.data);
    else if (e.type === "progress") t.fromProgress(e.data);
  }
  /** Sends if the socket is open; false if not (then `resume` or the outbox sends it later). */
  sendNow(msg) {
    const ws = this.ws;
    if (this.state !== "open" || ws === void 0 || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.options.onConnection?.(state);
  }
  /** Ends the watch: cleanly (`error` undefined) or with the error `closed` rejects with. */
  finish(error) {
    if (this.finished) return;
    this.finished = true;
    this.generation++;
    clearTimeout(this.idleTimer);
    clearTimeout(this.retryTimer);
    for (const t of this.later) clearTimeout(t);
    const ws = this.ws;
    this.ws = void 0;
    if (ws !== void 0 && ws.readyState <= OPEN) ws.close(1e3, "done");
    for (const c of this.channels) c.ch.finish(error);
    this.channels.clear();
    this.setState("closed");
    if (error === void 0) this.settle.resolve();
    else this.settle.reject(error);
  }
};

// src/follow-socket.ts
function followSocket(run) {
  const o = run.options;
  return new Promise((resolve2, reject) => {
    let watch;
    let settled = false;
    const end = (outcome, error) => {
      if (settled) return;
      settled = true;
      watch?.close();
      if (outcome !== void 0) resolve2(outcome);
      else reject(error);
    };
    const refused = (e) => {
      if (e.jobId !== run.jobId && e.jobId !== void 0) return;
      if (e.code === "store_unavailable") return;
      if (e.code === "not_found") {
        end(void 0, new HttpError(404, { detail: e.detail, code: e.code }, "websocket"));
        return;
      }
      const cause = new JobGateError(`socket refused: ${e.code}: ${e.detail}`, run.jobId);
      end(void 0, new StreamUnavailable("socket refused the job", { cause }));
    };
    try {
      watch = new Watcher(
        [run.jobId],
        {
          apiUrl: o.apiUrl,
          token: run.r.token,
          basePath: o.basePath,
          retry: o.retry,
          WebSocket: o.WebSocket,
          idleTimeout: o.sseIdleTimeout,
          signal: run.signal,
          onEvent: (_, e) => {
            const outcome = applyEvent(run, e.id, e.type, e.data);
            if (outcome !== void 0) end(outcome);
          },
          onResult: (result) => applyEvent(run, void 0, "result", result),
          onError: refused
        },
        { maxFailures: run.r.retries, failBeforeOpen: true }
      );
    } catch (cause) {
      end(void 0, new StreamUnavailable("no socket", { cause }));
      return;
    }
    watch.closed.then(
      () => end(void 0, new StreamUnavailable("socket closed")),
      (e) => {
        if (run.signal.aborted) end(void 0, run.signal.reason);
        else if (e instanceof HttpError)
          end(void 0, e);
        else end(void 0, new StreamUnavailable("socket unusable", { cause: e }));
      }
    );
  });
}

// src/process.ts
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
      tracker: new StatusTracker(
        submittedStatus(job),
        options.onProgress,
        job.estimated_completion_seconds ?? void 0
      ),
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
  if (transport === "websocket") {
    try {
      return await followSocket(run);
    } catch (e) {
      if (!(e instanceof StreamUnavailable)) throw e;
    }
  }
  try {
    return await followEvents(run);
  } catch (e) {
    if (!(e instanceof StreamUnavailable)) throw e;
    if (transport === "sse") throw e.cause;
    return poll(run);
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
  submitJob,
  watchJobs
};
