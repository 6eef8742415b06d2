"""The migration builds the agreed schema on both databases, and runs twice harmlessly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import inspect, select

from jobgate.history.db import History, upgrade_url
from jobgate.history.models import JobAgent, JobRow


def _row(job_id: str, when: datetime) -> JobRow:
    return JobRow(
        job_id=job_id, kind="multi_agent", owner="alice", status="completed", priority="normal",
        mode="debate", primary_agent="analyst", product_id="p1", request={"query": "q"},
        result={"answer": 1}, attempt=1, created_at=when, started_at=when,
        completed_at=when + timedelta(seconds=2), queue_wait_s=0.0, run_time_s=2.0,
        archived_at=when,
    )


async def test_tables_and_indexes(history: History, database_url: str) -> None:
    await upgrade_url(database_url)  # a second run is a no-op

    def names(conn):  # type: ignore[no-untyped-def]
        insp = inspect(conn)
        return set(insp.get_table_names()), {i["name"] for i in insp.get_indexes("jobgate_jobs")}

    async with history.engine.connect() as conn:
        tables, indexes = await conn.run_sync(names)
    assert {"jobgate_jobs", "jobgate_job_agents", "jobgate_documents"} <= tables
    assert "ix_jobgate_jobs_owner_status_created" in indexes
    assert "ix_jobgate_jobs_product_completed" in indexes


async def test_datetimes_come_back_aware_utc_and_agents_cascade(history: History) -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=timezone(timedelta(hours=2)))
    async with history.sessions.begin() as s:
        s.add(_row("j1", when))
        await s.flush()
        s.add_all([JobAgent(job_id="j1", agent="analyst"), JobAgent(job_id="j1", agent="critic")])
    async with history.sessions() as s:
        row = (await s.execute(select(JobRow))).scalar_one()
        assert row.created_at == when
        assert row.created_at.tzinfo is not None
        assert row.created_at.utcoffset() == timedelta(0)
        assert row.created_at.astimezone(UTC).microsecond == 891011
        assert row.request == {"query": "q"}
    async with history.sessions.begin() as s:
        await s.delete(await s.get(JobRow, "j1"))
    async with history.sessions() as s:
        assert (await s.execute(select(JobAgent))).all() == []
