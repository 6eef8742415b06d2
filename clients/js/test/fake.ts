/**
 * A scripted stand-in for the server, as a `fetch` function: each route
 * answers from a queue of responses (the last one repeats), and every call
 * is recorded so tests can assert what the client sent.
 */

export interface Call {
  method: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Answer = Response | Error | ((call: Call) => Response | Promise<Response>);

export class FakeServer {
  readonly calls: Call[] = [];
  private readonly routes = new Map<string, Answer[]>();

  /** `route` is "METHOD /path" without the query string, e.g. "GET /jobs/j1/status". */
  on(route: string, ...answers: Answer[]): this {
    this.routes.set(route, [...(this.routes.get(route) ?? []), ...answers]);
    return this;
  }

  count(route: string): number {
    return this.calls.filter((c) => `${c.method} ${c.path}` === route).length;
  }

  readonly fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const u = new URL(input, "http://api.test");
    const call: Call = {
      method: init.method ?? "GET",
      url: input,
      path: u.pathname.replace(/^\/api\/multi-agent/, ""),
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    };
    this.calls.push(call);
    if (init.signal?.aborted) throw init.signal.reason;
    const queue = this.routes.get(`${call.method} ${call.path}`);
    if (!queue || queue.length === 0)
      return json(599, { detail: `no route ${call.method} ${call.path}` });
    const answer = queue.length > 1 ? queue.shift()! : queue[0]!;
    if (answer instanceof Error) throw answer;
    return typeof answer === "function" ? answer(call) : answer.clone();
  };
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export const T0 = "2025-01-01T00:00:00.000000+00:00";

export function submitted(jobId = "j1"): Response {
  return json(
    202,
    {
      job_id: jobId,
      status: "pending",
      message: "queued",
      created_at: T0,
      estimated_completion_seconds: 30,
      status_url: `/api/multi-agent/jobs/${jobId}/status`,
      result_url: `/api/multi-agent/jobs/${jobId}/result`,
      events_url: `/api/multi-agent/jobs/${jobId}/events`,
    },
    { Location: `/api/multi-agent/jobs/${jobId}/status`, "Retry-After": "1" },
  );
}

export function status(
  state: string,
  progress = 0,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return json(
    200,
    {
      job_id: "j1",
      status: state,
      progress,
      message: extra.message ?? state,
      created_at: T0,
      updated_at: T0,
      attempt: 1,
      estimated_remaining_seconds: null,
      step: null,
      ...extra,
    },
    headers,
  );
}

export function result(body: Record<string, unknown>): Response {
  return json(200, { job_id: "j1", created_at: T0, completed_at: T0, attempt: 1, ...body });
}

export interface SseEvent {
  id: string;
  event: string;
  data: unknown;
}

export function sse(e: SseEvent): string {
  return `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/**
 * An event-stream response that sends `chunks` and then either ends
 * (`end: "close"`), breaks (`"error"`), or stays open until the reader hangs up.
 */
export function stream(chunks: string[], end: "close" | "error" | "open" = "close"): Response {
  const enc = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(enc.encode(chunks[i++]));
        return;
      }
      if (end === "close") {
        controller.close();
        return;
      }
      if (end === "error") {
        controller.error(new TypeError("network error"));
        return;
      }
      return new Promise(() => undefined); // "open": no more data, ever
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}
