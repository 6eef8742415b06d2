// Runs old_client.mjs once and reports what it did, for tests/compat.
//
//   node run_old_client.mjs SPEC.json
//
// SPEC: {"apiUrl", "token", "request", "options": {pollInterval,
// maxPollAttempts, timeout}, "holdFirstPoll": bool}. Every request the
// client makes goes through a counting wrapper around fetch (the client
// itself is not touched). With holdFirstPoll the wrapper prints
// {"event": "submitted", "job_id"} after the submit and holds the first
// status request until a line arrives on stdin: a gate the test opens once it
// has put the job in the state it wants the client to find.
// The last stdout line is the report: {"outcome": "returned" | "threw",
// "value" | "message", "requests": [{method, path, status, job_status}],
// "progress": [statuses], "logged": [messages], "elapsed_ms"}.

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

import { processAsyncJob } from "./old_client.mjs";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const requests = [];
const logged = [];
const progress = [];
const realFetch = globalThis.fetch;
let gate = null;

if (spec.holdFirstPoll) {
  const lines = createInterface({ input: process.stdin });
  gate = new Promise((resolve) => lines.once("line", resolve));
}

function say(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

globalThis.fetch = async (url, init = {}) => {
  const path = new URL(url).pathname;
  const isPoll = path.endsWith("/status");
  if (isPoll && gate !== null) {
    await gate;
    gate = null;
  }
  const response = await realFetch(url, init);
  const record = { method: init.method || "GET", path, status: response.status };
  requests.push(record);
  const body = await response
    .clone()
    .json()
    .catch(() => null);
  if (isPoll && body) record.job_status = body.status;
  if (path.endsWith("/submit") && spec.holdFirstPoll) {
    say({ event: "submitted", job_id: body && body.job_id });
  }
  return response;
};

console.error = (...args) => {
  logged.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
};

const started = Date.now();
const report = { requests, logged, progress };
try {
  const value = await processAsyncJob(spec.request, {
    apiUrl: spec.apiUrl,
    token: spec.token,
    onProgress: (status) => progress.push(status.status),
    ...spec.options,
  });
  Object.assign(report, { outcome: "returned", value });
} catch (error) {
  Object.assign(report, { outcome: "threw", message: String(error.message) });
}
report.elapsed_ms = Date.now() - started;
// Exit once the report is written: a pipe takes large writes in pieces.
process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
