import { describe, expect, it } from "vitest";
import {
  HttpError,
  JobFailedError,
  type JobEvent,
  type JobStatus,
  type ProcessOptions,
  processAsyncJob,
} from "../src/index.js";
import { FakeServer, result, sse, status, stream, submitted } from "./fake.js";
import { FakeSocketServer, event, state, until } from "./fake-socket.js";

const REQUEST = { query: "a todo app for cats", coordination_mode: "sequential" as const };
const RESPONSE = { final_response: "ship it", agent_responses: [] };
const DONE = { job_id: "j1", status: "completed", result: RESPONSE, attempt: 1 };

function fast(http: FakeServer, ws: FakeSocketServer, extra: ProcessOptions = {}): ProcessOptions {
  return {
    apiUrl: "http://api.test",
    token: "tok",
    fetch: http.fetch,
    WebSocket: ws.WebSocket,
    transport: "websocket",
    pollInterval: 1,
    retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 },
    ...extra,
  };
}

/** A socket server that answers the subscription to j1 with `script`. */
function playing(script: (s: import("./fake-socket.js").FakeSocket) => void): FakeSocketServer {
  const ws = new FakeSocketServer();
  ws.onConnect = (s) => s.open();
  ws.onSend = (s, m) => {
    if (m.type === "subscribe" && m.job_id === "j1") script(s);
  };
  return ws;
}

describe("processAsyncJob over the socket", () => {
  it("follows the job on the socket and takes its result from it: no other request", async () => {
    const http = new FakeServer().on("POST /submit", submitted());
    const ws = playing((s) =>
      s
        .message(state("j1", "1-0", "pending", { attempt: 0, message: "queued" }))
        .message(state("j1", "2-0", "processing", { attempt: 1 }))
        .message(event("j1", "3-0", "progress", { progress: 0.5, message: "halfway" }))
        .message({ type: "result", job_id: "j1", data: DONE })
        .message(state("j1", "4-0", "completed")),
    );
    const events: JobEvent[] = [];
    const seen: JobStatus[] = [];

    const out = await processAsyncJob(
      REQUEST,
      fast(http, ws, { onEvent: (e) => events.push(e), onProgress: (s) => seen.push(s) }),
    );

    expect(out).toEqual(RESPONSE);
    expect(events.map((e) => [e.id, e.type])).toEqual([
      ["1-0", "state"],
      ["2-0", "state"],
      ["3-0", "progress"],
      ["4-0", "state"],
    ]);
    expect(seen.map((s) => [s.status, s.progress])).toEqual([
      ["pending", 0],
      ["processing", 0],
      ["processing", 0.5],
      ["completed", 0.5],
    ]);
    expect(http.calls.map((c) => `${c.method} ${c.path}`)).toEqual(["POST /submit"]);
    expect(ws.sockets).toHaveLength(1);
    expect(ws.last.sent.slice(0, 2)).toEqual([
      { type: "auth", token: "tok" },
      { type: "subscribe", job_id: "j1" },
    ]);
    expect(ws.last.closedByClient).toBe(1000); // hung up once done
  });

  it("throws the job's error from its terminal event", async () => {
    const http = new FakeServer().on("POST /submit", submitted());
    const ws = playing((s) =>
      s.message(
        state("j1", "1-0", "failed", {
          error: "Job failed: upstream model refused",
          error_code: "llm_error",
          error_detail: "upstream model refused",
        }),
      ),
    );
    const err = await processAsyncJob(REQUEST, fast(http, ws)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).message).toBe("Job failed: upstream model refused");
    expect((err as JobFailedError).code).toBe("llm_error");
  });

  it("falls back to the event stream when the socket cannot open", async () => {
    const http = new FakeServer()
      .on("POST /submit", submitted())
      .on(
        "GET /jobs/j1/events",
        stream([
          sse({ id: "1-0", event: "state", data: { status: "processing" } }),
          sse({ id: "2-0", event: "state", data: { status: "completed" } }),
        ]),
      )
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));
    const ws = new FakeSocketServer();
    ws.onConnect = (s) => s.shut(1006); // a proxy without the upgrade, or no /ws

    expect(await processAsyncJob(REQUEST, fast(http, ws))).toEqual(RESPONSE);
    expect(ws.sockets).toHaveLength(1); // no waiting through the backoff for a socket that never was
    expect(http.count("GET /jobs/j1/events")).toBe(1);
  });

  it("falls back to the event stream without a WebSocket at all", async () => {
    const http = new FakeServer()
      .on("POST /submit", submitted())
      .on(
        "GET /jobs/j1/events",
        stream([sse({ id: "2-0", event: "state", data: { status: "completed" } })]),
      )
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));
    const ws = new FakeSocketServer();
    const options = fast(http, ws, { WebSocket: undefined });
    const had = globalThis.WebSocket;
    // Node 20 has no WebSocket; a newer Node has one, which must not be dialled here.
    (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
    try {
      expect(await processAsyncJob(REQUEST, options)).toEqual(RESPONSE);
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = had;
    }
  });

  it("a socket that keeps dropping hands over to the event stream after the last event", async () => {
    const http = new FakeServer()
      .on("POST /submit", submitted())
      .on(
        "GET /jobs/j1/events",
        stream([sse({ id: "7-0", event: "state", data: { status: "completed" } })]),
      )
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));
    const ws = new FakeSocketServer();
    let n = 0;
    ws.onConnect = (s) => {
      if (n++ === 0) {
        s.open();
        s.message(state("j1", "5-0", "processing"));
        s.shut(1011);
      } else {
        s.shut(1006);
      }
    };

    expect(await processAsyncJob(REQUEST, fast(http, ws))).toEqual(RESPONSE);
    expect(ws.sockets).toHaveLength(4); // the first, then 2 retries + the one that gave up
    const events = http.calls.filter((c) => c.path === "/jobs/j1/events");
    expect(events.map((c) => c.headers["last-event-id"])).toEqual(["5-0"]);
  });

  it("a refused sign-in (4401) is final: HttpError 401, no fallback", async () => {
    const http = new FakeServer().on("POST /submit", submitted());
    const ws = new FakeSocketServer();
    ws.onConnect = (s) => s.open();
    ws.onSend = (s, m) => {
      if (m.type === "auth") s.shut(4401, "token expired");
    };
    const err = await processAsyncJob(REQUEST, fast(http, ws)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(401);
    expect((err as HttpError).jobId).toBe("j1");
    expect(http.calls.map((c) => c.path)).toEqual(["/submit"]);
  });

  it("an unknown job is the 404 the event stream would give", async () => {
    const http = new FakeServer().on("POST /submit", submitted());
    const ws = playing((s) =>
      s.message({ type: "error", job_id: "j1", code: "not_found", detail: "job not found" }),
    );
    const err = await processAsyncJob(REQUEST, fast(http, ws)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(404);
    expect((err as HttpError).code).toBe("not_found");
  });

  it("aborting closes the socket and rejects with the reason", async () => {
    const http = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", status("processing"));
    const ws = playing(() => undefined);
    const abort = new AbortController();
    const running = processAsyncJob(REQUEST, fast(http, ws, { signal: abort.signal }));
    await until(() => ws.sockets[0]?.sent.length === 2, "the subscription");
    abort.abort(new Error("user left"));
    await expect(running).rejects.toThrow("user left");
    expect(ws.last.closedByClient).toBe(1000);
    expect(http.count("GET /jobs/j1/events")).toBe(0);
  });
});
