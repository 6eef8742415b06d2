/**
 * One HTTP exchange with the API, retried when retrying can help.
 *
 * Retried: network errors (no response at all) and 429/502/503/504/524 —
 * what a proxy, a rolling restart or a Redis blip looks like from outside,
 * and 429 because the server sends a Retry-After with it. Each waits the
 * server's `Retry-After` when given, else a capped exponential backoff with
 * jitter. Anything else (401, 403, 404, 413, 422, 500, ...) is thrown at once
 * as an HttpError: asking again cannot change the answer.
 */

import { getJobConfig } from "./config.js";
import { HttpError, NetworkError } from "./errors.js";
import { backoffDelay, parseRetryAfter, sleep } from "./timing.js";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Retries after the first try (default 6). */
  retries?: number;
  /** First backoff step in ms (default 500). */
  baseDelayMs?: number;
  /** Backoff cap in ms (default 15000). */
  maxDelayMs?: number;
  /** Source of jitter, for tests (default Math.random). */
  random?: () => number;
}

export interface ClientOptions {
  /** API base URL; default window.__API_URL__, '' = same origin. */
  apiUrl?: string;
  /** Bearer token; default window.__JOBGATE_TOKEN__. */
  token?: string;
  /** Where the multi-agent routes are mounted (default '/api/multi-agent'). */
  basePath?: string;
  signal?: AbortSignal;
  /** A fetch implementation (default the platform's). */
  fetch?: FetchLike;
  retry?: RetryOptions;
}

export const DEFAULT_BASE_PATH = "/api/multi-agent";
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504, 524]);
/** A Retry-After beyond this is taken as this: a bad header must not park the client for hours. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Options with every default filled in once. */
export interface Resolved {
  base: string;
  token: string | undefined;
  signal: AbortSignal | undefined;
  fetch: FetchLike;
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  random: () => number;
}

export function resolve(options: ClientOptions = {}): Resolved {
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
    maxDelayMs: r.maxDelayMs ?? 15_000,
    random: r.random ?? Math.random,
  };
}

export interface Exchange {
  method?: "GET" | "POST";
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides the resolved signal (e.g. one that also carries a deadline). */
  signal?: AbortSignal;
}

export function url(r: Resolved, path: string): string {
  return r.base + path;
}

export function headersFor(
  r: Resolved,
  extra: Record<string, string> = {},
): Record<string, string> {
  const h: Record<string, string> = { Accept: "application/json", ...extra };
  if (r.token) h.Authorization = `Bearer ${r.token}`;
  return h;
}

/**
 * Sends the request, retrying as described above; resolves with the first
 * 2xx response, its body unread (the caller may stream it).
 */
export async function send(r: Resolved, ex: Exchange): Promise<Response> {
  const target = url(r, ex.path);
  const signal = ex.signal ?? r.signal;
  const init: RequestInit = {
    method: ex.method ?? "GET",
    headers: headersFor(r, {
      ...(ex.body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...ex.headers,
    }),
    body: ex.body !== undefined ? JSON.stringify(ex.body) : undefined,
    signal,
  };
  for (let retry = 1; ; retry++) {
    let res: Response;
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
      throw new HttpError(res.status, body, target, retryAfter && retryAfter / 1000);
    }
    const wait =
      retryAfter !== undefined
        ? Math.min(retryAfter, MAX_RETRY_AFTER_MS)
        : backoffDelay(retry, r.baseDelayMs, r.maxDelayMs, r.random);
    await sleep(wait, signal);
  }
}

/** `send`, then the JSON body and the response's Retry-After in ms. */
export async function sendJson<T>(
  r: Resolved,
  ex: Exchange,
): Promise<{ status: number; body: T; retryAfterMs: number | undefined }> {
  const res = await send(r, ex);
  const body = (await readBody(res)) as T;
  return {
    status: res.status,
    body,
    retryAfterMs: parseRetryAfter(res.headers.get("Retry-After")),
  };
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
