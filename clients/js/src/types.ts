/**
 * Wire types of the jobgate HTTP contract (mirrors src/jobgate/models.py).
 * Field names stay snake_case, exactly as they travel.
 */

export type JobState = "pending" | "processing" | "completed" | "failed" | "cancelled";
export type TerminalState = "completed" | "failed" | "cancelled";
export type ActiveState = "pending" | "processing";

export const TERMINAL_STATES: readonly TerminalState[] = ["completed", "failed", "cancelled"];

export function isTerminal(state: string): state is TerminalState {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

export type CoordinationMode =
  "sequential" | "parallel" | "collaborative" | "debate" | "enhanced_collaborative";

export type Priority = "high" | "normal" | "low";

export interface MultiAgentRequest {
  query: string;
  user_id?: string;
  product_id?: string;
  coordination_mode?: CoordinationMode;
  primary_agent?: string;
  supporting_agents?: string[];
  context?: Record<string, unknown>;
}

/** The job's `result` once completed: the server's MultiAgentResponse, passed through as is. */
export type MultiAgentResponse = Record<string, unknown>;

export interface Step {
  agent?: string | null;
  round?: number | null;
  index?: number | null;
  total?: number | null;
  [extra: string]: unknown;
}

export interface JobSubmitResponse {
  job_id: string;
  status: "pending";
  message: string;
  created_at: string;
  estimated_completion_seconds?: number | null;
  status_url: string;
  result_url: string;
  events_url: string;
}

/**
 * Why a job failed or was cancelled, on /status, /result and the terminal
 * state event. `error` is for people (and the old frontend, which reads only
 * it); `error_code` is for programs.
 */
export interface JobErrorFields {
  /** "Job failed: <what happened>" or "Job cancelled: <reason>"; null while nothing went wrong. */
  error?: string | null;
  /** The structured code: `worker_lost`, `timeout`, `llm_auth`, `cancelled`, … */
  error_code?: string | null;
  /** The plain message, without the "Job failed: " prefix. */
  error_detail?: string | null;
}

export interface JobStatus extends JobErrorFields {
  job_id: string;
  status: JobState;
  progress: number;
  message: string;
  created_at: string;
  updated_at: string;
  started_at?: string | null;
  completed_at?: string | null;
  estimated_remaining_seconds?: number | null;
  attempt: number;
  step?: Step | null;
  priority?: Priority;
}

export interface JobResult<R = MultiAgentResponse> extends JobErrorFields {
  job_id: string;
  status: TerminalState;
  result?: R | null;
  created_at: string;
  completed_at?: string | null;
  attempt: number;
}

/** What GET /result answers before the job is done (HTTP 202): the status body. */
export type JobPending = JobStatus & { status: ActiveState };

/** One entry of a job's event stream; `id` is the stream id used as `Last-Event-ID`. */
export interface JobEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export interface StateEventData extends JobErrorFields {
  status: JobState;
  attempt?: number;
  message?: string;
}

export interface ProgressEventData {
  progress: number;
  message?: string;
  step?: Step | null;
}

export interface AgentOutputEventData {
  agent: string;
  round?: number;
  index?: number;
  total?: number;
  response: unknown;
}

export interface TokenEventData {
  agent: string;
  text: string;
}
