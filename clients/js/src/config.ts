/**
 * Runtime configuration of the browser client, read from the globals that
 * the server's `/config.js` sets. Anything missing or unusable falls back to
 * the default rather than breaking the page: a misconfigured deployment
 * should poll at the default pace, not every 0 ms or never.
 */

export interface JobConfig {
  /** Base URL of the API; '' means the page's own origin. No trailing slash. */
  apiUrl: string;
  /** Milliseconds between status polls when the server sends no Retry-After. */
  pollInterval: number;
  /** Status polls before giving up (polling transport only). */
  maxPollAttempts: number;
  /** Milliseconds from submit before giving up on the job. */
  timeout: number;
  /** Demo token (only served by `jobgate up`), if any. */
  token: string | undefined;
}

export const DEFAULT_POLL_INTERVAL_MS = 5000;
export const DEFAULT_MAX_POLL_ATTEMPTS = 120;
export const DEFAULT_TIMEOUT_MS = 600_000;

type Globals = Record<string, unknown>;

/** A positive finite number, from a number or a plain decimal string; otherwise the fallback. */
export function positiveNumber(raw: unknown, fallback: number): number {
  let n: number;
  if (typeof raw === "number") {
    n = raw;
  } else if (typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw)) {
    n = Number(raw);
  } else {
    return fallback;
  }
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function getJobConfig(globals: Globals = globalThis as unknown as Globals): JobConfig {
  const apiUrl = typeof globals.__API_URL__ === "string" ? globals.__API_URL__.trim() : "";
  const token = globals.__JOBGATE_TOKEN__;
  return {
    apiUrl: apiUrl.replace(/\/+$/, ""),
    pollInterval: positiveNumber(globals.__JOB_POLL_INTERVAL_MS__, DEFAULT_POLL_INTERVAL_MS),
    maxPollAttempts: Math.max(
      1,
      Math.floor(positiveNumber(globals.__JOB_MAX_POLL_ATTEMPTS__, DEFAULT_MAX_POLL_ATTEMPTS)),
    ),
    timeout: positiveNumber(globals.__JOB_TIMEOUT_MS__, DEFAULT_TIMEOUT_MS),
    token: typeof token === "string" && token !== "" ? token : undefined,
  };
}
