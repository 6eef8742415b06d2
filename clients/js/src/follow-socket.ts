/**
 * Following one job over the many-jobs socket, for processAsyncJob's
 * `transport: "websocket"`. When the socket cannot be had (no WebSocket in
 * this runtime, a server or proxy without `/ws`, a socket that keeps
 * dropping) it says so with StreamUnavailable and the job's event stream
 * takes over from the last event seen: both carry the same ids.
 */

import { HttpError, JobGateError } from "./errors.js";
import { type Outcome, type Run, StreamUnavailable, applyEvent } from "./run.js";
import { Watcher, type WatchError } from "./watch.js";

export function followSocket(run: Run): Promise<Outcome> {
  const o = run.options;
  return new Promise<Outcome>((resolve, reject) => {
    let watch: Watcher | undefined;
    let settled = false;
    const end = (outcome: Outcome | undefined, error?: unknown): void => {
      if (settled) return;
      settled = true;
      watch?.close();
      if (outcome !== undefined) resolve(outcome);
      else reject(error);
    };
    const refused = (e: WatchError): void => {
      if (e.jobId !== run.jobId && e.jobId !== undefined) return;
      if (e.code === "store_unavailable") return; // the watcher asks again
      // The same answer GET /events would give: no other transport can do better.
      if (e.code === "not_found") {
        end(undefined, new HttpError(404, { detail: e.detail, code: e.code }, "websocket"));
        return;
      }
      const cause = new JobGateError(`socket refused: ${e.code}: ${e.detail}`, run.jobId);
      end(undefined, new StreamUnavailable("socket refused the job", { cause }));
    };
    try {
      watch = new Watcher(
        [run.jobId],
        {
          apiUrl: o.apiUrl,
          token: run.r.token,
          basePath: o.basePath,
          retry: o.retry,
          WebSocket: o.WebSocket,
          idleTimeout: o.sseIdleTimeout,
          signal: run.signal,
          onEvent: (_, e) => {
            const outcome = applyEvent(run, e.id, e.type, e.data);
            if (outcome !== undefined) end(outcome);
          },
          onResult: (result) => applyEvent(run, undefined, "result", result),
          onError: refused,
        },
        { maxFailures: run.r.retries, failBeforeOpen: true },
      );
    } catch (cause) {
      end(undefined, new StreamUnavailable("no socket", { cause }));
      return;
    }
    watch.closed.then(
      () => end(undefined, new StreamUnavailable("socket closed")),
      (e: unknown) => {
        if (run.signal.aborted) end(undefined, run.signal.reason);
        else if (e instanceof HttpError)
          end(undefined, e); // a refused sign-in: final
        else end(undefined, new StreamUnavailable("socket unusable", { cause: e }));
      },
    );
  });
}
