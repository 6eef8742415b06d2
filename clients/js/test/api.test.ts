import { describe, expect, it } from "vitest";
import { cancelJob, getJobResult, getJobStatus, submitJob } from "../src/index.js";
import { FakeServer, json, result, status, submitted } from "./fake.js";

const opts = (server: FakeServer) => ({
  apiUrl: "http://api.test/",
  token: "t",
  fetch: server.fetch,
});

describe("plain calls", () => {
  it("submit sends the request, priority and an idempotency key", async () => {
    const server = new FakeServer().on("POST /submit", submitted("abc"));
    const job = await submitJob(
      { query: "q" },
      { ...opts(server), priority: "high", idempotencyKey: "k1" },
    );
    expect(job.job_id).toBe("abc");
    expect(server.calls[0]!.url).toBe("http://api.test/api/multi-agent/submit");
    expect(server.calls[0]!.body).toEqual({ request: { query: "q" }, priority: "high" });
    expect(server.calls[0]!.headers["idempotency-key"]).toBe("k1");
  });

  it("status long-polls with ?wait and escapes the job id", async () => {
    const server = new FakeServer().on("GET /jobs/a%2Fb/status", status("processing", 0.4));
    const s = await getJobStatus("a/b", { ...opts(server), wait: 20 });
    expect(s.progress).toBe(0.4);
    expect(server.calls[0]!.url).toBe("http://api.test/api/multi-agent/jobs/a%2Fb/status?wait=20");
  });

  it("result returns the status body while pending and the result once done", async () => {
    const server = new FakeServer().on(
      "GET /jobs/j1/result",
      json(202, { job_id: "j1", status: "processing", progress: 0.1 }),
      result({ status: "completed", result: { ok: true } }),
    );
    expect((await getJobResult("j1", opts(server))).status).toBe("processing");
    const done = await getJobResult("j1", opts(server));
    expect(done.status === "completed" && done.result).toEqual({ ok: true });
  });

  it("cancel posts to the cancel route", async () => {
    const server = new FakeServer().on("POST /jobs/j1/cancel", status("cancelled"));
    expect((await cancelJob("j1", opts(server))).status).toBe("cancelled");
    expect(server.calls[0]!.headers.authorization).toBe("Bearer t");
  });
});
