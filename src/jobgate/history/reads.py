"""Reads that span both sources: Valkey while it keeps a job, history after.

`find_job` is the fallback of /status and /result once Valkey has let a job
go; `list_page` merges the owner's live jobs with archived ones into one
newest-first order (see cursor.py). A job in both places (archived, TTL not
yet over) is shown once, as Valkey has it. The history database failing is
a 503, never a 404: the job may well exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from jobgate.errors import StoreUnavailable
from jobgate.history import repo
from jobgate.history.cursor import Cursor, encode
from jobgate.history.db import History
from jobgate.history.record import describe, job_from_row, to_us
from jobgate.history.repo import JobFilter, Position
from jobgate.job import ACTIVE, Job, JobState, us_to_datetime
from jobgate.store.jobs import JobStore

_UNAVAILABLE = "history database unavailable; retry shortly"
_CHUNK = 50


async def find_job(history: History, job_id: str, owner: str) -> Job | None:
    """The owner's archived job, or None (unknown and others' alike)."""
    try:
        row = await repo.get_job(history, job_id, owner)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreUnavailable(_UNAVAILABLE) from exc
    return job_from_row(row) if row is not None else None


def matches(f: JobFilter, job: Job, now_us: int) -> bool | None:
    """Whether a live job passes the filter; None when only history can tell
    (an archived job's request has left Valkey: its history row decides)."""
    if f.status is not None and job.as_seen(now_us).state.value != f.status:
        return False
    if f.since is not None and job.created_us < to_us(f.since):
        return False
    if f.until is not None and job.created_us >= to_us(f.until):
        return False
    if f.mode is None and f.product_id is None:
        return True
    if job.payload is None:
        return None
    d = describe(job.kind, job.payload)
    return (f.mode is None or d.mode == f.mode) and (
        f.product_id is None or d.product_id == f.product_id
    )


async def _live(
    store: JobStore, owner: str, f: JobFilter, after: Cursor | None, want: int
) -> tuple[list[Job], int]:
    """Up to `want` live jobs past the cursor that pass the filter, and the clock.

    Two jobs of one owner never share a creation µs (each enqueue reads the
    server's clock inside its own script), so the exclusive score bound the
    index read takes loses nothing between chunks.
    """
    before = after.created_us + 1 if after is not None else None
    if f.until is not None:
        until = to_us(f.until)
        before = until if before is None else min(before, until)
    out: list[Job] = []
    while True:
        jobs, nxt, now = await store.list_jobs(owner, max(want, _CHUNK), before)
        for j in jobs:
            if (after is None or after.is_after(j.created_us, j.id)) and matches(f, j, now):
                out.append(j)
        too_old = f.since is not None and jobs and jobs[-1].created_us < to_us(f.since)
        if len(out) >= want or nxt is None or too_old:
            return out[:want], now
        before = nxt


async def _archived(
    history: History, owner: str, f: JobFilter, after: Cursor | None, want: int
) -> list[Job]:
    if f.status is not None and JobState(f.status) in ACTIVE:
        return []  # history holds ended jobs only
    pos = None
    if after is not None:
        at = us_to_datetime(after.created_us)
        assert at is not None
        pos = Position(at, after.job_id)
    try:
        rows = await repo.list_jobs(history, owner, f, pos, want)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreUnavailable(_UNAVAILABLE) from exc
    return [job_from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Page:
    jobs: list[Job]
    next: str | None
    now_us: int


async def list_page(
    store: JobStore, history: History, owner: str, f: JobFilter,
    after: Cursor | None, limit: int,
) -> Page:
    """One page of the owner's jobs from both sources, newest first.

    Each source gives up to limit+1 past the cursor; if either had more,
    the merge has more than `limit`, so `next` is exact.
    """
    live, now = await _live(store, owner, f, after, limit + 1)
    merged = {j.id: j for j in await _archived(history, owner, f, after, limit + 1)}
    merged.update((j.id, j) for j in live)
    ordered = sorted(merged.values(), key=lambda j: (j.created_us, j.id), reverse=True)
    page = ordered[:limit]
    more = len(ordered) > limit and page
    nxt = encode(Cursor(page[-1].created_us, page[-1].id)) if more else None
    return Page(page, nxt, now)


def as_filter(
    status: JobState | None, mode: str | None, product_id: str | None,
    since: datetime | None, until: datetime | None,
) -> JobFilter:
    """The endpoint's query parameters as a filter (a naive time is read as UTC)."""
    def utc(dt: datetime | None) -> datetime | None:
        return dt if dt is None or dt.tzinfo is not None else dt.replace(tzinfo=UTC)

    return JobFilter(status.value if status else None, mode, product_id, utc(since), utc(until))
