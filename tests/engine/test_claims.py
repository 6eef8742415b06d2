"""Claiming across partitions: a job that may have killed its last worker
runs with no other job beside it, and a dead worker's job is found without
a full sweep."""

from __future__ import annotations

import asyncio
from typing import Any

from jobgate.context import JobContext
from jobgate.job import JobState
from jobgate.services import Services
from jobgate.worker import Worker


async def test_a_suspect_job_runs_with_nothing_beside_it(services: Services) -> None:
    store, r, k = services.store, services.redis, services.store.keys
    suspect = await store.enqueue("gate", "alice", "suspect")
    (first,) = (await store.claim("dead-worker", 1)).jobs  # its worker dies holding it
    p = k.partition_of_job(suspect.job_id)
    assert p is not None and first.job_id == suspect.job_id
    await r.zadd(k.leases(p), {suspect.job_id: 1})  # the lease lapsed long ago
    others = [await store.enqueue("gate", "bob", i) for i in range(3)]
    running: set[Any] = set()
    release, started = asyncio.Event(), asyncio.Event()

    async def gate(ctx: JobContext, payload: Any) -> Any:
        running.add(payload)
        started.set()
        await release.wait()
        return payload

    w = Worker(store, {"gate": gate}, services.settings, concurrency=4, burst=True)
    task = asyncio.create_task(w.run())
    try:
        await asyncio.wait_for(started.wait(), 30)
        await asyncio.sleep(1.0)  # a worker that would claim beside it has had its chance
        assert running == {"suspect"}
        release.set()
        async with asyncio.timeout(60):
            await task
    finally:
        release.set()
    assert running == {"suspect", 0, 1, 2}
    for e in [suspect, *others]:
        job = await store.get(e.job_id)
        assert job is not None and job.state is JobState.COMPLETED
