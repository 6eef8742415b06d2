/**
 * What processAsyncJob knows while it follows one job, whichever transport
 * feeds it, and how an event moves it on. Shared by the socket, the event
 * stream and polling so that they report a job the same way.
 */

import type { JobErrorInfo } from "./errors.js";
import { isRecord, jobErrorOf } from "./errors.js";
import type { Resolved } from "./http.js";
import type { ProcessOptions } from "./process.js";
import type { StatusTracker } from "./tracker.js";
import { type JobResult, type TerminalState, isTerminal } from "./types.js";

export interface Outcome {
  state: TerminalState;
  message?: string;
  error?: JobErrorInfo;
}

/** A transport cannot be used here; `cause` says why. The next one is tried. */
export class StreamUnavailable extends Error {}

export interface Run {
  r: Resolved;
  jobId: string;
  signal: AbortSignal;
  tracker: StatusTracker;
  options: ProcessOptions;
  pollInterval: number;
  maxPollAttempts: number;
  /** The result the socket or stream sent just before the terminal event, if it did. */
  result?: JobResult;
  /** The last event seen, on any transport: the next one resumes after it. */
  lastEventId?: string;
}

/**
 * Takes one event of the job's log (or the `result` message before its
 * terminal event): reports it, and returns the outcome once the job ended.
 */
export function applyEvent(
  run: Run,
  id: string | undefined,
  type: string,
  data: unknown,
): Outcome | undefined {
  if (!isRecord(data)) return undefined;
  if (type === "result") {
    // Not a log event: the body of GET /result, sent before the terminal event.
    if (typeof data.status === "string") run.result = data as unknown as JobResult;
    return undefined;
  }
  if (id !== undefined) run.lastEventId = id;
  run.options.onEvent?.({ id: id ?? "", type, data });
  if (type === "progress") run.tracker.fromProgress(data);
  if (type !== "state" || typeof data.status !== "string") return undefined;
  run.tracker.fromState(data);
  return isTerminal(data.status) ? outcomeOf(data.status, data) : undefined;
}

/** The end of the job as a state event or a status body tells it, with its error if any. */
export function outcomeOf(state: TerminalState, body: Record<string, unknown>): Outcome {
  const error = state === "completed" ? undefined : jobErrorOf(body, state);
  return {
    state,
    ...(typeof body.message === "string" ? { message: body.message } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}
