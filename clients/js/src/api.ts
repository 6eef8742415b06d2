/** The four plain calls of the job API, one request each (with retries). */

import { type ClientOptions, type Resolved, resolve, sendJson } from "./http.js";
import type {
  JobPending,
  JobResult,
  JobStatus,
  JobSubmitResponse,
  MultiAgentRequest,
  Priority,
} from "./types.js";

export interface SubmitOptions extends ClientOptions {
  priority?: Priority;
  /**
   * Makes a retried submit (after a network error or a 503) return the job
   * the first try created instead of starting a second one. A random key is
   * used when none is given.
   */
  idempotencyKey?: string;
}

export interface StatusOptions extends ClientOptions {
  /** Long-poll: the server answers when something changes, or after this many seconds (≤ 50). */
  wait?: number;
}

export function jobPath(jobId: string, what: "status" | "result" | "events" | "cancel"): string {
  return `/jobs/${encodeURIComponent(jobId)}/${what}`;
}

export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  // crypto.randomUUID needs a secure context; a plain-http demo host may lack it.
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function submitWith(
  r: Resolved,
  request: MultiAgentRequest,
  priority: Priority | undefined,
  idempotencyKey: string,
  signal?: AbortSignal,
): Promise<JobSubmitResponse> {
  const body: Record<string, unknown> = { request };
  if (priority !== undefined) body.priority = priority;
  const res = await sendJson<JobSubmitResponse>(r, {
    method: "POST",
    path: "/submit",
    body,
    headers: { "Idempotency-Key": idempotencyKey },
    signal,
  });
  return res.body;
}

export async function submitJob(
  request: MultiAgentRequest,
  options: SubmitOptions = {},
): Promise<JobSubmitResponse> {
  return submitWith(
    resolve(options),
    request,
    options.priority,
    options.idempotencyKey ?? newIdempotencyKey(),
  );
}

export async function statusWith(
  r: Resolved,
  jobId: string,
  wait?: number,
  signal?: AbortSignal,
): Promise<{ body: JobStatus; retryAfterMs: number | undefined }> {
  const query = wait !== undefined ? `?wait=${encodeURIComponent(String(wait))}` : "";
  return sendJson<JobStatus>(r, { path: jobPath(jobId, "status") + query, signal });
}

export async function getJobStatus(jobId: string, options: StatusOptions = {}): Promise<JobStatus> {
  return (await statusWith(resolve(options), jobId, options.wait)).body;
}

export async function resultWith(
  r: Resolved,
  jobId: string,
  signal?: AbortSignal,
): Promise<JobResult | JobPending> {
  return (await sendJson<JobResult | JobPending>(r, { path: jobPath(jobId, "result"), signal }))
    .body;
}

/** The job's result body once it is done; before that (HTTP 202) its status body. */
export async function getJobResult(
  jobId: string,
  options: ClientOptions = {},
): Promise<JobResult | JobPending> {
  return resultWith(resolve(options), jobId);
}

/** Asks the server to cancel; resolves with the job's status (cancelling is idempotent). */
export async function cancelJob(jobId: string, options: ClientOptions = {}): Promise<JobStatus> {
  const r = resolve(options);
  return (await sendJson<JobStatus>(r, { method: "POST", path: jobPath(jobId, "cancel") })).body;
}
