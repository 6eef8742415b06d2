import { afterEach, describe, expect, it, vi } from "vitest";
import {
  HttpError,
  JobCancelledError,
  JobFailedError,
  JobTimeoutError,
  NetworkError,
  type JobEvent,
  type JobStatus,
  type ProcessOptions,
  processAsyncJob,
} from "../src/index.js";
import { FakeServer, json, result, sse, status, stream, submitted } from "./fake.js";

const REQUEST = { query: "a todo app for cats", coordination_mode: "sequential" as const };
const RESPONSE = { final_response: "ship it", agent_responses: [] };
const FAILED = {
  error: "Job failed: upstream model refused",
  error_code: "llm_error",
  error_detail: "upstream model refused",
};

/** Options that make every wait in the client take a millisecond or two. */
function fast(server: FakeServer, extra: ProcessOptions = {}): ProcessOptions {
  return {
    apiUrl: "http://api.test",
    token: "tok",
    fetch: server.fetch,
    pollInterval: 1,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...extra,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("polling", () => {
  it("resolves with the job's result and reports progress", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on(
        "GET /jobs/j1/status",
        status("pending"),
        status("processing", 0.5),
        status("completed", 1),
      )
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));
    const seen: JobStatus[] = [];

    const out = await processAsyncJob(
      REQUEST,
      fast(server, { transport: "poll", onProgress: (s) => seen.push(s) }),
    );

    expect(out).toEqual(RESPONSE);
    expect(seen.map((s) => [s.status, s.progress])).toEqual([
      ["pending", 0],
      ["processing", 0.5],
      ["completed", 1],
    ]);
    const submit = server.calls[0]!;
    expect(submit.url).toBe("http://api.test/api/multi-agent/submit");
    expect(submit.body).toEqual({ request: REQUEST });
    expect(submit.headers.authorization).toBe("Bearer tok");
    expect(submit.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{32,36}$/);
  });

  it("throws the server's error on the first poll that sees `failed`", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", status("failed", 0.3, FAILED));

    const err = await processAsyncJob(REQUEST, fast(server, { transport: "poll" })).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).message).toBe("Job failed: upstream model refused");
    expect((err as JobFailedError).code).toBe("llm_error");
    expect((err as JobFailedError).detail).toBe("upstream model refused");
    expect((err as JobFailedError).jobId).toBe("j1");
    expect(server.count("GET /jobs/j1/status")).toBe(1);
    expect(server.count("GET /jobs/j1/result")).toBe(0); // the status said why
  });

  it.each([
    ["the error string with its code and detail", FAILED],
    ["the old error object", { error: { code: "llm_error", message: "upstream model refused" } }],
  ])("reads the failure from the result: %s", async (_name, error) => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", status("failed", 0.3, { message: "job failed" }))
      .on("GET /jobs/j1/result", result({ status: "failed", ...error }));

    const err = await processAsyncJob(REQUEST, fast(server, { transport: "poll" })).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).message).toBe("Job failed: upstream model refused");
    expect((err as JobFailedError).code).toBe("llm_error");
    expect((err as JobFailedError).detail).toBe("upstream model refused");
  });

  it("throws JobCancelledError when the job was cancelled", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", status("cancelled", 0.2));

    await expect(
      processAsyncJob(REQUEST, fast(server, { transport: "poll" })),
    ).rejects.toBeInstanceOf(JobCancelledError);
  });

  it("says why a job was cancelled when the server does", async () => {
    const server = new FakeServer().on("POST /submit", submitted()).on(
      "GET /jobs/j1/status",
      status("cancelled", 0.2, {
        error: "Job cancelled: cancelled by the user",
        error_code: "cancelled",
        error_detail: "cancelled by the user",
      }),
    );

    const err = await processAsyncJob(REQUEST, fast(server, { transport: "poll" })).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(JobCancelledError);
    expect((err as JobCancelledError).message).toBe("Job cancelled: cancelled by the user");
    expect((err as JobCancelledError).code).toBe("cancelled");
  });

  it("waits the server's Retry-After rather than pollInterval", async () => {
    vi.useFakeTimers();
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on(
        "GET /jobs/j1/status",
        status("processing", 0.1, {}, { "Retry-After": "2" }),
        status("completed", 1),
      )
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));

    const done = processAsyncJob(
      REQUEST,
      fast(server, { transport: "poll", pollInterval: 60_000 }),
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(server.count("GET /jobs/j1/status")).toBe(1);
    await vi.advanceTimersByTimeAsync(1_900);
    expect(server.count("GET /jobs/j1/status")).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(server.count("GET /jobs/j1/status")).toBe(2);
    await expect(done).resolves.toEqual(RESPONSE);
  });

  it("gives up after maxPollAttempts polls", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", status("processing"));

    const err = await processAsyncJob(
      REQUEST,
      fast(server, { transport: "poll", maxPollAttempts: 3 }),
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(JobTimeoutError);
    expect((err as JobTimeoutError).jobId).toBe("j1");
    expect(server.count("GET /jobs/j1/status")).toBe(3);
  });
});

describe("errors and retries", () => {
  it("stops at once on 401", async () => {
    const server = new FakeServer().on(
      "POST /submit",
      json(401, { detail: "bad token", code: "unauthorized" }),
    );

    const err = await processAsyncJob(REQUEST, fast(server)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(401);
    expect((err as HttpError).code).toBe("unauthorized");
    expect((err as HttpError).detail).toBe("bad token");
    expect(server.calls).toHaveLength(1);
  });

  it("shows a validation error's message, not its list", async () => {
    const server = new FakeServer().on(
      "POST /submit",
      json(422, {
        detail: [{ loc: ["body", "request", "primary_agent"], msg: "Input should be …" }],
        code: "invalid_request",
        message: "request.primary_agent: Input should be 'research', … (got 'foo')",
      }),
    );

    const err = await processAsyncJob(REQUEST, fast(server)).catch((e: unknown) => e);

    expect((err as HttpError).status).toBe(422);
    expect((err as HttpError).detail).toBe(
      "request.primary_agent: Input should be 'research', … (got 'foo')",
    );
    expect((err as HttpError).message).not.toContain("[object Object]");
    expect(Array.isArray(((err as HttpError).body as { detail: unknown }).detail)).toBe(true);
  });

  it("stops at once on 404 for the job", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", json(404, { detail: "no such job", code: "not_found" }));

    const err = await processAsyncJob(REQUEST, fast(server, { transport: "poll" })).catch(
      (e: unknown) => e,
    );

    expect((err as HttpError).status).toBe(404);
    expect(server.count("GET /jobs/j1/status")).toBe(1);
  });

  it("retries 503 and network errors, with the same idempotency key", async () => {
    const server = new FakeServer()
      .on(
        "POST /submit",
        json(503, { detail: "redis unavailable", code: "unavailable" }),
        new TypeError("fetch failed"),
        submitted(),
      )
      .on("GET /jobs/j1/status", json(502, "bad gateway"), json(524, ""), status("completed", 1))
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));

    await expect(processAsyncJob(REQUEST, fast(server, { transport: "poll" }))).resolves.toEqual(
      RESPONSE,
    );

    const keys = server.calls
      .filter((c) => c.method === "POST")
      .map((c) => c.headers["idempotency-key"]);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(server.count("GET /jobs/j1/status")).toBe(3);
  });

  it("gives up with the last error once the retries are spent", async () => {
    const server = new FakeServer().on(
      "POST /submit",
      json(503, { detail: "down", code: "unavailable" }),
    );
    const err = await processAsyncJob(
      REQUEST,
      fast(server, { retry: { retries: 2, baseDelayMs: 1 } }),
    ).catch((e: unknown) => e);
    expect((err as HttpError).status).toBe(503);
    expect(server.calls).toHaveLength(3);

    const offline = new FakeServer().on("POST /submit", new TypeError("fetch failed"));
    const err2 = await processAsyncJob(
      REQUEST,
      fast(offline, { retry: { retries: 1, baseDelayMs: 1 } }),
    ).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(NetworkError);
    expect(offline.calls).toHaveLength(2);
  });

  it("rejects with the abort reason, stops calling, and cancels when asked to", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", status("processing", 0.2))
      .on("POST /jobs/j1/cancel", status("processing", 0.2));
    const controller = new AbortController();

    const done = processAsyncJob(
      REQUEST,
      fast(server, {
        transport: "poll",
        pollInterval: 5,
        signal: controller.signal,
        cancelOnAbort: true,
        onProgress: () => controller.abort(),
      }),
    );

    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    await new Promise((r) => setTimeout(r, 20));
    expect(server.count("GET /jobs/j1/status")).toBe(1);
    expect(server.count("POST /jobs/j1/cancel")).toBe(1);
  });

  it("times out with JobTimeoutError naming the job", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/status", status("processing"));

    const err = await processAsyncJob(
      REQUEST,
      fast(server, { transport: "poll", pollInterval: 5, timeout: 40 }),
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(JobTimeoutError);
    expect((err as JobTimeoutError).jobId).toBe("j1");
    expect((err as Error).message).toContain("may still be running");
  });
});

describe("event stream", () => {
  const progress = (id: string, p: number, agent: string) =>
    sse({
      id,
      event: "progress",
      data: { progress: p, message: `${agent} working`, step: { agent, index: 1, total: 2 } },
    });
  const state = (id: string, s: string, extra: Record<string, unknown> = {}) =>
    sse({ id, event: "state", data: { status: s, attempt: 1, message: s, ...extra } });

  it("follows events, reporting progress and agent outputs", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/events", () =>
        stream(
          [
            ": ping\n\n",
            state("1-0", "processing"),
            progress("2-0", 0.5, "research"),
            sse({
              id: "3-0",
              event: "agent_output",
              data: { agent: "research", index: 1, total: 2, response: "found" },
            }),
            sse({ id: "4-0", event: "token", data: { agent: "summary", text: "sh" } }),
            state("5-0", "completed"),
          ],
          "open",
        ),
      )
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));
    const events: JobEvent[] = [];
    const seen: JobStatus[] = [];

    const out = await processAsyncJob(
      REQUEST,
      fast(server, { onEvent: (e) => events.push(e), onProgress: (s) => seen.push(s) }),
    );

    expect(out).toEqual(RESPONSE);
    expect(events.map((e) => [e.id, e.type])).toEqual([
      ["1-0", "state"],
      ["2-0", "progress"],
      ["3-0", "agent_output"],
      ["4-0", "token"],
      ["5-0", "state"],
    ]);
    expect(events[2]!.data.response).toBe("found");
    expect(seen.map((s) => [s.status, s.progress, s.step?.agent ?? null])).toEqual([
      ["processing", 0, null],
      ["processing", 0.5, "research"],
      ["completed", 0.5, "research"],
    ]);
    expect(server.count("GET /jobs/j1/status")).toBe(0);
    expect(server.calls[1]!.headers.accept).toBe("text/event-stream");
  });

  it("resumes with Last-Event-ID after the stream ends or breaks early", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on(
        "GET /jobs/j1/events",
        () => stream([state("1-0", "processing"), progress("2-0", 0.3, "research")], "close"),
        () => stream([progress("3-0", 0.6, "analysis")], "error"),
        () => stream([state("4-0", "completed")], "open"),
      )
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));
    const ids: string[] = [];

    await expect(
      processAsyncJob(REQUEST, fast(server, { onEvent: (e) => ids.push(e.id) })),
    ).resolves.toEqual(RESPONSE);

    const connects = server.calls.filter((c) => c.path === "/jobs/j1/events");
    expect(connects.map((c) => c.headers["last-event-id"])).toEqual([undefined, "2-0", "3-0"]);
    expect(ids).toEqual(["1-0", "2-0", "3-0", "4-0"]);
  });

  it("takes the result the stream sends before the terminal event, without asking", async () => {
    const body = { job_id: "j1", status: "completed", result: RESPONSE, attempt: 1 };
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/events", () =>
        stream(
          [
            state("1-0", "processing"),
            `event: result\ndata: ${JSON.stringify(body)}\n\n`,
            state("2-0", "completed"),
          ],
          "open",
        ),
      );
    const ids: string[] = [];

    await expect(
      processAsyncJob(REQUEST, fast(server, { onEvent: (e) => ids.push(`${e.id} ${e.type}`) })),
    ).resolves.toEqual(RESPONSE);

    expect(server.count("GET /jobs/j1/result")).toBe(0);
    expect(ids).toEqual(["1-0 state", "2-0 state"]); // not a log event
  });

  it.each([
    [
      "the error string",
      { error: "Job failed: took too long", error_code: "timeout", error_detail: "took too long" },
    ],
    ["the old error object", { error: { code: "timeout", message: "took too long" } }],
  ])(
    "throws the failure from the state event (%s), without asking for the result",
    async (_name, error) => {
      const server = new FakeServer()
        .on("POST /submit", submitted())
        .on("GET /jobs/j1/events", () =>
          stream([state("1-0", "processing"), state("2-0", "failed", error)], "open"),
        );

      const err = await processAsyncJob(REQUEST, fast(server)).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(JobFailedError);
      expect((err as JobFailedError).message).toBe("Job failed: took too long");
      expect((err as JobFailedError).code).toBe("timeout");
      expect((err as JobFailedError).detail).toBe("took too long");
      expect(server.count("GET /jobs/j1/result")).toBe(0);
    },
  );

  it.each([
    ["a refusing status", () => json(405, { detail: "no", code: "method_not_allowed" })],
    ["a non-stream body", () => json(200, { hello: "proxy" })],
    ["a stream that stays silent", () => stream([], "open")],
  ])("falls back to polling on %s", async (_name, answer) => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/events", answer)
      .on("GET /jobs/j1/status", status("processing", 0.5), status("completed", 1))
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));

    await expect(processAsyncJob(REQUEST, fast(server, { sseIdleTimeout: 30 }))).resolves.toEqual(
      RESPONSE,
    );

    expect(server.count("GET /jobs/j1/events")).toBe(1);
    expect(server.count("GET /jobs/j1/status")).toBe(2);
  });

  it("falls back to polling when the stream keeps failing", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/events", json(503, { detail: "busy", code: "unavailable" }))
      .on("GET /jobs/j1/status", status("completed", 1))
      .on("GET /jobs/j1/result", result({ status: "completed", result: RESPONSE }));

    await expect(
      processAsyncJob(REQUEST, fast(server, { retry: { retries: 2, baseDelayMs: 1 } })),
    ).resolves.toEqual(RESPONSE);
    expect(server.count("GET /jobs/j1/events")).toBe(3);
  });

  it("does not fall back with transport 'sse'", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/events", json(405, { detail: "no", code: "method_not_allowed" }));

    const err = await processAsyncJob(REQUEST, fast(server, { transport: "sse" })).catch(
      (e: unknown) => e,
    );

    expect((err as HttpError).status).toBe(405);
    expect(server.count("GET /jobs/j1/status")).toBe(0);
  });

  it("stops at once when the stream says 404", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/events", json(404, { detail: "not found", code: "not_found" }));

    const err = await processAsyncJob(REQUEST, fast(server)).catch((e: unknown) => e);

    expect((err as HttpError).status).toBe(404);
    expect(server.count("GET /jobs/j1/status")).toBe(0);
  });

  it("aborts a connection that is waiting for events", async () => {
    const server = new FakeServer()
      .on("POST /submit", submitted())
      .on("GET /jobs/j1/events", () => stream([state("1-0", "processing")], "open"));
    const controller = new AbortController();

    const done = processAsyncJob(
      REQUEST,
      fast(server, {
        signal: controller.signal,
        onEvent: () => setTimeout(() => controller.abort(), 5),
      }),
    );

    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    expect(server.count("GET /jobs/j1/events")).toBe(1);
  });
});
