import { expect, it } from "vitest";
import * as client from "../src/index.js";

it("exports exactly the public surface", () => {
  expect(Object.keys(client).sort()).toEqual([
    "DEFAULT_MAX_POLL_ATTEMPTS",
    "DEFAULT_POLL_INTERVAL_MS",
    "DEFAULT_TIMEOUT_MS",
    "HttpError",
    "JobCancelledError",
    "JobFailedError",
    "JobGateError",
    "JobTimeoutError",
    "NetworkError",
    "TERMINAL_STATES",
    "cancelJob",
    "getJobConfig",
    "getJobResult",
    "getJobStatus",
    "isTerminal",
    "processAsyncJob",
    "submitJob",
    "watchJobs",
  ]);
});

it("puts every error under one root", () => {
  for (const E of [
    client.HttpError,
    client.NetworkError,
    client.JobFailedError,
    client.JobCancelledError,
    client.JobTimeoutError,
  ]) {
    expect(E.prototype).toBeInstanceOf(client.JobGateError);
  }
});
