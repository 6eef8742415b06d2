/**
 * The job's status as the client knows it, kept in the shape of the status
 * endpoint's body whichever transport feeds it, so that `onProgress` sees the
 * same object from events as from polls.
 */

import { isRecord } from "./errors.js";
import type { JobState, JobStatus, JobSubmitResponse, Step } from "./types.js";

export class StatusTracker {
  status: JobStatus;
  private startedAt: number | undefined;
  private readonly submittedAt = Date.now();
  private readonly estimate: number | undefined;

  constructor(
    job: JobSubmitResponse,
    private readonly onProgress?: (status: JobStatus) => void,
  ) {
    this.estimate = job.estimated_completion_seconds ?? undefined;
    this.status = {
      job_id: job.job_id,
      status: job.status,
      progress: 0,
      message: job.message,
      created_at: job.created_at,
      updated_at: job.created_at,
      estimated_remaining_seconds: this.estimate ?? null,
      attempt: 0,
      step: null,
    };
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
