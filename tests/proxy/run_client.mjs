// Runs the built browser client (processAsyncJob) in node against a URL.
//
//   node run_client.mjs '{"apiUrl": "...", "token": "...", "transport": "sse", "request": {...}}'
//
// Optional keys: pollInterval, timeout (ms), bundle (a path to another build).
// Prints one JSON line: the job id, the result, and what the client did
// (requests sent by kind, status updates, events); exits 1 with the error.
import { pathToFileURL } from "node:url";

const args = JSON.parse(process.argv[2]);
const bundle =
  args.bundle !== undefined
    ? pathToFileURL(args.bundle).href
    : new URL("../../src/jobgate/web/assets/jobgate-client.js", import.meta.url).href;
const { processAsyncJob } = await import(bundle);

const requests = {};
const countingFetch = (input, init) => {
  const url = new URL(String(input));
  const kind = url.pathname.split("/").pop();
  requests[kind] = (requests[kind] ?? 0) + 1;
  return globalThis.fetch(input, init);
};

let jobId;
let progress = 0;
const events = [];
const started = Date.now();
try {
  const result = await processAsyncJob(args.request, {
    apiUrl: args.apiUrl,
    token: args.token,
    transport: args.transport,
    pollInterval: args.pollInterval,
    timeout: args.timeout ?? 120_000,
    fetch: countingFetch,
    onSubmit: (job) => (jobId = job.job_id),
    onProgress: () => (progress += 1),
    onEvent: (e) => events.push(e.id),
  });
  const elapsed_ms = Date.now() - started;
  console.log(JSON.stringify({ job_id: jobId, result, requests, progress, events, elapsed_ms }));
} catch (e) {
  console.error(`${e?.name}: ${e?.message}`);
  process.exit(1);
}
