"""The operators' API on the wire: its models and the pure conversions to them.

No I/O here: api/admin.py reads the store and hands the raw hashes over.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from jobgate import serde
from jobgate.agents.credentials import LLM_KEY_FIELD
from jobgate.api.views import job_error
from jobgate.job import Job, JobState, Priority, us_to_datetime
from jobgate.models import Step, _Wire
from jobgate.store.operators import QueueCounts


class ListState(StrEnum):
    """Which jobs `GET /api/admin/jobs` lists, and where they come from."""

    RUNNING = "running"  # holding a lease that is still in date
    ORPHANED = "orphaned"  # lease lapsed: the worker is gone; waiting to be reclaimed
    FAILED = "failed"  # failed within the result TTL, newest first
    PENDING = "pending"  # queued (claim order), then retries waiting for their backoff


class QueueDepth(_Wire):
    high: int
    normal: int
    low: int


class QueuesResponse(_Wire):
    """Counts across every user. `depth` counts queue entries: a job cancelled
    while it waited stays there until a worker skips it."""

    depth: QueueDepth
    delayed: int
    running: int
    orphaned: int
    failed: int
    checked_at: datetime


class WorkerView(_Wire):
    id: str
    host: str
    pid: int | None = None
    concurrency: int | None = None
    running: int
    jobs: list[str]
    started_at: datetime | None = None
    last_heartbeat: datetime
    heartbeat_age_s: float


class WorkersResponse(_Wire):
    workers: list[WorkerView]
    checked_at: datetime


class AdminJob(_Wire):
    """A job as an operator sees it: any owner's, with where it runs and its links.

    `status` is what the owner sees (an orphan reads `pending`, "worker lost;
    retrying"); `orphaned` says so outright. `retry_of` / `retried_as` link a
    failed job and the new job an operator's retry made of it.
    """

    job_id: str
    kind: str
    owner: str
    status: JobState
    orphaned: bool = False
    priority: Priority
    attempt: int
    max_attempts: int
    progress: float
    message: str
    step: Step | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    lease_expires_at: datetime | None = None
    due_at: datetime | None = None
    worker: str | None = None
    error: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    retry_of: str | None = None
    retried_as: str | None = None


class AdminJobDetail(AdminJob):
    """One job in full: its request (a sealed LLM key left out) and result."""

    request: Any = None
    result: Any = None


class AdminJobList(_Wire):
    state: ListState
    jobs: list[AdminJob]
    next: str | None = None


def queues_view(c: QueueCounts) -> QueuesResponse:
    at = us_to_datetime(c.now_us)
    assert at is not None
    depth = QueueDepth(**{p.value: n for p, n in c.depths.items()})
    return QueuesResponse(depth=depth, delayed=c.delayed, running=c.running,
                          orphaned=c.orphaned, failed=c.failed, checked_at=at)


def _int(raw: dict[str, str], name: str) -> int | None:
    try:
        return int(raw[name])
    except (KeyError, ValueError):
        return None


def worker_view(card: dict[str, str], pttl_ms: int, now_us: int) -> WorkerView:
    """The card a worker wrote, its last beat told by the key's remaining life."""
    ttl_ms = _int(card, "ttl_ms") or pttl_ms
    age_s = max(ttl_ms - pttl_ms, 0) / 1000
    seen = us_to_datetime(now_us - int(age_s * 1e6))
    assert seen is not None
    try:
        started = float(card.get("started", ""))
    except ValueError:
        started = 0.0
    try:
        jobs = [str(j) for j in serde.loads(card.get("jobs") or "[]")]
    except ValueError:
        jobs = []
    return WorkerView(
        id=card.get("id", ""), host=card.get("host", ""), pid=_int(card, "pid"),
        concurrency=_int(card, "concurrency"), running=_int(card, "running") or 0, jobs=jobs,
        started_at=us_to_datetime(int(started * 1e6)) if started > 0 else None,
        last_heartbeat=seen, heartbeat_age_s=round(age_s, 3),
    )


def lease_holder(raw: dict[str, str]) -> str | None:
    """The worker of a running job: its lease is `<worker id>:<fence>`."""
    lease = raw.get("lease")
    return (lease.rpartition(":")[0] or None) if lease else None


def is_job_hash(raw: dict[str, str]) -> bool:
    """A whole job record (not a hash that expired, or a stray one)."""
    return bool(raw) and "id" in raw and raw.get("state") in set(JobState)


def belongs(state: ListState, job: Job, now_us: int) -> bool:
    """Whether a job read from a page's source is still in the state listed:
    it may have moved between the range read and the hash read."""
    if state is ListState.RUNNING:
        return job.state is JobState.PROCESSING and not job.is_lease_expired(now_us)
    if state is ListState.ORPHANED:
        return job.is_lease_expired(now_us)
    if state is ListState.FAILED:
        return job.state is JobState.FAILED
    return job.state is JobState.PENDING


def job_view(
    raw: dict[str, str], now_us: int, *, retried_as: str | None = None,
    due_us: int | None = None, detail: bool = False,
) -> AdminJob:
    job = Job.from_hash(raw)
    seen = job.as_seen(now_us)
    created = us_to_datetime(job.created_us)
    assert created is not None
    fields: dict[str, Any] = dict(
        job_id=job.id, kind=job.kind, owner=job.owner, status=seen.state,
        orphaned=job.is_lease_expired(now_us), priority=job.priority, attempt=job.attempt,
        max_attempts=job.max_attempts, progress=min(max(job.progress, 0.0), 1.0),
        message=seen.message, step=Step.model_validate(job.step) if job.step else None,
        created_at=created, updated_at=us_to_datetime(job.updated_us) or created,
        started_at=us_to_datetime(job.started_us),
        completed_at=us_to_datetime(job.completed_us),
        lease_expires_at=us_to_datetime(job.lease_until_us) if job.lease_until_us else None,
        due_at=us_to_datetime(due_us), worker=lease_holder(raw),
        retry_of=raw.get("retry_of") or None, retried_as=retried_as,
        **job_error(seen)._asdict(),
    )
    if not detail:
        return AdminJob(**fields)
    return AdminJobDetail(**fields, request=without_secrets(job.payload), result=job.result)


def without_secrets(payload: Any) -> Any:
    """The request as the owner sent it: a sealed LLM key is not shown, even sealed."""
    if isinstance(payload, dict) and LLM_KEY_FIELD in payload:
        return {k: v for k, v in payload.items() if k != LLM_KEY_FIELD}
    return payload
