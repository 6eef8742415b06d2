/**
 * Every error the client throws on purpose, under one root:
 *
 *   JobGateError
 *   ├── HttpError          a status we do not retry, or the last one once retries ran out
 *   ├── NetworkError       no answer at all, after the retries
 *   ├── JobFailedError     the job ended `failed`; carries the server's error code and text
 *   ├── JobCancelledError  the job ended `cancelled`
 *   └── JobTimeoutError    our own time or poll budget ran out; the job may still be running
 *
 * Aborting through an AbortSignal rejects with the signal's reason (an
 * `AbortError` DOMException by default), as `fetch` does.
 */

export class JobGateError extends Error {
  override name = "JobGateError";
  /** Set once the job exists on the server. */
  jobId: string | undefined;

  constructor(message: string, jobId?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.jobId = jobId;
  }
}

export class HttpError extends JobGateError {
  override name = "HttpError";
  readonly status: number;
  /** The parsed JSON body when there was one, else the raw text. */
  readonly body: unknown;
  /** The `code` of a jobgate error body (`{detail, code}`), when present. */
  readonly code: string | undefined;
  /** Seconds from a `Retry-After` header, when present. */
  readonly retryAfter: number | undefined;

  constructor(status: number, body: unknown, url: string, retryAfter?: number) {
    super(`HTTP ${status} from ${url}: ${describeBody(body)}`);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
    this.code = isRecord(body) && typeof body.code === "string" ? body.code : undefined;
  }

  /** The server's `detail` text, or the body as text. */
  get detail(): string {
    return describeBody(this.body);
  }
}

export class NetworkError extends JobGateError {
  override name = "NetworkError";

  constructor(url: string, cause: unknown) {
    super(`could not reach ${url}: ${errorText(cause)}`, undefined, { cause });
  }
}

export class JobFailedError extends JobGateError {
  override name = "JobFailedError";
  readonly code: string | undefined;

  constructor(jobId: string, message: string, code?: string) {
    super(message, jobId);
    this.code = code;
  }
}

export class JobCancelledError extends JobGateError {
  override name = "JobCancelledError";

  constructor(jobId: string, message = "job cancelled") {
    super(message, jobId);
  }
}

export class JobTimeoutError extends JobGateError {
  override name = "JobTimeoutError";

  constructor(jobId: string | undefined, message: string) {
    super(message, jobId);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describeBody(body: unknown): string {
  if (isRecord(body) && "detail" in body) {
    const d = body.detail;
    return typeof d === "string" ? d : JSON.stringify(d);
  }
  if (typeof body === "string") return body.slice(0, 500) || "(empty body)";
  return JSON.stringify(body) ?? "(empty body)";
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
