import { afterEach, describe, expect, it, vi } from "vitest";
import {
  HttpError,
  JobGateError,
  NetworkError,
  type JobStatus,
  type WatchOptions,
  type WatchUpdate,
  watchJobs,
} from "../src/index.js";
import { compareEventIds } from "../src/feed.js";
import { FakeSocketServer, event, state, until } from "./fake-socket.js";

function opts(server: FakeSocketServer, extra: WatchOptions = {}): WatchOptions {
  return {
    apiUrl: "http://api.test",
    token: "tok",
    WebSocket: server.WebSocket,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...extra,
  };
}

const RESULT = { job_id: "a", status: "completed", result: { final_response: "ok" } };

afterEach(() => {
  vi.useRealTimers();
});

describe("watchJobs", () => {
  it("signs in with its first message, then subscribes; no token in the URL", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const watch = watchJobs(["a", "b"], opts(server));
    await until(() => server.sockets[0]?.sent.length === 3, "three messages");

    const socket = server.last;
    expect(socket.url).toBe("ws://api.test/api/multi-agent/ws");
    expect(socket.url).not.toContain("tok");
    expect(socket.sent).toEqual([
      { type: "auth", token: "tok" },
      { type: "subscribe", job_id: "a" },
      { type: "subscribe", job_id: "b" },
    ]);
    watch.close();
    await watch.closed;
    expect(socket.closedByClient).toBe(1000);
    expect(watch.state).toBe("closed");
  });

  it("uses wss for https, and sends no auth message without a token", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const watch = watchJobs("all", opts(server, { apiUrl: "https://x.test/", token: "" }));
    await until(() => server.sockets[0]?.sent.length === 1, "subscribe");
    expect(server.last.url).toBe("wss://x.test/api/multi-agent/ws");
    expect(server.last.sent).toEqual([{ type: "subscribe", all: true }]);
    watch.close();
  });

  it("carries many jobs: events, statuses, the result before the terminal event", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const events: [string, string, string][] = [];
    const statuses: JobStatus[] = [];
    const results: unknown[] = [];
    const watch = watchJobs(
      "all",
      opts(server, {
        onEvent: (job, e) => events.push([job, e.id, e.type]),
        onStatus: (s) => statuses.push(s),
        onResult: (r) => results.push(r),
      }),
    );
    const perJob = watch.updates("a");
    const all = watch.updates();
    await until(() => server.last.sent.length === 2, "subscribe all");

    server.last
      .message(state("a", "1-0", "pending", { attempt: 0, message: "queued" }))
      .message(state("b", "1-1", "processing", { attempt: 1 }))
      .message(event("a", "2-0", "progress", { progress: 0.5, step: { agent: "research" } }))
      .message({ type: "heartbeat" })
      .message({ type: "result", job_id: "a", data: RESULT })
      .message(state("a", "3-0", "completed", { message: "done" }));

    expect(events).toEqual([
      ["a", "1-0", "state"],
      ["b", "1-1", "state"],
      ["a", "2-0", "progress"],
      ["a", "3-0", "state"],
    ]);
    expect(results).toEqual([RESULT]);
    expect(statuses.map((s) => [s.job_id, s.status, s.progress, s.step?.agent ?? null])).toEqual([
      ["a", "pending", 0, null],
      ["b", "processing", 0, null],
      ["a", "pending", 0.5, "research"],
      ["a", "completed", 0.5, "research"],
    ]);
    expect(watch.status("a")?.status).toBe("completed");
    expect(watch.lastEventId("a")).toBe("3-0");

    // The job's iterator ends after its terminal event; the watch's goes on.
    const seen: WatchUpdate[] = [];
    for await (const u of perJob) seen.push(u);
    expect(seen.map((u) => u.type)).toEqual(["event", "event", "result", "event"]);
    expect((await all.next()).value).toMatchObject({ jobId: "a", type: "event" });
    watch.close();
    const rest: WatchUpdate[] = [];
    for await (const u of all) rest.push(u);
    expect(rest).toHaveLength(4); // the other three of a, and b's: then done at close
  });

  it("resumes every job after its last event when the server goes away, once each", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const seen: string[] = [];
    const watch = watchJobs(
      ["a", "b", "c"],
      opts(server, { onEvent: (j, e) => seen.push(`${j}:${e.id}`) }),
    );
    await until(() => server.last.sent.length === 4, "subscriptions");
    server.last
      .message(state("a", "5-0", "processing"))
      .message(event("b", "6-0", "progress", { progress: 0.1 }))
      .message(state("c", "7-0", "cancelled", { error: "Job cancelled: by user" }));
    server.last.shut(1001, "server shutting down");

    await until(() => server.sockets.length === 2 && server.last.sent.length === 3, "resume");
    expect(server.last.sent).toEqual([
      { type: "auth", token: "tok" },
      { type: "subscribe", job_id: "a", last_event_id: "5-0" },
      { type: "subscribe", job_id: "b", last_event_id: "6-0" },
    ]); // c ended: not asked for again
    // A server that replays from an earlier point: nothing is delivered twice.
    server.last
      .message(state("a", "5-0", "processing"))
      .message(state("a", "8-0", "completed"))
      .message(event("b", "6-0", "progress", { progress: 0.1 }))
      .message(event("b", "9-0", "progress", { progress: 0.2 }));
    expect(seen).toEqual(["a:5-0", "b:6-0", "c:7-0", "a:8-0", "b:9-0"]);
    expect(watch.state).toBe("open");
    watch.close();
  });

  it("subscribe all: a reconnect asks for all again and resumes the jobs it saw", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const watch = watchJobs("all", opts(server));
    await until(() => server.last.sent.length === 2, "subscribe all");
    server.last.message(state("new", "1-5", "pending"));
    server.last.shut(1006);
    await until(() => server.sockets.length === 2 && server.last.sent.length === 3, "resume");
    expect(server.last.sent).toEqual([
      { type: "auth", token: "tok" },
      { type: "subscribe", job_id: "new", last_event_id: "1-5" },
      { type: "subscribe", all: true },
    ]);
    watch.close();
  });

  it("a refused sign-in (4401) is an HttpError 401, with no second try", async () => {
    const server = new FakeSocketServer();
    server.onSend = (s, m) => {
      if (m.type === "auth") s.shut(4401, "invalid token");
    };
    server.onConnect = (s) => s.open();
    const updates = watchJobs(["a"], opts(server)).updates("a");
    const err = await updates.next().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(401);
    expect((err as HttpError).code).toBe("unauthorized");
    expect((err as HttpError).detail).toBe("invalid token");
    await new Promise((r) => setTimeout(r, 20));
    expect(server.sockets).toHaveLength(1);
  });

  it("backs off exponentially while the server is away, and gives up after `retries`", async () => {
    vi.useFakeTimers();
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.shut(1006); // the handshake fails every time
    const watch = watchJobs(
      ["a"],
      opts(server, { retry: { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, random: () => 1 } }),
    );
    const t0 = Date.now();
    for (let i = 0; i < 50 && server.sockets.length < 4; i++)
      await vi.advanceTimersToNextTimerAsync();
    await vi.runAllTimersAsync();
    await expect(watch.closed).rejects.toBeInstanceOf(NetworkError);
    // Delays of 100, 200 and 400 ms between the four tries (jitter pinned to its top).
    expect(server.sockets.map((s) => s.createdAt - t0)).toEqual([0, 100, 300, 700]);
    expect(server.sockets).toHaveLength(4);
  });

  it("a connection that worked starts the backoff over", async () => {
    const server = new FakeSocketServer();
    let n = 0;
    server.onConnect = (s) => {
      n++;
      if (n % 2 === 1) {
        s.open().message(event("a", `${n}-0`, "progress", { progress: n / 10 }));
        s.shut(1011);
      } else {
        s.shut(1006);
      }
    };
    const watch = watchJobs(
      ["a"],
      opts(server, { retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2 } }),
    );
    // With retries: 1, two failures in a row would end it; a healthy connection in between resets.
    await until(() => server.sockets.length >= 7, "seven connections");
    expect(watch.state).not.toBe("closed");
    watch.close();
  });

  it("hangs up and reconnects when nothing arrives within the idle time", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const watch = watchJobs(["a"], opts(server, { idleTimeout: 30 }));
    await until(() => server.sockets.length === 2, "a second connection");
    expect(server.sockets[0]!.closedByClient).toBe(4000);
    watch.close();
  });

  it("cancels over the socket, keeping the request while disconnected", async () => {
    const server = new FakeSocketServer();
    const watch = watchJobs(["a"], opts(server));
    watch.cancel("a"); // not even connecting yet
    await until(() => server.sockets.length === 1, "the socket");
    server.last.open();
    expect(server.last.sent).toEqual([
      { type: "auth", token: "tok" },
      { type: "subscribe", job_id: "a" },
      { type: "cancel", job_id: "a" },
    ]);
    watch.cancel("b");
    expect(server.last.sent[3]).toEqual({ type: "cancel", job_id: "b" });
    watch.close();
  });

  it("an unknown (or someone else's) job ends with the server's error and is not asked again", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const errors: unknown[] = [];
    const watch = watchJobs(["x", "a"], opts(server, { onError: (e) => errors.push(e) }));
    const x = watch.updates("x");
    await until(() => server.last.sent.length === 3, "subscriptions");
    server.last.message({ type: "error", job_id: "x", code: "not_found", detail: "no such job" });
    expect(errors).toEqual([{ jobId: "x", code: "not_found", detail: "no such job" }]);
    expect((await x.next()).value).toMatchObject({ type: "error", code: "not_found" });
    expect((await x.next()).done).toBe(true);
    server.last.shut(1001);
    await until(() => server.sockets.length === 2 && server.last.sent.length === 2, "resume");
    expect(server.last.sent[1]).toEqual({ type: "subscribe", job_id: "a" });
    watch.close();
  });

  it("asks again for a job the server could not follow just now (store_unavailable)", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    let refusals = 0;
    server.onSend = (s, m) => {
      if (m.type === "subscribe" && refusals++ === 0)
        s.message({ type: "error", job_id: "a", code: "store_unavailable", detail: "try again" });
      else if (m.type === "subscribe") s.message(state("a", "3-0", "completed"));
    };
    const watch = watchJobs(["a"], opts(server));
    const updates: WatchUpdate[] = [];
    for await (const u of watch.updates("a")) updates.push(u);
    expect(updates.map((u) => (u.type === "error" ? u.code : u.type))).toEqual([
      "store_unavailable",
      "event",
    ]);
    expect(server.last.sent.filter((m) => m.type === "subscribe")).toHaveLength(2);
    watch.close();
  });

  it("unsubscribes, and hears no more of the job", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const seen: string[] = [];
    const watch = watchJobs(["a"], opts(server, { onEvent: (j, e) => seen.push(e.id) }));
    await until(() => server.last.sent.length === 2, "subscribe");
    watch.unsubscribe("a");
    expect(server.last.sent[2]).toEqual({ type: "unsubscribe", job_id: "a" });
    server.last.message(state("a", "1-0", "processing"));
    expect(seen).toEqual([]);
    watch.subscribe("b", "4-2");
    expect(server.last.sent[3]).toEqual({ type: "subscribe", job_id: "b", last_event_id: "4-2" });
    watch.close();
  });

  it("an abort closes the socket and rejects with the signal's reason", async () => {
    const server = new FakeSocketServer();
    server.onConnect = (s) => s.open();
    const abort = new AbortController();
    const watch = watchJobs(["a"], opts(server, { signal: abort.signal }));
    await until(() => server.last.sent.length === 2, "subscribe");
    abort.abort(new Error("page left"));
    await expect(watch.closed).rejects.toThrow("page left");
    expect(server.last.closedByClient).toBe(1000);
  });

  it("an unusable API URL is refused, not dialled under the page", () => {
    for (const apiUrl of ["</script><script>x", "ftp://x.test", "//evil.test"]) {
      expect(() =>
        watchJobs(["a"], { apiUrl, WebSocket: FakeSocketServer.prototype.constructor as never }),
      ).toThrow(JobGateError);
    }
  });

  it("without any WebSocket it says so", async () => {
    const watch = watchJobs(["a"], {
      apiUrl: "http://api.test",
      WebSocket: undefined as never,
    });
    const had = globalThis.WebSocket;
    if (had === undefined) {
      await expect(watch.closed).rejects.toBeInstanceOf(JobGateError);
    } else {
      watch.close();
    }
  });
});

describe("event ids", () => {
  it("orders stream ids numerically, not as text", () => {
    expect(compareEventIds("10-0", "9-5")).toBe(1);
    expect(compareEventIds("9-10", "9-9")).toBe(1);
    expect(compareEventIds("9-1", "9-1")).toBe(0);
    expect(compareEventIds("1-0", "2-0")).toBe(-1);
    expect(compareEventIds("x", "2-0")).toBeUndefined();
  });
});
