/**
 * The job's status as the client knows it, kept in the shape of the status
 * endpoint's body whichever transport feeds it, so that `onProgress` sees the
 * same object from events as from polls.
 */

import { isRecord } from "./errors.js";
import type { JobErrorFields, JobState, JobStatus, JobSubmitResponse, Step } from "./types.js";

/** The status a job has when the server just accepted it. */
export function submittedStatus(job: JobSubmitResponse): JobStatus {
  return {
    job_id: job.job_id,
    status: job.status,
    progress: 0,
    message: job.message,
    created_at: job.created_at,
    updated_at: job.created_at,
    estimated_remaining_seconds: job.estimated_completion_seconds ?? null,
    attempt: 0,
    step: null,
  };
}

/** What we know of a job followed by id alone, before its first event. */
export function unknownStatus(jobId: string): JobStatus {
  return {
    job_id: jobId,
    status: "pending",
    progress: 0,
    message: "",
    created_at: "",
    updated_at: "",
    estimated_remaining_seconds: null,
    attempt: 0,
    step: null,
  };
}

export class StatusTracker {
  status: JobStatus;
  private startedAt: number | undefined;
  private readonly submittedAt = Date.now();

  constructor(
    initial: JobStatus,
    private readonly onProgress?: (status: JobStatus) => void,
    /** The estimate given at submit, in seconds, if any. */
    private readonly estimate?: number,
  ) {
    this.status = initial;
  }

  /** A status body from the server replaces what we knew. */
  fromStatus(body: JobStatus): void {
    this.status = body;
    this.emit();
  }

  fromState(data: Record<string, unknown>): void {
    const status = data.status as JobState;
    if (status === "processing" && this.startedAt === undefined) this.startedAt = Date.now();
    this.update({
      status,
      ...(typeof data.attempt === "number" ? { attempt: data.attempt } : {}),
      ...(typeof data.message === "string" ? { message: data.message } : {}),
      ...errorFields(data),
    });
  }

  fromProgress(data: Record<string, unknown>): void {
    const progress = typeof data.progress === "number" ? data.progress : this.status.progress;
    this.update({
      progress,
      ...(typeof data.message === "string" ? { message: data.message } : {}),
      ...(isRecord(data.step) ? { step: data.step as Step } : {}),
    });
  }

  private update(patch: Partial<JobStatus>): void {
    const status = { ...this.status, ...patch, updated_at: new Date().toISOString() };
    status.estimated_remaining_seconds = this.remaining(status);
    this.status = status;
    this.emit();
  }

  /**
   * Events carry no time estimate, so extrapolate as the server does: run
   * time so far per unit of progress; before any progress, the estimate
   * given at submit minus the time since.
   */
  private remaining(s: JobStatus): number | null {
    if (s.status === "completed" || s.status === "failed" || s.status === "cancelled") return 0;
    const now = Date.now();
    if (this.startedAt !== undefined && s.progress > 0 && s.progress < 1) {
      return (
        Math.round(((now - this.startedAt) / 1000) * ((1 - s.progress) / s.progress) * 10) / 10
      );
    }
    if (this.estimate === undefined) return null;
    return Math.max(0, Math.round(this.estimate - (now - this.submittedAt) / 1000));
  }

  private emit(): void {
    this.onProgress?.(this.status);
  }
}

/** The error fields a state event carries, if any (a retry's `pending` may say what went wrong). */
function errorFields(data: Record<string, unknown>): JobErrorFields {
  const out: JobErrorFields = {};
  for (const k of ["error", "error_code", "error_detail"] as const) {
    const v = data[k];
    if (typeof v === "string") out[k] = v;
  }
  return out;
}
