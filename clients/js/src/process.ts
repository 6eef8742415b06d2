/**
 * processAsyncJob: submit a job, follow it to the end, resolve with its result.
 *
 * It follows the job's event stream when it can (one long-lived request per
 * waiting client, resumed with Last-Event-ID when a proxy cuts it) and
 * polls the status endpoint otherwise. It stops the moment it learns the job
 * ended: a failed job throws its server-side error at once instead of
 * spinning until the polling budget runs out.
 */

import { newIdempotencyKey, resultWith, statusWith, submitWith, jobPath } from "./api.js";
import { getJobConfig } from "./config.js";
import {
  HttpError,
  JobCancelledError,
  JobFailedError,
  JobGateError,
  type JobErrorInfo,
  JobTimeoutError,
  NetworkError,
  isRecord,
  jobErrorOf,
} from "./errors.js";
import { type ClientOptions, RETRYABLE_STATUS, type Resolved, resolve, send } from "./http.js";
import { SseParser, readEventStream } from "./sse.js";
import { anySignal, backoffDelay, sleep } from "./timing.js";
import { StatusTracker } from "./tracker.js";
import {
  type JobEvent,
  type JobPending,
  type JobResult,
  type JobStatus,
  type JobSubmitResponse,
  type MultiAgentRequest,
  type MultiAgentResponse,
  type Priority,
  type TerminalState,
  isTerminal,
} from "./types.js";

export type Transport = "auto" | "sse" | "poll";

export interface ProcessOptions extends ClientOptions {
  /** Called with the job's status (the status endpoint's shape) whenever it changes. */
  onProgress?: (status: JobStatus) => void;
  /** Called with every event of the job's stream (SSE transport only). */
  onEvent?: (event: JobEvent) => void;
  /** Called once the server accepted the job, with its id and URLs. */
  onSubmit?: (job: JobSubmitResponse) => void;
  /** ms between polls without a Retry-After (default window.__JOB_POLL_INTERVAL_MS__ or 5000). */
  pollInterval?: number;
  /** Status polls before giving up, polling only (default __JOB_MAX_POLL_ATTEMPTS__ or 120). */
  maxPollAttempts?: number;
  /** ms from the call before giving up (default window.__JOB_TIMEOUT_MS__ or 600000). */
  timeout?: number;
  /** 'auto' (default): events, falling back to polling if the stream is refused or unusable. */
  transport?: Transport;
  priority?: Priority;
  idempotencyKey?: string;
  /** Also cancel the job on the server when `signal` aborts (default false: the job lives on). */
  cancelOnAbort?: boolean;
  /** ms of silence before a stream is taken as dead (default 45000; the server pings every ~15 s). */
  sseIdleTimeout?: number;
}

interface Outcome {
  state: TerminalState;
  message?: string;
  error?: JobErrorInfo;
}

/** The event stream cannot be used here; `cause` says why. */
class StreamUnavailable extends Error {}

const REFUSED_STREAM = new Set([400, 405, 406, 415, 501]);
const MAX_RETRY_AFTER_MS = 60_000;

interface Run {
  r: Resolved;
  jobId: string;
  signal: AbortSignal;
  tracker: StatusTracker;
  options: ProcessOptions;
  pollInterval: number;
  maxPollAttempts: number;
  /** The result the event stream sent just before the terminal event, if it did. */
  result?: JobResult;
}

export async function processAsyncJob(
  request: MultiAgentRequest,
  options: ProcessOptions = {},
): Promise<MultiAgentResponse> {
  const config = getJobConfig();
  const r = resolve(options);
  const timeout = options.timeout ?? config.timeout;
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new JobTimeoutError(undefined, "timeout")),
    timeout,
  );
  const { signal, dispose } = anySignal([options.signal, deadline.signal]);
  let jobId: string | undefined;
  try {
    const job = await submitWith(
      r,
      request,
      options.priority,
      options.idempotencyKey ?? newIdempotencyKey(),
      signal,
    );
    jobId = job.job_id;
    options.onSubmit?.(job);
    const run: Run = {
      r,
      jobId,
      signal,
      tracker: new StatusTracker(job, options.onProgress),
      options,
      pollInterval: options.pollInterval ?? config.pollInterval,
      maxPollAttempts: options.maxPollAttempts ?? config.maxPollAttempts,
    };
    return await settle(run, await follow(run));
  } catch (e) {
    if (options.signal?.aborted) {
      if (options.cancelOnAbort && jobId !== undefined) void cancelQuietly(r, jobId);
      throw options.signal.reason;
    }
    if (deadline.signal.aborted) {
      throw new JobTimeoutError(
        jobId,
        `job ${jobId ?? "(not submitted)"} did not finish within ${timeout / 1000} s; ` +
          "it may still be running",
      );
    }
    if (e instanceof JobGateError && e.jobId === undefined) e.jobId = jobId;
    throw e;
  } finally {
    clearTimeout(timer);
    dispose();
  }
}

async function follow(run: Run): Promise<Outcome> {
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

/** Follows the event stream, resuming after the last event seen when a connection ends early. */
async function followEvents(run: Run): Promise<Outcome> {
  const { r, jobId, signal } = run;
  const auto = (run.options.transport ?? "auto") === "auto";
  const idleMs = run.options.sseIdleTimeout ?? 45_000;
  const parser = new SseParser();
  let failures = 0;
  for (;;) {
    const res = await openStream(run, parser.lastEventId, auto);
    const before = parser.lastEventId;
    const end = await readEventStream(
      res.body as ReadableStream<Uint8Array>,
      parser,
      idleMs,
      signal,
      (m) => onMessage(run, m.id, m.event, m.data),
    );
    if (end.value) return end.value;
    // A buffering proxy delivers nothing until the response ends: polling will do better.
    if (auto && end.idled && !end.gotBytes) {
      throw new StreamUnavailable("event stream stayed silent", {
        cause: new JobGateError("event stream stayed silent", jobId),
      });
    }
    const healthy = parser.lastEventId !== before || (end.gotBytes && !end.dropped && !end.idled);
    failures = healthy ? 0 : failures + 1;
    if (failures > r.retries) {
      const cause = new NetworkError(
        r.base + jobPath(jobId, "events"),
        "event stream keeps breaking",
      );
      if (auto) throw new StreamUnavailable("event stream keeps breaking", { cause });
      throw cause;
    }
    const delay =
      failures > 0
        ? backoffDelay(failures, r.baseDelayMs, r.maxDelayMs, r.random)
        : (parser.retry ?? 0);
    await sleep(delay, signal);
  }
}

async function openStream(
  run: Run,
  lastEventId: string | undefined,
  auto: boolean,
): Promise<Response> {
  let res: Response;
  try {
    res = await send(run.r, {
      path: jobPath(run.jobId, "events"),
      headers: {
        Accept: "text/event-stream",
        ...(lastEventId !== undefined ? { "Last-Event-ID": lastEventId } : {}),
      },
      signal: run.signal,
    });
  } catch (e) {
    const refused = e instanceof HttpError && REFUSED_STREAM.has(e.status);
    const exhausted =
      e instanceof NetworkError || (e instanceof HttpError && RETRYABLE_STATUS.has(e.status));
    if (refused || (auto && exhausted))
      throw new StreamUnavailable("event stream refused", { cause: e });
    throw e;
  }
  const type = res.headers.get("Content-Type") ?? "";
  if (!type.startsWith("text/event-stream") || res.body === null) {
    await res.body?.cancel().catch(() => undefined);
    throw new StreamUnavailable("no event stream", {
      cause: new JobGateError(`expected an event stream, got ${type || "no body"}`, run.jobId),
    });
  }
  return res;
}

function onMessage(
  run: Run,
  id: string | undefined,
  type: string,
  raw: string,
): Outcome | undefined {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined; // not ours to interpret; the id still advanced, so we will not see it twice
  }
  if (!isRecord(data)) return undefined;
  if (type === "result") {
    // Not a log event: the body of GET /result, sent before the terminal event.
    if (typeof data.status === "string") run.result = data as unknown as JobResult;
    return undefined;
  }
  run.options.onEvent?.({ id: id ?? "", type, data });
  if (type === "progress") run.tracker.fromProgress(data);
  if (type !== "state" || typeof data.status !== "string") return undefined;
  run.tracker.fromState(data);
  return isTerminal(data.status) ? outcomeOf(data.status, data) : undefined;
}

/** The end of the job as a state event or a status body tells it, with its error if any. */
function outcomeOf(state: TerminalState, body: Record<string, unknown>): Outcome {
  const error = state === "completed" ? undefined : jobErrorOf(body, state);
  return {
    state,
    ...(typeof body.message === "string" ? { message: body.message } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

/** Polls the status endpoint, at the server's Retry-After when it sends one. */
async function poll(run: Run): Promise<Outcome> {
  for (let attempt = 1; ; attempt++) {
    const { body, retryAfterMs } = await statusWith(run.r, run.jobId, undefined, run.signal);
    run.tracker.fromStatus(body);
    if (isTerminal(body.status))
      return outcomeOf(body.status, body as unknown as Record<string, unknown>);
    if (attempt >= run.maxPollAttempts) {
      throw new JobTimeoutError(
        run.jobId,
        `job ${run.jobId} still ${body.status} after ${attempt} status polls`,
      );
    }
    const delay =
      retryAfterMs !== undefined ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) : run.pollInterval;
    await sleep(delay, run.signal);
  }
}

/** Turns the terminal state into the result or the matching error. */
async function settle(run: Run, outcome: Outcome): Promise<MultiAgentResponse> {
  const { jobId } = run;
  if (outcome.state === "cancelled") {
    throw cancelledError(jobId, outcome.error, outcome.message || "Job cancelled");
  }
  if (outcome.state === "failed" && outcome.error) throw failedError(jobId, outcome.error);
  let body: JobResult | JobPending | undefined =
    run.result?.status === outcome.state ? run.result : undefined;
  try {
    body ??= await resultWith(run.r, jobId, run.signal);
  } catch (e) {
    // A poll told us it failed but not why; the status message beats a second error.
    if (outcome.state === "failed" && !run.signal.aborted) {
      throw new JobFailedError(jobId, outcome.message || "Job failed");
    }
    throw e;
  }
  switch (body.status) {
    case "completed":
      return (body.result ?? {}) as MultiAgentResponse;
    case "failed":
      throw failedError(
        jobId,
        jobErrorOf(body as unknown as Record<string, unknown>, "failed") ?? {
          text: outcome.message || "Job failed",
          code: undefined,
          detail: undefined,
        },
      );
    case "cancelled":
      throw cancelledError(
        jobId,
        jobErrorOf(body as unknown as Record<string, unknown>, "cancelled"),
        "Job cancelled",
      );
    default:
      throw new JobGateError(
        `job ${jobId} reported ${outcome.state} but its result is ${body.status}`,
        jobId,
      );
  }
}

function failedError(jobId: string, e: JobErrorInfo): JobFailedError {
  return new JobFailedError(jobId, e.text, e.code, e.detail);
}

function cancelledError(
  jobId: string,
  e: JobErrorInfo | undefined,
  fallback: string,
): JobCancelledError {
  return new JobCancelledError(jobId, e?.text ?? fallback, e?.code, e?.detail);
}

async function cancelQuietly(r: Resolved, jobId: string): Promise<void> {
  // Best effort with a fresh signal: the caller's has already aborted.
  const fresh: Resolved = { ...r, retries: 1, signal: undefined };
  await send(fresh, { method: "POST", path: jobPath(jobId, "cancel") }).catch(() => undefined);
}
