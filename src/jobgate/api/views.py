"""Pure conversions from a Job to the wire, and the server's polling advice."""

from __future__ import annotations

import math

from jobgate.job import Job, us_to_datetime
from jobgate.models import JobErrorInfo, JobResultResponse, JobStatusResponse, Step


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
    )


def result_view(job: Job) -> JobResultResponse:
    created = us_to_datetime(job.created_us)
    assert created is not None and job.terminal
    error = JobErrorInfo.model_validate(job.error) if job.error else None
    return JobResultResponse(
        job_id=job.id,
        status=job.state,  # type: ignore[arg-type]
        result=job.result,
        error=error,
        created_at=created,
        completed_at=us_to_datetime(job.completed_us),
        attempt=job.attempt,
    )


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
