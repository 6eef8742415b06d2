/**
 * jobgate browser/Node client. The public surface is exactly what is
 * exported here; test/exports.test.ts pins it.
 */

export { cancelJob, getJobResult, getJobStatus, submitJob } from "./api.js";
export type { StatusOptions, SubmitOptions } from "./api.js";
export {
  DEFAULT_MAX_POLL_ATTEMPTS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  getJobConfig,
} from "./config.js";
export type { JobConfig } from "./config.js";
export {
  HttpError,
  JobCancelledError,
  JobFailedError,
  JobGateError,
  JobTimeoutError,
  NetworkError,
} from "./errors.js";
export type { ClientOptions, FetchLike, RetryOptions } from "./http.js";
export { processAsyncJob } from "./process.js";
export type { ProcessOptions, Transport } from "./process.js";
export { TERMINAL_STATES, isTerminal } from "./types.js";
export { watchJobs } from "./watch.js";
export type {
  ConnectionState,
  JobWatch,
  WatchError,
  WatchOptions,
  WatchUpdate,
  WebSocketConstructor,
  WebSocketLike,
} from "./watch.js";
export type * from "./types.js";
