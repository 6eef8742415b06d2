/**
 * The messages of the many-jobs socket (`GET /ws`) and the bookkeeping that
 * lets a new connection resume every job where the last one left off. No
 * I/O: the socket driver (watch.ts) feeds it what arrives and sends what it
 * says.
 */

import { isRecord } from "./errors.js";
import { type JobEvent, type JobResult, isTerminal } from "./types.js";

export type ClientMessage =
  | { type: "auth"; token: string }
  | { type: "subscribe"; job_id: string; last_event_id?: string }
  | { type: "subscribe"; all: true }
  | { type: "unsubscribe"; job_id: string }
  | { type: "cancel"; job_id: string };

/** What the socket tells about a job, decoded. */
export type WatchUpdate =
  | { type: "event"; jobId: string; event: JobEvent }
  | { type: "result"; jobId: string; result: JobResult }
  | { type: "error"; jobId: string | undefined; code: string; detail: string };

/**
 * Orders two event ids of a job's stream ("<ms>-<seq>", Redis stream ids);
 * undefined when either is not such an id.
 */
export function compareEventIds(a: string, b: string): number | undefined {
  const pa = /^(\d+)-(\d+)$/.exec(a);
  const pb = /^(\d+)-(\d+)$/.exec(b);
  if (pa === null || pb === null) return undefined;
  const ms = BigInt(pa[1]!) - BigInt(pb[1]!);
  const seq = BigInt(pa[2]!) - BigInt(pb[2]!);
  const d = ms !== 0n ? ms : seq;
  return d === 0n ? 0 : d > 0n ? 1 : -1;
}

/** The server's message as an update; undefined for heartbeats and anything not understood. */
export function decode(raw: unknown): WatchUpdate | undefined {
  let msg: unknown = raw;
  if (typeof raw === "string") {
    try {
      msg = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(msg)) return undefined;
  const jobId = typeof msg.job_id === "string" ? msg.job_id : undefined;
  switch (msg.type) {
    case "event": {
      const data = dataOf(msg.data);
      if (jobId === undefined || typeof msg.id !== "string" || data === undefined) return undefined;
      const type = typeof msg.event === "string" ? msg.event : "message";
      return { type: "event", jobId, event: { id: msg.id, type, data } };
    }
    case "result": {
      const data = dataOf(msg.data);
      if (jobId === undefined || data === undefined || typeof data.status !== "string")
        return undefined;
      return { type: "result", jobId, result: data as unknown as JobResult };
    }
    case "error":
      return {
        type: "error",
        jobId,
        code: typeof msg.code === "string" ? msg.code : "error",
        detail: typeof msg.detail === "string" ? msg.detail : String(msg.detail ?? ""),
      };
    default:
      return undefined; // heartbeats, acknowledgements, later additions
  }
}

/** Event data arrives as an object (or, from an SSE-minded server, as its JSON text). */
function dataOf(raw: unknown): Record<string, unknown> | undefined {
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return isRecord(raw) ? raw : undefined;
}

interface Cursor {
  /** The id of the last event delivered: the resume point. */
  last: string | undefined;
  /** Subscribed by name (rather than only seen through "all"). */
  named: boolean;
  /** Its terminal event came, or the server refused it: never asked for again. */
  ended: boolean;
  /** Its result was delivered (a replay after a reconnect may send it again). */
  resulted?: boolean;
}

/**
 * Which jobs the caller follows and the last event seen of each. It decides
 * what a (re)connection sends and drops what was already delivered, so that
 * every event reaches the caller exactly once across reconnects.
 */
export class Subscriptions {
  all = false;
  private readonly jobs = new Map<string, Cursor>();

  /** Follows a job; the message to send, or undefined if already followed. */
  subscribe(jobId: string, lastEventId?: string): ClientMessage | undefined {
    const known = this.jobs.get(jobId);
    if (known !== undefined && known.named && !known.ended) return undefined;
    const last = lastEventId ?? known?.last;
    this.jobs.set(jobId, { last, named: true, ended: false });
    return subscribeMessage(jobId, last);
  }

  subscribeAll(): ClientMessage | undefined {
    if (this.all) return undefined;
    this.all = true;
    return { type: "subscribe", all: true };
  }

  unsubscribe(jobId: string): ClientMessage | undefined {
    const known = this.jobs.get(jobId);
    if (known === undefined) return undefined;
    known.named = false;
    known.ended = true; // even through "all": the caller asked to hear no more of it
    return { type: "unsubscribe", job_id: jobId };
  }

  lastEventId(jobId: string): string | undefined {
    return this.jobs.get(jobId)?.last;
  }

  /** Whether more may come of the job: followed (by name or through "all") and not ended. */
  mayHear(jobId: string): boolean {
    const c = this.jobs.get(jobId);
    return c === undefined ? this.all : !c.ended;
  }

  /** The message that asks for a job again (after a retryable error), or for all with no id. */
  again(jobId: string | undefined): ClientMessage | undefined {
    if (jobId === undefined) return this.all ? { type: "subscribe", all: true } : undefined;
    const c = this.jobs.get(jobId);
    return c === undefined || c.ended ? undefined : subscribeMessage(jobId, c.last);
  }

  /**
   * What a new connection sends after signing in: every job not yet ended
   * from after its last event, then "all" (whose replay, if any, is
   * deduplicated by `accept`).
   */
  resume(): ClientMessage[] {
    const out: ClientMessage[] = [];
    for (const [jobId, c] of this.jobs) {
      if (!c.ended && (c.named || c.last !== undefined)) out.push(subscribeMessage(jobId, c.last));
    }
    if (this.all) out.push({ type: "subscribe", all: true });
    return out;
  }

  /**
   * Takes an update off the socket: the update to deliver, or undefined for
   * one already delivered (a replay after a reconnect) or of a job no
   * longer followed.
   */
  accept(u: WatchUpdate): WatchUpdate | undefined {
    if (u.jobId === undefined) return u;
    let c = this.jobs.get(u.jobId);
    if (c === undefined) {
      if (!this.all) return undefined; // an unsubscribed job's last words
      c = { last: undefined, named: false, ended: false };
      this.jobs.set(u.jobId, c);
    }
    if (c.ended) return undefined;
    if (u.type === "error") {
      if (!retryable(u.code)) c.ended = true;
      return u;
    }
    if (u.type === "result") {
      if (c.resulted) return undefined;
      c.resulted = true;
      return u;
    }
    if (c.last !== undefined && (compareEventIds(u.event.id, c.last) ?? 1) <= 0) return undefined;
    c.last = u.event.id;
    if (u.event.type === "state" && isTerminal(String(u.event.data.status))) c.ended = true;
    return u;
  }
}

/** The server could not follow the job just now (Valkey away); asking again later may work. */
export function retryable(code: string): boolean {
  return code === "store_unavailable";
}

function subscribeMessage(jobId: string, last: string | undefined): ClientMessage {
  return last === undefined
    ? { type: "subscribe", job_id: jobId }
    : { type: "subscribe", job_id: jobId, last_event_id: last };
}
