"""Pure conversions from a Job to the wire, and the server's polling advice."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from jobgate.job import Job, JobState, us_to_datetime
from jobgate.models import JobResultResponse, JobStatusResponse, Step

FAILED = "Job failed: "
CANCELLED = "Job cancelled: "


class ErrorText(NamedTuple):
    """A job's error as the wire carries it: the old app's string, then its parts."""

    error: str | None = None
    error_code: str | None = None
    error_detail: str | None = None


def error_text(state: JobState, error: dict[str, Any] | None, message: str) -> ErrorText:
    """The `error` fields of a job in `state`; empty unless it failed or was cancelled.

    The record keeps `{code, message}`; the old app's client throws `error`
    as it is and ends its polling only on text containing "failed", so the
    string leads with "Job failed: " as that app's backend wrote it.
    """
    if state is JobState.FAILED:
        err = error or {}
        detail = str(err.get("message") or message or "the job failed")
        return ErrorText(FAILED + detail, str(err.get("code") or "failed"), detail)
    if state is JobState.CANCELLED:
        detail = message or "cancelled"
        return ErrorText(CANCELLED + detail, "cancelled", detail)
    return ErrorText()


def job_error(job: Job) -> ErrorText:
    return error_text(job.state, job.error, job.message)


def status_view(job: Job, now_us: int) -> JobStatusResponse:
    seen = job.as_seen(now_us)
    created = us_to_datetime(seen.created_us)
    assert created is not None
    return JobStatusResponse(
        job_id=seen.id,
        status=seen.state,
        progress=min(max(seen.progress, 0.0), 1.0),
        message=seen.message,
        created_at=created,
        updated_at=us_to_datetime(seen.updated_us) or created,
        started_at=us_to_datetime(seen.started_us),
        completed_at=us_to_datetime(seen.completed_us),
        estimated_remaining_seconds=seen.remaining_s(now_us),
        attempt=seen.attempt,
        step=Step.model_validate(seen.step) if seen.step else None,
        priority=seen.priority,
        **job_error(seen)._asdict(),
    )


def result_view(job: Job) -> JobResultResponse:
    created = us_to_datetime(job.created_us)
    assert created is not None and job.terminal
    return JobResultResponse.model_validate({
        "job_id": job.id,
        "status": job.state,
        "result": job.result,
        "created_at": created,
        "completed_at": us_to_datetime(job.completed_us),
        "attempt": job.attempt,
        **job_error(job)._asdict(),
    })


def retry_after(remaining_s: float | None, waiters: int) -> int:
    """Seconds a poller should wait before asking again.

    A quarter of the time left (1 to 10 s, 2 s when unknown), stretched as
    more clients wait on this process, so a busy server slows pollers down.
    """
    base = 2.0 if remaining_s is None else min(max(remaining_s / 4, 1.0), 10.0)
    load = 1.0 + waiters / 500
    return int(min(math.ceil(base * load), 30))


def etag(job: Job) -> str:
    return f'"{job.updated_us}-{job.state.value}"'
