/**
 * The operators' API (/api/admin/*) as the console reads it: typed answers,
 * and one error type that carries the status and the server's own message.
 */

export type Priority = "high" | "normal" | "low";
export type ListState = "running" | "orphaned" | "failed" | "pending";

export interface Queues {
  depth: Record<Priority, number>;
  delayed: number;
  running: number;
  orphaned: number;
  failed: number;
  checked_at: string;
}

export interface WorkerCard {
  id: string;
  host: string;
  pid: number | null;
  concurrency: number | null;
  running: number;
  jobs: string[];
  started_at: string | null;
  last_heartbeat: string;
  heartbeat_age_s: number;
}

export interface AdminJob {
  job_id: string;
  kind: string;
  owner: string;
  status: string;
  orphaned: boolean;
  priority: Priority;
  attempt: number;
  max_attempts: number;
  progress: number;
  message: string;
  step: { agent?: string | null; index?: number | null; total?: number | null } | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
  lease_expires_at: string | null;
  due_at: string | null;
  worker: string | null;
  error: string | null;
  error_code: string | null;
  error_detail: string | null;
  retry_of: string | null;
  retried_as: string | null;
}

export interface JobList {
  state: ListState;
  jobs: AdminJob[];
  next: string | null;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface StatsGroup {
  key: string | null;
  jobs: number;
  by_status: { completed: number; failed: number; cancelled: number };
  success_rate: number | null;
  run_time_s: Percentiles;
}

export interface Stats {
  since: string;
  until: string;
  groups: StatsGroup[];
}

/** A non-2xx answer: its status and the one readable line the server sent. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The server's `message` (every jobgate error has one), else a line of our own. */
async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`.trim();
  let code: string | undefined;
  try {
    const body = (await res.json()) as { message?: unknown; detail?: unknown; code?: unknown };
    if (typeof body.message === "string") message = body.message;
    else if (typeof body.detail === "string") message = body.detail;
    if (typeof body.code === "string") code = body.code;
  } catch {
    // not JSON (a proxy's page): the status line says enough
  }
  return new ApiError(res.status, message, code);
}

export class AdminApi {
  constructor(
    private readonly token: () => string | undefined,
    private readonly base = "",
  ) {}

  private async call<T>(method: string, path: string): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, `the server cannot be reached (${String(e)})`);
    }
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  queues(): Promise<Queues> {
    return this.call("GET", "/api/admin/queues");
  }

  workers(): Promise<{ workers: WorkerCard[]; checked_at: string }> {
    return this.call("GET", "/api/admin/workers");
  }

  jobs(state: ListState, limit = 50): Promise<JobList> {
    return this.call("GET", `/api/admin/jobs?state=${state}&limit=${limit}`);
  }

  job(id: string): Promise<AdminJob> {
    return this.call("GET", `/api/admin/jobs/${encodeURIComponent(id)}`);
  }

  retry(id: string): Promise<AdminJob> {
    return this.call("POST", `/api/admin/jobs/${encodeURIComponent(id)}/retry`);
  }

  cancel(id: string): Promise<AdminJob> {
    return this.call("POST", `/api/admin/jobs/${encodeURIComponent(id)}/cancel`);
  }

  stats(groupBy: "hour" | "mode", since: Date, until: Date): Promise<Stats> {
    const q = new URLSearchParams({
      group_by: groupBy,
      since: since.toISOString(),
      until: until.toISOString(),
    });
    return this.call("GET", `/api/admin/stats?${q.toString()}`);
  }
}
