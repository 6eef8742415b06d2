"""Helpers of the history tests: finish jobs in the engine, read the archive back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from jobgate.context import JobContext
from jobgate.history.db import History
from jobgate.history.models import JobAgent, JobRow
from jobgate.services import Services
from tests.helpers import drain


async def echo(ctx: JobContext, payload: Any) -> Any:
    await ctx.progress(0.5, "half way", {"agent": "echo", "index": 1, "total": 2})
    if isinstance(payload, dict) and payload.get("fail"):
        from jobgate.errors import PermanentError

        raise PermanentError("asked to fail", code="asked")
    return {"echo": payload}


async def finish_jobs(svc: Services, n: int, owner: str = "alice", **payload: Any) -> list[str]:
    """Enqueue n echo jobs and run them to the end with a burst worker."""
    ids = [(await svc.store.enqueue("echo", owner, {"i": i, **payload})).job_id for i in range(n)]
    await drain(svc, {"echo": echo}, concurrency=16, timeout=120)
    return ids


async def archived_ids(history: History) -> list[str]:
    async with history.sessions() as s:
        return list((await s.execute(select(JobRow.job_id))).scalars())


async def row_count(history: History) -> int:
    async with history.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(JobRow))).scalar_one())


async def agents_of(history: History, job_id: str) -> set[str]:
    async with history.sessions() as s:
        q = select(JobAgent.agent).where(JobAgent.job_id == job_id)
        return set((await s.execute(q)).scalars())
