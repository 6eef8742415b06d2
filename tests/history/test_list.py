"""GET /jobs' merge of live and archived jobs: one newest-first order, filters,
and a cursor that neither repeats nor skips a job that moves between sources."""

from __future__ import annotations

from jobgate.history.archiver import Archiver
from jobgate.history.cursor import decode
from jobgate.history.db import History
from jobgate.history.reads import list_page
from jobgate.history.repo import JobFilter
from jobgate.job import us_to_datetime
from jobgate.services import Services
from tests.helpers import drain
from tests.history.helpers import echo


async def _all_pages(svc: Services, history: History, f: JobFilter, limit: int,
                     between: list[str] | None = None) -> list[str]:
    """Every page's ids in order; after the first page, `between` jobs leave Valkey."""
    seen: list[str] = []
    after = None
    while True:
        page = await list_page(svc.store, history, "alice", f, after, limit)
        assert len(page.jobs) <= limit
        seen += [j.id for j in page.jobs]
        if between:
            for job_id in between:  # as if their TTL ran out now (they are archived)
                await svc.redis.delete(svc.store.keys.job(job_id), svc.store.keys.events(job_id))
            between = None
        if page.next is None:
            return seen
        after = decode(page.next)


async def test_one_order_across_valkey_and_history(services: Services, history: History) -> None:
    store = services.store
    done = [(await store.enqueue("echo", "alice", {"i": i, "coordination_mode": "debate"
                                                    if i % 2 else "parallel"})).job_id
            for i in range(6)]
    await store.enqueue("echo", "bob", {"i": 99})
    await drain(services, {"echo": echo})
    await Archiver(services.store, services.settings, history).drain()
    for job_id in done[:2]:  # the oldest two: only in history now
        await services.redis.delete(store.keys.job(job_id), store.keys.events(job_id))
    live = [(await store.enqueue("echo", "alice", {"i": i})).job_id for i in (6, 7)]  # pending
    newest_first = list(reversed(done + live))

    for limit in (1, 2, 3, 100):
        assert await _all_pages(services, history, JobFilter(), limit) == newest_first
    # jobs leaving Valkey while a client pages through: no repeat, no gap
    moving = done[2:5]
    assert await _all_pages(services, history, JobFilter(), 2, between=moving) == newest_first

    assert await _all_pages(services, history, JobFilter(status="pending"), 1) == live[::-1]
    assert await _all_pages(services, history, JobFilter(status="completed"), 2) == done[::-1]
    debate = [j for i, j in enumerate(done) if i % 2]
    assert await _all_pages(services, history, JobFilter(mode="debate"), 2) == debate[::-1]
    assert await _all_pages(services, history, JobFilter(mode="debate", status="pending"), 2) == []

    rows = await list_page(store, history, "alice", JobFilter(), None, 100)
    created = {j.id: j.created_us for j in rows.jobs}
    since, until = us_to_datetime(created[done[1]]), us_to_datetime(created[done[4]])
    window = JobFilter(since=since, until=until)
    assert await _all_pages(services, history, window, 2) == done[1:4][::-1]
