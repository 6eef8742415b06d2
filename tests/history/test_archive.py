"""The outbox hand-off: terminal jobs are archived once, and only then expire."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from jobgate.api.views import result_view, status_view
from jobgate.history import repo
from jobgate.history.archiver import Archiver
from jobgate.history.db import History
from jobgate.history.models import JobRow
from jobgate.history.record import job_from_row, row_values
from jobgate.services import Services
from jobgate.store.outbox import Outbox
from tests.history.helpers import archived_ids, finish_jobs


async def test_round_trip_same_views_then_ttl_from_completion(
    services: Services, history: History
) -> None:
    ok, bad = await finish_jobs(services, 1), await finish_jobs(services, 1, fail=True)
    r, keys = services.redis, services.store.keys
    for job_id in ok + bad:  # terminal, in the outbox, and no TTL until archived
        assert job_id in await Outbox(services.store).ids()
        assert await r.ttl(keys.job(job_id)) == -1
        assert await r.exists(keys.events(job_id)) == 0  # its short log is in the record now
    live = {j: await services.store.get(j) for j in ok + bad}

    assert await Archiver(services.store, services.settings, history).drain() == 2

    assert (await Outbox(services.store).state()).length == 0
    for job_id, job in live.items():
        assert job is not None
        ttl_ms = await r.pttl(keys.job(job_id))
        assert 0 < ttl_ms <= services.settings.result_ttl_s * 1000
        row = await repo.get_job(history, job_id, "alice")
        assert row is not None
        back = job_from_row(row)
        assert status_view(back, 0) == status_view(job, 0)
        assert result_view(back) == result_view(job)
        assert row.request == job.payload
    assert (await repo.get_job(history, ok[0], "bob")) is None  # the owner is part of the key
    # the payload goes once archived, except a failed job's (an operator may retry it)
    assert await r.hexists(keys.job(ok[0]), "payload") == 0
    assert await r.hexists(keys.job(bad[0]), "payload") == 1
    failed = await repo.get_job(history, bad[0], "alice")
    assert failed is not None and failed.status == "failed" and failed.error_code == "asked"


async def test_upsert_is_idempotent(services: Services, history: History) -> None:
    ids = await finish_jobs(services, 3)
    batch = await Outbox(services.store).peek(10)
    rows = [row_values(p.job, datetime.now(UTC)) for p in batch if p.job is not None]
    await repo.upsert_jobs(history, rows)
    await repo.upsert_jobs(history, rows)
    await Archiver(services.store, services.settings, history).drain()  # a third time
    assert Counter(await archived_ids(history)) == Counter(ids)
    async with history.sessions() as s:
        assert (await s.execute(select(JobRow.attempt))).scalars().all() == [1, 1, 1]


async def test_a_job_with_nul_characters_is_archived_with_them_replaced(
    services: Services, history: History
) -> None:
    """PostgreSQL refuses NUL in text and JSONB: the row keeps U+FFFD instead, in keys
    and values of the request and the result, the same on every database."""
    [job_id] = await finish_jobs(services, 1, **{"k\x00ey": "v\x00", "t": "a\\u0000"})
    assert await Archiver(services.store, services.settings, history).drain() == 1
    row = await repo.get_job(history, job_id, "alice")
    assert row is not None
    want = {"i": 0, "k\ufffdey": "v\ufffd", "t": "a\\u0000"}
    assert row.request == want and row.result == {"echo": want}
