"""The archiver's upkeep: retention, the outbox alert, a row the database refuses,
and the `jobgate db upgrade` / `jobgate archiver --burst` commands."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from jobgate import metrics
from jobgate.embedded import EmbeddedValkey
from jobgate.history import repo
from jobgate.history.archiver import Archiver
from jobgate.history.db import History, open_url
from jobgate.history.models import JobAgent
from jobgate.services import Services
from jobgate.store.outbox import Outbox
from tests.history.helpers import archived_ids, finish_jobs, row_count
from tests.server import server_env


async def test_retention_prunes_old_jobs_and_their_agents(
    services: Services, history: History
) -> None:
    ids = await finish_jobs(services, 3)
    settings = services.settings.model_copy(update={"history_retention_days": 30})
    arch = Archiver(services.store, settings, history)
    await arch.drain()
    async with history.sessions.begin() as s:  # two of them ended long ago
        await s.execute(text("UPDATE jobgate_jobs SET completed_at = :t WHERE job_id IN (:a, :b)"),
                        {"t": datetime.now(UTC) - timedelta(days=31), "a": ids[0], "b": ids[1]})
        s.add(JobAgent(job_id=ids[0], agent="critic"))
    assert await arch.prune_if_due() == 2
    assert await archived_ids(history) == [ids[2]]
    async with history.sessions() as s:
        assert (await s.execute(select(JobAgent.job_id))).scalars().all() == []
    assert await arch.prune_if_due() == 0  # not due again before archive_prune_every_s
    assert await repo.prune(history, datetime.now(UTC) + timedelta(days=1)) == 1


async def test_outbox_past_its_alert_keeps_everything_and_says_so(
    services: Services, history: History
) -> None:
    await finish_jobs(services, 5)
    settings = services.settings.model_copy(update={"archive_outbox_alert": 3})
    arch = Archiver(services.store, settings, history)
    await arch.refresh_gauges()
    assert metrics.OUTBOX_OVER_LIMIT._value.get() == 1
    assert metrics.OUTBOX_LENGTH._value.get() == 5
    assert (await Outbox(services.store).state()).length == 5  # nothing dropped
    await arch.drain()
    await arch.refresh_gauges()
    assert metrics.OUTBOX_OVER_LIMIT._value.get() == 0
    assert metrics.ARCHIVE_LAG._value.get() == 0


async def test_a_row_the_database_refuses_blocks_no_other(
    services: Services, history: History, database_url: str
) -> None:
    """A job the database will not take stays in the outbox (kept, counted), the rest land."""
    ids = await finish_jobs(services, 4)
    bad = ids[1]
    refuse = {  # PostgreSQL: a CHECK on the id; SQLite (no ALTER … ADD CHECK): a trigger
        "postgresql": f"ALTER TABLE jobgate_jobs ADD CONSTRAINT no_bad CHECK (job_id <> '{bad}')",
        "sqlite": f"CREATE TRIGGER no_bad BEFORE INSERT ON jobgate_jobs "
                  f"WHEN NEW.job_id = '{bad}' BEGIN SELECT RAISE(ABORT, 'refused'); END",
    }[history.dialect]
    async with history.sessions.begin() as s:
        await s.execute(text(refuse))
    arch = Archiver(services.store, services.settings, history)
    assert await arch.drain() == 3
    assert sorted(await archived_ids(history)) == sorted(set(ids) - {bad})
    assert await Outbox(services.store).ids() == [bad]
    assert await services.redis.ttl(services.store.keys.job(bad)) == -1  # kept in Valkey


def test_db_upgrade_and_archiver_burst_commands(
    valkey: EmbeddedValkey, namespace: str, tmp_path: Path, database_url: str
) -> None:
    env = server_env(valkey.url, namespace, tmp_path, JOBGATE_DATABASE_URL=database_url,
                     JOBGATE_DATABASE_AUTO_UPGRADE="false")
    run = [sys.executable, "-m", "jobgate.cli"]
    up = subprocess.run([*run, "db", "upgrade"], env=env, capture_output=True, text=True,
                        timeout=60)
    assert up.returncode == 0, up.stderr
    assert "history database up to date" in up.stderr and "Context impl" not in up.stderr
    burst = subprocess.run([*run, "archiver", "--burst"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert burst.returncode == 0, burst.stderr

    async def tables() -> int:
        h = open_url(database_url)
        try:
            return await row_count(h)
        finally:
            await h.close()

    assert asyncio.run(tables()) == 0
    if database_url.startswith("postgresql"):
        return
    bad = subprocess.run([*run, "db", "upgrade"], capture_output=True, text=True, timeout=60,
                         env={**env, "JOBGATE_DATABASE_URL": "postgresql://u:secret@127.0.0.1:1/x"})
    assert bad.returncode == 2 and "cannot upgrade" in bad.stderr and "secret" not in bad.stderr
