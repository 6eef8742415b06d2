/**
 * watchJobs: many jobs on one WebSocket (`GET /ws`).
 *
 * A page that follows ten jobs with an event stream each needs ten HTTP/1.1
 * connections, and a browser opens at most six per origin: the rest wait
 * until one ends. One socket carries them all. The watcher signs in with a
 * first message (a browser cannot set headers on a WebSocket, and a token
 * never goes in a URL), subscribes again after a drop from each job's last
 * event, and backs off while the server is away. A refused sign-in (close
 * code 4401) ends it at once: asking again cannot change the answer.
 */

import { Channel } from "./channel.js";
import { JobGateError } from "./errors.js";
import { type ClientMessage, Subscriptions, type WatchUpdate, decode, retryable } from "./feed.js";
import { type ClientOptions, type Resolved, resolve } from "./http.js";
import { closeError, type WebSocketConstructor, type WebSocketLike, socketUrl } from "./socket.js";
import { backoffDelay } from "./timing.js";
import { StatusTracker, unknownStatus } from "./tracker.js";
import { type JobEvent, type JobResult, type JobStatus, isTerminal } from "./types.js";

export type { WatchUpdate } from "./feed.js";
export type { WebSocketConstructor, WebSocketLike } from "./socket.js";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** A job the socket could not follow (`not_found`: unknown or not yours), or a socket-wide refusal. */
export interface WatchError {
  jobId: string | undefined;
  code: string;
  detail: string;
}

export interface WatchOptions extends ClientOptions {
  /** Every event of every job followed, once each, in order per job. */
  onEvent?: (jobId: string, event: JobEvent) => void;
  /** A job's status (the status endpoint's shape) whenever an event changes it. */
  onStatus?: (status: JobStatus) => void;
  /** The job's result body (as GET /result), just before its terminal event. */
  onResult?: (result: JobResult) => void;
  onError?: (error: WatchError) => void;
  onConnection?: (state: ConnectionState) => void;
  /** The WebSocket class (default the platform's; Node before 22 has none). */
  WebSocket?: WebSocketConstructor;
  /** ms of silence (heartbeats count) before the socket is taken as dead (default 45000). */
  idleTimeout?: number;
}

export interface JobWatch {
  /** Follows one more job, from after `lastEventId` if given, else from its first event. */
  subscribe(jobId: string, lastEventId?: string): void;
  unsubscribe(jobId: string): void;
  /** Asks the server to cancel the job; its `cancelled` state event follows. */
  cancel(jobId: string): void;
  /** Updates of one job (ending after its terminal event) or of all (ending at close). */
  updates(jobId?: string): AsyncIterableIterator<WatchUpdate>;
  /** The job's status as its events tell it; undefined before its first event. */
  status(jobId: string): JobStatus | undefined;
  /** The id of the job's last event delivered (a `Last-Event-ID` for its SSE stream). */
  lastEventId(jobId: string): string | undefined;
  readonly state: ConnectionState;
  /** Resolves at `close()`; rejects when the watch gives up (HttpError 401 on 4401, NetworkError). */
  readonly closed: Promise<void>;
  close(): void;
}

/** How hard to try; processAsyncJob gives up sooner, to fall back to an event stream. */
export interface Persistence {
  /** Failed connections in a row before giving up (default: never give up). */
  maxFailures: number;
  /** Give up if the very first connection closes before it opened (no socket here). */
  failBeforeOpen: boolean;
}

const DEFAULT_IDLE_MS = 45_000;
const OPEN = 1;

/**
 * Follows `jobs` (ids, or "all": every job of the caller, including ones
 * submitted later) on one socket until `close()`.
 */
export function watchJobs(jobs: readonly string[] | "all", options: WatchOptions = {}): JobWatch {
  const retries = options.retry?.retries;
  return new Watcher(jobs, options, {
    maxFailures: retries ?? Number.POSITIVE_INFINITY,
    failBeforeOpen: false,
  });
}

export class Watcher implements JobWatch {
  state: ConnectionState = "connecting";
  readonly closed: Promise<void>;

  private readonly r: Resolved;
  private readonly url: string;
  private readonly subs = new Subscriptions();
  private readonly trackers = new Map<string, StatusTracker>();
  private readonly channels = new Set<{ jobId: string | undefined; ch: Channel<WatchUpdate> }>();
  private readonly outbox: ClientMessage[] = [];
  private ws: WebSocketLike | undefined;
  private generation = 0;
  private failures = 0;
  private everOpened = false;
  private finished = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly later = new Set<ReturnType<typeof setTimeout>>();
  private settle!: { resolve: () => void; reject: (e: unknown) => void };

  constructor(
    jobs: readonly string[] | "all",
    private readonly options: WatchOptions,
    private readonly persistence: Persistence,
  ) {
    this.closed = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.closed.catch(() => undefined); // a caller who never looks must not see an unhandled rejection
    this.r = resolve(options);
    this.url = socketUrl(this.r.base);
    if (jobs === "all") this.subs.subscribeAll();
    else for (const id of jobs) this.subs.subscribe(id);
    const signal = options.signal;
    signal?.addEventListener("abort", () => this.finish(signal.reason), { once: true });
    // Not before the caller holds the watch: no callback runs inside watchJobs().
    queueMicrotask(() => {
      if (signal?.aborted) this.finish(signal.reason);
      else if (!this.finished) this.connect();
    });
  }

  subscribe(jobId: string, lastEventId?: string): void {
    const msg = this.subs.subscribe(jobId, lastEventId);
    if (msg) this.sendNow(msg);
  }

  unsubscribe(jobId: string): void {
    const msg = this.subs.unsubscribe(jobId);
    if (msg) this.sendNow(msg);
    for (const c of this.channels) if (c.jobId === jobId) c.ch.finish();
  }

  cancel(jobId: string): void {
    const msg: ClientMessage = { type: "cancel", job_id: jobId };
    if (!this.sendNow(msg) && !this.finished) this.outbox.push(msg);
  }

  updates(jobId?: string): AsyncIterableIterator<WatchUpdate> {
    const entry = { jobId, ch: new Channel<WatchUpdate>(() => this.channels.delete(entry)) };
    if (this.finished || (jobId !== undefined && !this.subs.mayHear(jobId))) entry.ch.finish();
    else this.channels.add(entry);
    return entry.ch;
  }

  status(jobId: string): JobStatus | undefined {
    return this.trackers.get(jobId)?.status;
  }

  lastEventId(jobId: string): string | undefined {
    return this.subs.lastEventId(jobId);
  }

  close(): void {
    this.finish();
  }

  private connect(): void {
    const gen = ++this.generation;
    const Ctor = this.options.WebSocket ?? globalThis.WebSocket;
    if (typeof Ctor !== "function") {
      this.finish(new JobGateError("no WebSocket here: pass options.WebSocket (Node before 22)"));
      return;
    }
    let ws: WebSocketLike;
    try {
      ws = new Ctor(this.url);
    } catch (e) {
      this.finish(e); // a URL the platform refuses: no retry can fix it
      return;
    }
    this.ws = ws;
    let opened = false;
    let heard = false;
    ws.addEventListener("open", () => {
      if (gen !== this.generation) return;
      opened = true;
      this.everOpened = true;
      this.setState("open");
      const first: ClientMessage[] = this.r.token ? [{ type: "auth", token: this.r.token }] : [];
      for (const m of [...first, ...this.subs.resume(), ...this.outbox.splice(0)]) {
        if (gen !== this.generation) return; // closed under us (a refused sign-in)
        ws.send(JSON.stringify(m));
      }
      this.arm(gen);
    });
    ws.addEventListener("message", (ev: { data: unknown }) => {
      if (gen !== this.generation) return;
      heard = true;
      this.arm(gen);
      this.receive(ev.data);
    });
    ws.addEventListener("close", (ev: { code: number; reason: string }) => {
      if (gen !== this.generation) return;
      this.dropped(ev.code, ev.reason, opened && heard);
    });
    ws.addEventListener("error", () => undefined); // a close event follows and says more
  }

  /** Silence past the idle time: the connection is dead though nobody said so. */
  private arm(gen: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (gen !== this.generation) return;
      this.generation++; // the late close event of this socket is not ours any more
      this.ws?.close(4000, "idle");
      this.dropped(1006, "no message within the idle timeout", false);
    }, this.options.idleTimeout ?? DEFAULT_IDLE_MS);
  }

  private dropped(code: number, reason: string, healthy: boolean): void {
    clearTimeout(this.idleTimer);
    this.ws = undefined;
    if (this.finished) return;
    const fatal = closeError(code, reason, this.url);
    if (fatal) {
      this.finish(fatal);
      return;
    }
    this.failures = healthy ? 0 : this.failures + 1;
    if (!this.everOpened && this.persistence.failBeforeOpen) {
      this.finish(closeError(code, reason || "closed before it opened", this.url, true));
      return;
    }
    if (this.failures > this.persistence.maxFailures) {
      this.finish(closeError(code, reason || "keeps closing", this.url, true));
      return;
    }
    this.setState("reconnecting");
    // Even after a healthy connection, wait a step: a server that closes
    // every socket at once (a restart) must not get them all back at once.
    const step = Math.max(this.failures, 1);
    const delay = backoffDelay(step, this.r.baseDelayMs, this.r.maxDelayMs, this.r.random);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private receive(raw: unknown): void {
    const decoded = decode(raw);
    const u = decoded && this.subs.accept(decoded);
    if (u === undefined) return;
    const o = this.options;
    if (u.type === "event") {
      o.onEvent?.(u.jobId, u.event);
      this.track(u.jobId, u.event);
    } else if (u.type === "result") {
      o.onResult?.(u.result);
    } else {
      o.onError?.({ jobId: u.jobId, code: u.code, detail: u.detail });
      if (retryable(u.code)) this.askAgain(u.jobId);
    }
    const ends =
      (u.type === "error" && !retryable(u.code)) ||
      (u.type === "event" && u.event.type === "state" && isTerminal(String(u.event.data.status)));
    for (const c of this.channels) {
      if (c.jobId !== undefined && c.jobId !== u.jobId) continue;
      c.ch.push(u);
      if (ends && c.jobId !== undefined) c.ch.finish();
    }
  }

  /** Subscribes again after a step of backoff (on this socket, if it still stands). */
  private askAgain(jobId: string | undefined): void {
    const gen = this.generation;
    const delay = backoffDelay(1, this.r.baseDelayMs, this.r.maxDelayMs, this.r.random);
    const timer = setTimeout(() => {
      this.later.delete(timer);
      const msg = this.subs.again(jobId);
      if (gen === this.generation && msg) this.sendNow(msg);
    }, delay);
    this.later.add(timer);
  }

  private track(jobId: string, e: JobEvent): void {
    let t = this.trackers.get(jobId);
    if (t === undefined) {
      t = new StatusTracker(unknownStatus(jobId), this.options.onStatus);
      this.trackers.set(jobId, t);
    }
    if (e.type === "state" && typeof e.data.status === "string") t.fromState(e.data);
    else if (e.type === "progress") t.fromProgress(e.data);
  }

  /** Sends if the socket is open; false if not (then `resume` or the outbox sends it later). */
  private sendNow(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (this.state !== "open" || ws === undefined || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onConnection?.(state);
  }

  /** Ends the watch: cleanly (`error` undefined) or with the error `closed` rejects with. */
  private finish(error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.generation++;
    clearTimeout(this.idleTimer);
    clearTimeout(this.retryTimer);
    for (const t of this.later) clearTimeout(t);
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined && ws.readyState <= OPEN) ws.close(1000, "done");
    for (const c of this.channels) c.ch.finish(error);
    this.channels.clear();
    this.setState("closed");
    if (error === undefined) this.settle.resolve();
    else this.settle.reject(error);
  }
}
