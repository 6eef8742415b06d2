/**
 * Every error the client throws on purpose, under one root:
 *
 *   JobGateError
 *   ├── HttpError          a status we do not retry, or the last one once retries ran out
 *   ├── NetworkError       no answer at all, after the retries
 *   ├── JobFailedError     the job ended `failed`; `message` is the server's `error` text
 *   │                      ("Job failed: …"), with its `code` and plain `detail`
 *   ├── JobCancelledError  the job ended `cancelled`; likewise ("Job cancelled: …")
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
  /** The `code` of a jobgate error body (`{detail, code, message}`), when present. */
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

  /** The server's text: `detail` when it is text, else its `message` summary, else the body. */
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

/** What a failed or cancelled job says about why, read from any body that carries it. */
export interface JobErrorInfo {
  /** For people: "Job failed: <what happened>" / "Job cancelled: <reason>". */
  text: string;
  code: string | undefined;
  /** The plain message, without the prefix. */
  detail: string | undefined;
}

export class JobFailedError extends JobGateError {
  override name = "JobFailedError";
  readonly code: string | undefined;
  readonly detail: string | undefined;

  /** `message` is the server's `error` string, e.g. "Job failed: the model refused". */
  constructor(jobId: string, message: string, code?: string, detail?: string) {
    super(message, jobId);
    this.code = code;
    this.detail = detail;
  }
}

export class JobCancelledError extends JobGateError {
  override name = "JobCancelledError";
  readonly code: string | undefined;
  readonly detail: string | undefined;

  constructor(jobId: string, message = "Job cancelled", code?: string, detail?: string) {
    super(message, jobId);
    this.code = code;
    this.detail = detail;
  }
}

const PREFIX = { failed: "Job failed: ", cancelled: "Job cancelled: " } as const;

/**
 * The error of a failed or cancelled job from a status, result or state-event
 * body: `error` (a string) with `error_code` and `error_detail`. A server
 * from before that shape sent `error: {code, message}`; it is read too, so a
 * newer page keeps working against an older server. Undefined if the body
 * says nothing about why.
 */
export function jobErrorOf(
  body: Record<string, unknown>,
  state: "failed" | "cancelled",
): JobErrorInfo | undefined {
  const old = isRecord(body.error) ? body.error : undefined;
  const code = textOf(body.error_code) ?? textOf(old?.code);
  const detail = textOf(body.error_detail) ?? textOf(old?.message);
  const why = detail ?? code;
  const text = textOf(body.error) ?? (why === undefined ? undefined : PREFIX[state] + why);
  return text === undefined ? undefined : { text, code, detail };
}

function textOf(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
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
  if (isRecord(body) && ("detail" in body || "message" in body)) {
    const d = body.detail;
    if (typeof d === "string") return d;
    return typeof body.message === "string" ? body.message : JSON.stringify(d);
  }
  if (typeof body === "string") return body.slice(0, 500) || "(empty body)";
  return JSON.stringify(body) ?? "(empty body)";
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
