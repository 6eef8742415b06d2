"""Reads and writes of archived jobs, the same SQL on SQLite and PostgreSQL.

Writes are upserts keyed by job id (`INSERT … ON CONFLICT DO UPDATE`), so an
archiver that copies a job twice (killed before it could mark it done, or a
batch retried) leaves one row. Reads always carry the owner: another user's
job is not found, exactly as an unknown one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from jobgate.history.db import History
from jobgate.history.models import JobAgent, JobRow

_COLUMNS = [c.name for c in JobRow.__table__.columns if c.name != "job_id"]
_PRUNE_CHUNK = 2000


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@cache
def _upserts(dialect: str) -> tuple[Any, Any]:
    """The two statements, built once: run with many rows (executemany), they
    compile once and stay in SQLAlchemy's cache. A multi-VALUES statement of
    the rows themselves compiled afresh every batch (~0.5 ms a job)."""
    ins = _insert(dialect)
    jobs = ins(JobRow.__table__)
    jobs = jobs.on_conflict_do_update(
        index_elements=["job_id"], set_={c: jobs.excluded[c] for c in _COLUMNS})
    return jobs, ins(JobAgent.__table__).on_conflict_do_nothing()


async def upsert_jobs(
    history: History, rows: Sequence[tuple[dict[str, Any], list[str]]]
) -> None:
    """Write these jobs (column values, agents) in one transaction; idempotent."""
    if not rows:
        return
    jobs, job_agents = _upserts(history.dialect)
    agents = [{"job_id": v["job_id"], "agent": a} for v, names in rows for a in set(names)]
    async with history.sessions.begin() as s:
        conn = await s.connection()
        await conn.execute(jobs, [values for values, _ in rows])
        if agents:
            await conn.execute(job_agents, agents)


async def get_job(history: History, job_id: str, owner: str) -> JobRow | None:
    """The owner's archived job; None for an unknown id and for someone else's."""
    async with history.sessions() as s:
        row = await s.get(JobRow, job_id)
    return row if row is not None and row.owner == owner else None


@dataclass(frozen=True, slots=True)
class JobFilter:
    """What GET /jobs may narrow by; None means any."""

    status: str | None = None
    mode: str | None = None
    product_id: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the newest-first order: strictly after (older than) this job."""

    created_at: datetime
    job_id: str


def _where(owner: str, f: JobFilter, after: Position | None) -> list[Any]:
    conds: list[Any] = [JobRow.owner == owner]
    if f.status is not None:
        conds.append(JobRow.status == f.status)
    if f.mode is not None:
        conds.append(JobRow.mode == f.mode)
    if f.product_id is not None:
        conds.append(JobRow.product_id == f.product_id)
    if f.since is not None:
        conds.append(JobRow.created_at >= f.since)
    if f.until is not None:
        conds.append(JobRow.created_at < f.until)
    if after is not None:
        conds.append(or_(
            JobRow.created_at < after.created_at,
            and_(JobRow.created_at == after.created_at, JobRow.job_id < after.job_id),
        ))
    return conds


async def list_jobs(
    history: History, owner: str, f: JobFilter, after: Position | None, limit: int
) -> list[JobRow]:
    """The owner's archived jobs, newest first (created, then id), after `after`."""
    stmt = (
        select(JobRow)
        .where(*_where(owner, f, after))
        .order_by(JobRow.created_at.desc(), JobRow.job_id.desc())
        .limit(limit)
    )
    async with history.sessions() as s:
        return list((await s.execute(stmt)).scalars())


async def _prune_chunk(s: AsyncSession, before: datetime) -> int:
    ids = select(JobRow.job_id).where(JobRow.completed_at < before).limit(_PRUNE_CHUNK)
    chosen = list((await s.execute(ids)).scalars())
    if chosen:
        await s.execute(delete(JobAgent).where(JobAgent.job_id.in_(chosen)))
        await s.execute(delete(JobRow).where(JobRow.job_id.in_(chosen)))
    return len(chosen)


async def prune(history: History, before: datetime) -> int:
    """Delete jobs that ended before `before`, in chunks (short transactions)."""
    total = 0
    while True:
        async with history.sessions.begin() as s:
            n = await _prune_chunk(s, before)
        total += n
        if n < _PRUNE_CHUNK:
            return total
