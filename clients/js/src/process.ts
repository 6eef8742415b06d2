/**
 * processAsyncJob: submit a job, follow it to the end, resolve with its result.
 *
 * It follows the job's event stream when it can (one long-lived request per
 * waiting client, resumed with Last-Event-ID when a proxy cuts it) and
 * polls the status endpoint otherwise; with `transport: "websocket"` it
 * tries the many-jobs socket first. It stops the moment it learns the job
 * ended: a failed job throws its server-side error at once instead of
 * spinning until the polling budget runs out.
 */

import { newIdempotencyKey, resultWith, submitWith, jobPath } from "./api.js";
import { getJobConfig } from "./config.js";
import {
  JobCancelledError,
  JobFailedError,
  JobGateError,
  type JobErrorInfo,
  JobTimeoutError,
  jobErrorOf,
} from "./errors.js";
import { followEvents, poll } from "./follow.js";
import { followSocket } from "./follow-socket.js";
import { type ClientOptions, type Resolved, resolve, send } from "./http.js";
import { type Outcome, type Run, StreamUnavailable } from "./run.js";
import type { WebSocketConstructor } from "./socket.js";
import { anySignal } from "./timing.js";
import { StatusTracker, submittedStatus } from "./tracker.js";
import type {
  JobEvent,
  JobPending,
  JobResult,
  JobStatus,
  JobSubmitResponse,
  MultiAgentRequest,
  MultiAgentResponse,
  Priority,
} from "./types.js";

/**
 * 'auto': the job's event stream, then polling. 'websocket': the socket,
 * then the event stream, then polling. 'sse' and 'poll': that one alone.
 */
export type Transport = "auto" | "websocket" | "sse" | "poll";

export interface ProcessOptions extends ClientOptions {
  /** Called with the job's status (the status endpoint's shape) whenever it changes. */
  onProgress?: (status: JobStatus) => void;
  /** Called with every event of the job's log (socket and stream transports). */
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
  /** ms of silence before a stream or socket is taken as dead (default 45000; the server pings every ~15 s). */
  sseIdleTimeout?: number;
  /** The WebSocket class for `transport: "websocket"` (default the platform's). */
  WebSocket?: WebSocketConstructor;
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
      tracker: new StatusTracker(
        submittedStatus(job),
        options.onProgress,
        job.estimated_completion_seconds ?? undefined,
      ),
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
