/** The WebSocket the watcher needs, where it lives, and what its close codes mean. */

import { HttpError, JobGateError, NetworkError } from "./errors.js";

/** What the watcher uses of a WebSocket: the browser's, Node 22's, or a test's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: "close",
    listener: (event: { code: number; reason: string }) => void,
  ): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The socket's URL: the API base with ws(s) for http(s). A base that is a
 * path from the root (the page's own origin) is resolved against the page;
 * anything else (a relative path, another scheme, a config value that is not
 * a URL) is refused rather than dialled somewhere under the current page.
 */
export function socketUrl(base: string, path = "/ws"): string {
  const href = (globalThis as { location?: { href?: string } }).location?.href;
  const fromRoot = base.startsWith("/") && !base.startsWith("//");
  let u: URL | undefined;
  if (/^https?:\/\//i.test(base) || (fromRoot && href !== undefined)) {
    try {
      u = new URL(base + path, href);
    } catch {
      u = undefined;
    }
  }
  if (u === undefined) {
    throw new JobGateError(
      `cannot make a WebSocket URL from the API URL ${JSON.stringify(base.slice(0, 200))}: ` +
        "it must be http(s)://… or a path from the root",
    );
  }
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  return u.toString();
}

/**
 * Close codes 4000 + an HTTP status carry that status. A refused sign-in
 * (4401) or a forbidden one (4403) is final: it becomes the HttpError a
 * plain request would have got. Anything else is worth another connection
 * (undefined), unless `giveUp`: then it is the NetworkError of the last try.
 */
export function closeError(
  code: number,
  reason: string,
  url: string,
  giveUp = false,
): JobGateError | undefined {
  if (code === 4401 || code === 4403) {
    const status = code - 4000;
    const body = {
      detail: reason || (status === 401 ? "sign-in refused" : "forbidden"),
      code: status === 401 ? "unauthorized" : "forbidden",
    };
    return new HttpError(status, body, url);
  }
  if (!giveUp) return undefined;
  return new NetworkError(url, `the socket closed (code ${code}${reason ? `: ${reason}` : ""})`);
}
