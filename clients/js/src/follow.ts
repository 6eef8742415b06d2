/**
 * Following a job over HTTP: its event stream (`GET /jobs/{id}/events`,
 * over fetch, resumed with Last-Event-ID) and, when that cannot work,
 * polling its status at the server's Retry-After.
 */

import { jobPath, statusWith } from "./api.js";
import { HttpError, JobGateError, JobTimeoutError, NetworkError } from "./errors.js";
import { RETRYABLE_STATUS, send } from "./http.js";
import { type Outcome, type Run, StreamUnavailable, applyEvent, outcomeOf } from "./run.js";
import { SseParser, readEventStream } from "./sse.js";
import { backoffDelay, sleep } from "./timing.js";
import { isTerminal } from "./types.js";

const REFUSED_STREAM = new Set([400, 405, 406, 415, 501]);
const MAX_RETRY_AFTER_MS = 60_000;

/** Follows the event stream, resuming after the last event seen when a connection ends early. */
export async function followEvents(run: Run): Promise<Outcome> {
  const { r, jobId, signal } = run;
  // Polling may take over unless the caller asked for this stream and nothing else.
  const auto = run.options.transport !== "sse";
  const idleMs = run.options.sseIdleTimeout ?? 45_000;
  const parser = new SseParser();
  parser.lastEventId = run.lastEventId; // where the socket left off, if it went first
  let failures = 0;
  for (;;) {
    const res = await openStream(run, parser.lastEventId, auto);
    const before = parser.lastEventId;
    const end = await readEventStream(
      res.body as ReadableStream<Uint8Array>,
      parser,
      idleMs,
      signal,
      (m) => applyEvent(run, m.id, m.event, parseData(m.data)),
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

/** Polls the status endpoint, at the server's Retry-After when it sends one. */
export async function poll(run: Run): Promise<Outcome> {
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

/** An event's data as JSON; undefined if it is not (the id still advanced: it is not seen twice). */
function parseData(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
